/**
 * `deno task grade`: grades the reference solution (by default), a student's submission
 * folder (`--submission DIR`) or a folder of submission folders (`--submissions DIR`).
 *
 * One solution: prints the score table; `--json FILE` also writes Gradescope's
 * `results.json`; exits 0 only when every part passes. A batch: prints a table best first
 * and writes `summary.csv`, `summary.json`, `leaderboard.csv` and `results/NAME.json` to
 * the `--json` folder (default `out`); exits 0 once every submission is graded.
 *
 * Q4 scores a submission's `model.onnx` on the CIFAR-10 test set (`--data DIR`); for the
 * reference solution, `--model FILE` adds Q4. Without it the reference grade leaves Q4 out,
 * because the repository ships no trained model and the default grade must run anywhere,
 * fast, without CIFAR-10.
 *
 * @module
 */

import { Command } from "commander";
import { parseCommandLine } from "../src/cli.ts";
import { runMain, UserError } from "../src/errors.ts";
import { formatBatch, gradeBatch, writeBatch } from "./batch.ts";
import { referenceConv1D } from "./conv1d.ts";
import { DEFAULT_CONFIG, gradeSubmission, loadConfig, QUESTIONS } from "./grade.ts";
import { referenceAnswers } from "./momentum.ts";
import { passed, type Submission } from "./question.ts";
import { formatTable, toGradescope } from "./report.ts";
import { DEFAULT_LIMITS } from "./sandbox.ts";
import { loadSubmission } from "./submission.ts";

/**
 * The reference solution as a submission: every part this project implements. Built on
 * demand because its answers.json is solved (Q2 takes a moment), which `--help` need not wait for.
 */
export function referenceSubmission(): Submission {
  return {
    label: "the reference solution",
    conv1d: referenceConv1D,
    answers: referenceAnswers(),
    model: null,
  };
}

interface Options {
  submission?: string;
  submissions?: string;
  json?: string;
  jobs?: string;
  config: string;
  model?: string;
  data?: string;
  confusion?: string;
  timeLimit?: string;
}

function parseArgs(args: string[]) {
  const program = new Command("deno task grade")
    .description(
      "Grade the reference solution, a submission folder, or a folder of submissions against the PyTorch fixtures.",
    )
    .option(
      "--submission <dir>",
      "grade the submission in this folder (layers.ts, answers.json, model.onnx)",
    )
    .option("--submissions <dir>", "grade every subfolder of this folder as a submission")
    .option(
      "--json <path>",
      "write Gradescope's results.json to this file; with --submissions, the folder for the summary (default out)",
    )
    .option(
      "--jobs <n>",
      "with --submissions, how many to grade at once (default: the number of cores)",
    )
    .option("--config <file>", "points and tolerance per question", DEFAULT_CONFIG)
    .option(
      "--model <file>",
      "with the reference solution, also grade Q4: score this ONNX model on the CIFAR-10 test set",
    )
    .option("--data <dir>", "where CIFAR-10 is (default: $CIFAR10_DIR, then data/)")
    .option("--confusion <file.svg>", "with Q4, also draw the confusion matrix as SVG")
    .option("--time-limit <seconds>", "with Q4, the time limit for the whole test set");
  const options = parseCommandLine<Options>(program, args);
  if (options.submission !== undefined && options.submissions !== undefined) {
    throw new UserError("give either --submission or --submissions, not both (see --help).");
  }
  if (
    options.jobs !== undefined &&
    !(/^\d+$/.test(options.jobs) && Number(options.jobs) >= 1)
  ) {
    throw new UserError(`--jobs must be a whole number of at least 1, got '${options.jobs}'.`);
  }
  if (options.model && (options.submission !== undefined || options.submissions !== undefined)) {
    throw new UserError(
      "--model grades a model with the reference solution; a submission's model is its model.onnx (see --help).",
    );
  }
  const hasModel = options.model || options.submission !== undefined ||
    options.submissions !== undefined;
  if (!hasModel && (options.confusion || options.timeLimit)) {
    throw new UserError("--confusion and --time-limit need --model or a submission (see --help).");
  }
  const limit = Number(options.timeLimit);
  if (options.timeLimit !== undefined && !(limit > 0)) {
    throw new UserError(
      `--time-limit must be a positive number of seconds, not "${options.timeLimit}".`,
    );
  }
  return options;
}

async function writeJson(path: string, value: unknown): Promise<void> {
  try {
    await Deno.writeTextFile(path, JSON.stringify(value, null, 2) + "\n");
  } catch (error) {
    throw new UserError(`cannot write ${path} (${(error as Error).message}).`);
  }
}

/** Grades a folder of submissions; returns 0 once all are graded, whatever they scored. */
async function mainBatch(options: Options, config: Awaited<ReturnType<typeof loadConfig>>) {
  const dir = options.submissions!;
  const out = options.json ?? "out";
  const started = performance.now();
  const entries = await gradeBatch(dir, config, {
    jobs: options.jobs ? Number(options.jobs) : undefined,
    onGraded: (e) => console.error(`graded ${e.name} in ${e.seconds.toFixed(2)} s`),
  });
  const seconds = (performance.now() - started) / 1000;
  await writeBatch(out, entries, seconds);
  console.log(formatBatch(entries));
  console.log(
    `\nGraded ${entries.length} submissions in ${
      seconds.toFixed(1)
    } s; wrote ${out}/summary.csv, ` +
      `${out}/summary.json, ${out}/leaderboard.csv and ${out}/results/`,
  );
  return 0;
}

/** Runs the grader with command-line `args`; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const options = parseArgs(args);
  const config = await loadConfig(options.config);
  config.q4 = {
    ...config.q4!,
    ...(options.data ? { data: options.data } : {}),
    ...(options.confusion ? { confusionImage: options.confusion } : {}),
    ...(options.timeLimit ? { timeLimitSeconds: Number(options.timeLimit) } : {}),
  };
  if (options.submissions !== undefined) return await mainBatch(options, config);
  const started = performance.now();
  let submission: Submission;
  let questions = QUESTIONS;
  if (options.submission !== undefined) {
    submission = await loadSubmission(options.submission, config.sandbox ?? DEFAULT_LIMITS);
  } else {
    const reference = referenceSubmission();
    submission = options.model
      ? { ...reference, label: `${reference.label} with ${options.model}`, model: options.model }
      : reference;
    // The repository ships no trained model: without --model the reference grade leaves Q4 out.
    if (!options.model) questions = QUESTIONS.filter((q) => q.id !== "q4");
  }
  const results = await gradeSubmission(submission, config, questions);
  const seconds = (performance.now() - started) / 1000;
  console.log(formatTable(submission.label, results));
  if (options.confusion) console.log(`\nWrote ${options.confusion}`);
  if (options.json) {
    await writeJson(options.json, toGradescope(results, seconds));
    console.log(`\nWrote ${options.json}`);
  }
  return results.every(passed) ? 0 : 1;
}

if (import.meta.main) await runMain(() => main(Deno.args));
