/**
 * What the grader's questions share: a submission to grade, and the result of one part.
 * Each question lives in its own file and turns a {@linkcode Submission} into
 * {@linkcode PartResult}s; the report prints and serialises them without knowing which
 * question made them.
 *
 * @module
 */

import type { Conv1DRunner } from "./conv1d.ts";
import type { SandboxLimits } from "./sandbox.ts";
import type { CompetitionConfig } from "./model.ts";

/** The result of grading one part of one question (one row of the score table). */
export interface PartResult {
  /** The question's id, e.g. `q3`. */
  question: string;
  /** The part, e.g. `forward`. */
  part: string;
  /** How many cases the part checked, and how many of them passed. */
  cases: number;
  casesPassed: number;
  /** The largest absolute difference over all cases, where the part compares numbers. */
  worst: number | null;
  score: number;
  maxScore: number;
  /** One or more sentences for the student: what failed, on which case, and by how much. */
  output: string;
  /**
   * For a part whose points grade a result rather than check it (Q4's accuracy): whether
   * the part counts as passed, i.e. the model was scored. Absent: passed means full points.
   */
  pass?: boolean;
  /** Further lines for the report (Q4's per-class accuracy and confusion matrix). */
  details?: string;
  /** Gradescope leaderboard entries this part contributes (Q4's accuracy). */
  leaderboard?: LeaderboardEntry[];
}

/** One column of Gradescope's leaderboard. */
export interface LeaderboardEntry {
  name: string;
  value: number | string;
  order?: "asc" | "desc";
}

/**
 * A part's result with zero cases, no score and no message unless `fields` says otherwise:
 * the starting point every question builds its rows from.
 *
 * @example
 * ```ts
 * partResult("q3", "dW", 5, { output: "not submitted" });
 * ```
 */
export function partResult(
  question: string,
  part: string,
  maxScore: number,
  fields: Partial<PartResult> = {},
): PartResult {
  return {
    question,
    part,
    cases: 0,
    casesPassed: 0,
    worst: null,
    score: 0,
    maxScore,
    output: "",
    ...fields,
  };
}

/** Whether a part passed: its own verdict where it has one, else whether it earned all its points. */
export function passed(r: PartResult): boolean {
  return r.pass ?? r.score >= r.maxScore;
}

/**
 * What is being graded. Every part is optional: a part that is `null` was not submitted
 * and scores zero with the message "not submitted".
 */
export interface Submission {
  /** Who or what this is, for the report (e.g. `reference` or a folder name). */
  label: string;
  /** Runs the submitted Conv1D on the grader's inputs (Q3). */
  conv1d: Conv1DRunner | null;
  /** The raw text of the submission's `answers.json` (Q1, Q2; format in grader/momentum.ts). */
  answers: string | null;
  /** The path of the submission's `model.onnx` (Q4). */
  model: string | null;
}

/** The grader's settings, from `grader/config.json`. */
export interface GradeConfig {
  /** The largest absolute difference a numeric part may have on any case. */
  tolerance: number;
  /** Points per question and part. */
  points: Record<string, Record<string, number>>;
  /** Time and memory limits for sandboxed student code (defaults: `DEFAULT_LIMITS`). */
  sandbox?: SandboxLimits;
  /** How Q4 scores a model (defaults in `grader/model.ts` where absent). */
  q4?: CompetitionConfig;
}

/** A gradable question: its id and title, and how to grade a submission on it. */
export interface Question {
  id: string;
  title: string;
  grade(submission: Submission, config: GradeConfig): Promise<PartResult[]>;
}
