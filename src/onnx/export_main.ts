/**
 * `deno task export --checkpoint FILE --out model.onnx`: rebuilds the network a trainer
 * checkpoint records (its metadata's `config`: architecture and widths), loads its weights
 * and writes it as ONNX, ready to submit — with the run's test-time augmentation (`ttaFlip`,
 * `ttaShift`) built in, so the model scores what the trainer reported. Given several
 * checkpoints (`--checkpoint` more than once), it writes one model that averages their
 * networks' logits (an `Ensemble`), the test-time augmentation around the whole.
 *
 * @module
 */

import { Command } from "commander";
import { parseCommandLine } from "../cli.ts";
import { runMain, UserError } from "../errors.ts";
import { Ensemble } from "../nn/ensemble.ts";
import { countParameters } from "../nn/state.ts";
import { describeRecipe } from "../train/recipes.ts";
import { readTrainedNetwork } from "../train/trained.ts";
import { OPSET, saveOnnx } from "./export.ts";

function parseArgs(args: string[]) {
  const program = new Command("deno task export")
    .description("Write a trained checkpoint's network as an ONNX model for submission.")
    .requiredOption(
      "--checkpoint <file>",
      "the checkpoint to export; given more than once, a model averaging their networks' logits",
      (file: string, files: string[] = []) => [...files, file],
    )
    .option("--out <file>", "where to write the model", "model.onnx")
    .option("--batch <n>", "fix the batch size (default: dynamic)")
    .option("--no-tta", "leave out the test-time averaging (flip, shift) even if the run used it");
  const options = parseCommandLine<
    { checkpoint: string[]; out: string; batch?: string; tta: boolean }
  >(program, args);
  const batch = options.batch === undefined ? null : Number(options.batch);
  if (batch !== null && !(Number.isInteger(batch) && batch > 0)) {
    throw new UserError(`--batch must be a positive whole number, not "${options.batch}".`);
  }
  return { ...options, batch };
}

/**
 * Runs the export with command-line `args`; returns the exit code.
 *
 * @example
 * ```ts
 * await main(["--checkpoint", "runs/quick/last.ckpt", "--out", "model.onnx"]);
 * ```
 */
export async function main(args: string[]): Promise<number> {
  const options = parseArgs(args);
  const runs = [];
  for (const path of options.checkpoint) runs.push({ path, ...await readTrainedNetwork(path) });
  const [first] = runs;
  const config = first.config;
  // The averaging over views wraps the whole model, so the runs must agree on it.
  const differs = runs.find((r) =>
    r.config.ttaFlip !== config.ttaFlip || r.config.ttaShift !== config.ttaShift
  );
  if (options.tta && differs) {
    throw new UserError(
      `${first.path} and ${differs.path} were evaluated with different test-time augmentation ` +
        `(ttaFlip, ttaShift), which the model can build in only one way; add --no-tta to leave it out.`,
    );
  }
  const net = runs.length === 1 ? first.net : new Ensemble(runs.map((r) => r.net));
  const ttaFlip = options.tta && config.ttaFlip;
  const ttaShift = options.tta ? config.ttaShift : 0;
  const tta = [ttaFlip ? "flip" : "", ttaShift ? "shift" : ""].filter(Boolean).join(" and ");
  const described = runs.map((r) => `${describeRecipe(r.config)}, exported from ${r.path}`);
  await saveOnnx(net, options.out, {
    batch: options.batch,
    ttaFlip,
    ttaShift,
    docString: runs.length === 1
      ? described[0]
      : `the mean of ${runs.length} networks' logits: ${described.join("; ")}`,
  });
  console.log(
    `Wrote ${options.out}: ${runs.length === 1 ? "" : `the average of ${runs.length} networks, `}${
      countParameters(net)
    } parameters, ONNX opset ${OPSET}, ${
      options.batch ? `batch fixed at ${options.batch}` : "dynamic batch"
    }${tta ? `, test-time ${tta} averaging built in` : ""}.`,
  );
  return 0;
}

if (import.meta.main) await runMain(() => main(Deno.args));
