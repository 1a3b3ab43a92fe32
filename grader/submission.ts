/**
 * A submission folder as the grader reads it: `layers.ts` (Q3, run only in the sandbox),
 * `answers.json` (Q1, Q2, read as text) and `model.onnx` (Q4, passed as a path). Every file
 * is optional; a missing one is a part "not submitted".
 *
 * @module
 */

import { UserError } from "../src/errors.ts";
import type { Submission } from "./question.ts";
import { DEFAULT_LIMITS, sandboxConv1D, type SandboxLimits } from "./sandbox.ts";

/** The file each part of a submission is read from. */
export const SUBMISSION_FILES = {
  conv1d: "layers.ts",
  answers: "answers.json",
  model: "model.onnx",
} as const;

/** The largest `answers.json` read (it holds a few numbers). */
const MAX_ANSWERS_BYTES = 2 ** 20;

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/**
 * The folder that holds the submission's files: `dir` itself, or its only subfolder when
 * `dir` has none of them (an upload that wraps everything in one folder).
 */
async function submissionRoot(dir: string): Promise<string> {
  const names = Object.values(SUBMISSION_FILES);
  const here = await Promise.all(names.map((n) => isFile(`${dir}/${n}`)));
  if (here.some(Boolean)) return dir;
  const folders: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isDirectory && !entry.name.startsWith(".") && entry.name !== "__MACOSX") {
      folders.push(entry.name);
    }
  }
  return folders.length === 1 ? `${dir}/${folders[0]}` : dir;
}

/**
 * Reads the submission in folder `dir`. Its `layers.ts` is not loaded here: the returned
 * `conv1d` runner runs it in the sandbox with `limits` when Q3 is graded.
 *
 * @example
 * ```ts
 * const submission = await loadSubmission("submissions/ada");
 * const results = await gradeSubmission(submission, await loadConfig());
 * ```
 */
export async function loadSubmission(
  dir: string,
  limits: SandboxLimits = DEFAULT_LIMITS,
): Promise<Submission> {
  let path: string;
  try {
    path = await Deno.realPath(dir);
    if (!(await Deno.stat(path)).isDirectory) throw new Error("not a folder");
  } catch {
    throw new UserError(
      `the submission ${dir} is not a folder; give the folder that holds layers.ts, answers.json and model.onnx.`,
    );
  }
  const root = await submissionRoot(path);
  const file = async (name: string) => await isFile(`${root}/${name}`) ? `${root}/${name}` : null;
  const layers = await file(SUBMISSION_FILES.conv1d);
  const answersPath = await file(SUBMISSION_FILES.answers);
  let answers: string | null = null;
  if (answersPath) {
    const bytes = await Deno.readFile(answersPath);
    answers = new TextDecoder().decode(bytes.subarray(0, MAX_ANSWERS_BYTES));
  }
  return {
    label: path.slice(path.lastIndexOf("/") + 1),
    conv1d: layers ? sandboxConv1D(layers, limits) : null,
    answers,
    model: await file(SUBMISSION_FILES.model),
  };
}

/**
 * A submission with nothing in it: grading it lists every part, each "not submitted".
 *
 * @example
 * ```ts
 * const parts = await gradeSubmission(emptySubmission("ada"), config); // all zero
 * ```
 */
export function emptySubmission(label: string): Submission {
  return { label, conv1d: null, answers: null, model: null };
}
