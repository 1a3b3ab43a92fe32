/**
 * Grades one submission on every question, and loads the grader's settings.
 *
 * @module
 */

import { UserError } from "../src/errors.ts";
import { q3 } from "./conv1d.ts";
import { q1, q2 } from "./momentum.ts";
import { checkCompetitionConfig, q4 } from "./model.ts";
import type { GradeConfig, PartResult, Question, Submission } from "./question.ts";

/** The questions in the order the report lists them; later questions join here. */
export const QUESTIONS: Question[] = [q1, q2, q3, q4];

/** Where the default settings live. */
export const DEFAULT_CONFIG: string = new URL("./config.json", import.meta.url).pathname;

/**
 * Reads and checks the grader's settings (tolerance and points per part, and how Q4
 * scores a model, with defaults where the file has no `"q4"`).
 *
 * @example
 * ```ts
 * const config = await loadConfig(DEFAULT_CONFIG);
 * ```
 */
export async function loadConfig(path: string = DEFAULT_CONFIG): Promise<GradeConfig> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new UserError(`cannot read the grader config ${path} (${(error as Error).message}).`);
  }
  let config: GradeConfig;
  try {
    config = JSON.parse(text);
  } catch {
    throw new UserError(`the grader config ${path} is not valid JSON.`);
  }
  const pointsOk = typeof config?.points === "object" && config.points !== null &&
    Object.values(config.points).every((parts) =>
      typeof parts === "object" && parts !== null &&
      Object.values(parts).every((p) => typeof p === "number" && p >= 0)
    );
  if (!(typeof config?.tolerance === "number" && config.tolerance > 0) || !pointsOk) {
    throw new UserError(
      `the grader config ${path} needs a positive "tolerance" and "points" of the form {"q3": {"forward": 5, ...}}.`,
    );
  }
  const limits = config.sandbox;
  if (
    limits !== undefined &&
    !(typeof limits === "object" && limits !== null &&
      [limits.startSeconds, limits.caseSeconds].every((s) => typeof s === "number" && s > 0) &&
      typeof limits.memoryMb === "number" && limits.memoryMb >= 768)
  ) {
    throw new UserError(
      `the grader config ${path} needs "sandbox" of the form {"startSeconds": 10, "caseSeconds": 2, "memoryMb": 1024} (memoryMb at least 768).`,
    );
  }
  config.q4 = checkCompetitionConfig(config.q4, path);
  return config;
}

/**
 * Grades `submission` on every question and returns one result per part.
 *
 * @example
 * ```ts
 * const results = await gradeSubmission({ label: "reference", conv1d: referenceConv1D, answers: null, model: null }, await loadConfig());
 * ```
 */
export async function gradeSubmission(
  submission: Submission,
  config: GradeConfig,
  questions: Question[] = QUESTIONS,
): Promise<PartResult[]> {
  const results: PartResult[] = [];
  for (const question of questions) results.push(...await question.grade(submission, config));
  return results;
}
