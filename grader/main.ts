/**
 * `deno task grade`: grades the reference solution (by default) and prints the score table;
 * `--json FILE` also writes Gradescope's `results.json`. Exits 0 only when every part passes.
 *
 * @module
 */

import { Command } from "commander";
import { parseCommandLine } from "../src/cli.ts";
import { runMain, UserError } from "../src/errors.ts";
import { referenceConv1D } from "./conv1d.ts";
import { DEFAULT_CONFIG, gradeSubmission, loadConfig } from "./grade.ts";
import { referenceAnswers } from "./momentum.ts";
import { passed, type Submission } from "./question.ts";
import { formatTable, toGradescope } from "./report.ts";

/**
 * The reference solution as a submission: every part this project implements. Built on
 * demand because its answers.json is solved (Q2 takes a moment), which `--help` need not wait for.
 */
export function referenceSubmission(): Submission {
  return { label: "the reference solution", conv1d: referenceConv1D, answers: referenceAnswers() };
}

function parseArgs(args: string[]) {
  const program = new Command("deno task grade")
    .description("Grade the assignment's reference solution against the PyTorch fixtures.")
    .option("--json <file>", "also write the results in Gradescope's results.json format")
    .option("--config <file>", "points and tolerance per question", DEFAULT_CONFIG);
  return parseCommandLine<{ json?: string; config: string }>(program, args);
}

/** Runs the grader with command-line `args`; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const options = parseArgs(args);
  const config = await loadConfig(options.config);
  const started = performance.now();
  const reference = referenceSubmission();
  const results = await gradeSubmission(reference, config);
  const seconds = (performance.now() - started) / 1000;
  console.log(formatTable(reference.label, results));
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
