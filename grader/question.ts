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
   * A number this part puts on Gradescope's leaderboard and the batch summary (Q4 sets
   * `{ name: "accuracy", value, order: "desc" }`).
   */
  leaderboard?: { name: string; value: number; order?: "asc" | "desc" };
}

/** Whether a part earned all its points. */
export function passed(r: PartResult): boolean {
  return r.score >= r.maxScore;
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
}

/** A gradable question: its id and title, and how to grade a submission on it. */
export interface Question {
  id: string;
  title: string;
  grade(submission: Submission, config: GradeConfig): Promise<PartResult[]>;
}
