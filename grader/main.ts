/**
 * `deno task grade`: grades the reference solution (by default) and prints the score table;
 * `--json FILE` also writes Gradescope's `results.json`. Exits 0 only when every part passes.
 *
 * `--model FILE` adds Q4: the ONNX model is scored on the CIFAR-10 test set (`--data DIR`).
 * Without it the reference grade leaves Q4 out, because the repository ships no trained
 * model and the default grade must run anywhere, fast, without CIFAR-10.
 *
 * @module
 */

import { Command } from "commander";
import { parseCommandLine } from "../src/cli.ts";
import { runMain, UserError } from "../src/errors.ts";
import { referenceConv1D } from "./conv1d.ts";
import { DEFAULT_CONFIG, gradeSubmission, loadConfig, QUESTIONS } from "./grade.ts";
import { referenceAnswers } from "./momentum.ts";
import { passed, type Submission } from "./question.ts";
import { formatTable, toGradescope } from "./report.ts";

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

function parseArgs(args: string[]) {
  const program = new Command("deno task grade")
    .description("Grade the assignment's reference solution against the PyTorch fixtures.")
    .option("--json <file>", "also write the results in Gradescope's results.json format")
    .option("--config <file>", "points and tolerance per question", DEFAULT_CONFIG)
    .option("--model <file>", "also grade Q4: score this ONNX model on the CIFAR-10 test set")
    .option("--data <dir>", "where CIFAR-10 is (default: $CIFAR10_DIR, then data/)")
    .option("--confusion <file.svg>", "with --model, also draw the confusion matrix as SVG")
    .option("--time-limit <seconds>", "with --model, the time limit for the whole test set");
  const options = parseCommandLine<{
    json?: string;
    config: string;
    model?: string;
    data?: string;
    confusion?: string;
    timeLimit?: string;
  }>(program, args);
  if (!options.model && (options.confusion || options.timeLimit)) {
    throw new UserError("--confusion and --time-limit need --model (see --help).");
  }
  const limit = Number(options.timeLimit);
  if (options.timeLimit !== undefined && !(limit > 0)) {
    throw new UserError(
      `--time-limit must be a positive number of seconds, not "${options.timeLimit}".`,
    );
  }
  return options;
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
  const started = performance.now();
  const reference = referenceSubmission();
  const submission: Submission = options.model
    ? { ...reference, label: `${reference.label} with ${options.model}`, model: options.model }
    : reference;
  const questions = options.model ? QUESTIONS : QUESTIONS.filter((q) => q.id !== "q4");
  const results = await gradeSubmission(submission, config, questions);
  const seconds = (performance.now() - started) / 1000;
  console.log(formatTable(submission.label, results));
  if (options.confusion) console.log(`\nWrote ${options.confusion}`);
  if (options.json) {
    try {
      await Deno.writeTextFile(
        options.json,
        JSON.stringify(toGradescope(results, seconds), null, 2) + "\n",
      );
    } catch (error) {
      throw new UserError(`cannot write ${options.json} (${(error as Error).message}).`);
    }
    console.log(`\nWrote ${options.json}`);
  }
  return results.every(passed) ? 0 : 1;
}

if (import.meta.main) await runMain(() => main(Deno.args));
