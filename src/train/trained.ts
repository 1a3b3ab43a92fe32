/**
 * The network a trainer's checkpoint records, rebuilt with its weights: what `deno task export`
 * writes, and what an ensemble run (`members.ts`) averages.
 *
 * @module
 */

import { UserError } from "../errors.ts";
import type { Sequential } from "../nn/sequential.ts";
import { loadStateDict } from "../nn/state.ts";
import { Rng } from "../random.ts";
import { dtypeOf } from "../tensor.ts";
import { readCheckpoint } from "./checkpoint.ts";
import { buildModel } from "./models.ts";
import { savedConfig, type TrainConfig } from "./recipes.ts";

/**
 * Reads checkpoint `path`, builds the network its trainer config records (architecture,
 * widths, activation…) and loads its weights; a `UserError` naming the file where the
 * checkpoint records no network, one that cannot be built, or weights that do not fit it.
 *
 * @example
 * ```ts
 * const { net, config } = await readTrainedNetwork("runs/strong/checkpoint.safetensors");
 * ```
 */
export async function readTrainedNetwork(
  path: string,
): Promise<{ net: Sequential; config: TrainConfig }> {
  const saved = await readCheckpoint(path);
  const recorded = (saved.metadata as { config?: TrainConfig } | null)?.config;
  if (!recorded?.arch) {
    throw new UserError(
      `checkpoint ${path} does not record its network (no trainer "config" in its ` +
        `metadata); export checkpoints written by deno task train, or call saveOnnx(model, path) in code.`,
    );
  }
  let config: TrainConfig;
  try {
    config = savedConfig(recorded);
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    throw new UserError(
      `checkpoint ${path} records a network that cannot be built: ${error.message}`,
    );
  }
  const first = saved.model.values().next().value;
  // Every field of the config that shapes the network, as the trainer built it (a list picked
  // by hand here once missed the stem's window).
  const net = buildModel({
    ...config,
    dtype: first ? dtypeOf(first) : "float32",
    rng: new Rng(0), // the weights come from the checkpoint
  });
  try {
    loadStateDict(net, saved.model);
  } catch (error) {
    if (error instanceof UserError) {
      throw new UserError(
        `checkpoint ${path} cannot be exported: ${error.message.replace(/\.$/, "")}.`,
      );
    }
    throw error;
  }
  return { net, config };
}
