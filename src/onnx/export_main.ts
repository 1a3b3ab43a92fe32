/**
 * `deno task export --checkpoint FILE --out model.onnx`: rebuilds the network a checkpoint
 * records (its metadata's `architecture`, written by {@linkcode describeModel}), loads its
 * weights and writes it as ONNX, ready to submit.
 *
 * @module
 */

import { Command, CommanderError } from "commander";
import { runMain, UserError } from "../errors.ts";
import { buildModel, type LayerSpec } from "../nn/spec.ts";
import { countParameters, loadStateDict } from "../nn/state.ts";
import { dtypeOf } from "../tensor.ts";
import { readCheckpoint } from "../train/checkpoint.ts";
import { OPSET, saveOnnx } from "./export.ts";

function parseArgs(args: string[]) {
  const program = new Command("deno task export")
    .description("Write a trained checkpoint's network as an ONNX model for submission.")
    .requiredOption("--checkpoint <file>", "the checkpoint to export")
    .option("--out <file>", "where to write the model", "model.onnx")
    .option("--batch <n>", "fix the batch size (default: dynamic)")
    .helpOption("-h, --help", "show this help")
    .exitOverride()
    .configureOutput({ writeErr: () => {} })
    .showSuggestionAfterError(false)
    .allowExcessArguments(false);
  try {
    program.parse(args, { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) Deno.exit(0); // --help
      throw new UserError(`${error.message.replace(/^error: /, "")} (see --help).`);
    }
    throw error;
  }
  const options = program.opts<{ checkpoint: string; out: string; batch?: string }>();
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
  const saved = await readCheckpoint(options.checkpoint);
  const architecture = (saved.metadata as { architecture?: LayerSpec } | null)?.architecture;
  if (!architecture) {
    throw new UserError(
      `checkpoint ${options.checkpoint} does not record its network (no "architecture" in its metadata); ` +
        `save checkpoints with metadata { architecture: describeModel(net) }, as deno task train does.`,
    );
  }
  const first = saved.model.values().next().value;
  const net = buildModel(architecture, first ? dtypeOf(first) : "float32");
  try {
    loadStateDict(net, saved.model);
  } catch (error) {
    if (error instanceof UserError) {
      throw new UserError(`checkpoint ${options.checkpoint} cannot be exported: ${error.message}.`);
    }
    throw error;
  }
  await saveOnnx(net, options.out, {
    batch: options.batch,
    docString: `exported from ${options.checkpoint}`,
  });
  console.log(
    `Wrote ${options.out}: ${countParameters(net)} parameters, ONNX opset ${OPSET}, ${
      options.batch ? `batch fixed at ${options.batch}` : "dynamic batch"
    }.`,
  );
  return 0;
}

if (import.meta.main) await runMain(() => main(Deno.args));
