/**
 * The network and the optimizer a run's config trains, built in one place for the trainer and
 * for `bench/parity.ts`, which checks one step of them against PyTorch.
 *
 * @module
 */

import type { Conv2D } from "../nn/conv2d.ts";
import type { Sequential } from "../nn/sequential.ts";
import { SGD } from "../optim/sgd.ts";
import { Rng } from "../random.ts";
import { buildModel } from "./models.ts";
import { trainingGroups } from "./param_groups.ts";
import type { TrainConfig } from "./recipes.ts";

/**
 * Whether the config's stem learns its bias in its first epochs: a whitened stem without
 * BatchNorm, with `stemBiasEpochs` above 0.
 */
function stemBiasLearns(config: TrainConfig): boolean {
  return config.whiten && !config.stemNorm && config.stemBiasEpochs > 0;
}

/**
 * The float32 network of `config`, its weights from `config.seed` (the whitened stem's filters
 * are the trainer's to set: they come from the data).
 *
 * @example
 * ```ts
 * const model = trainingNetwork(recipe("strong"));
 * ```
 */
export function trainingNetwork(config: TrainConfig): Sequential {
  return buildModel({
    ...config,
    frozenStem: config.whiten,
    stemBiasGrad: stemBiasLearns(config),
    dtype: "float32",
    rng: new Rng(config.seed),
  });
}

/** What {@linkcode trainingOptimizer} returns. */
export interface TrainingOptimizer {
  sgd: SGD;
  /**
   * Sets every group's rate for a step of `epoch` from the scheduled `lr`: times the group's
   * factor (BatchNorm's biases may learn faster), and 0 for the stem's bias after its epochs.
   */
  setLr: (lr: number, epoch: number) => void;
}

/**
 * The SGD of `config` over `model` (from {@linkcode trainingNetwork}), with its parameter
 * groups (`param_groups.ts`).
 *
 * @example
 * ```ts
 * const { sgd, setLr } = trainingOptimizer(model, config);
 * setLr(schedule(step), epoch);
 * sgd.step();
 * ```
 */
export function trainingOptimizer(model: Sequential, config: TrainConfig): TrainingOptimizer {
  const learns = stemBiasLearns(config);
  const { groups, lrScales } = trainingGroups(model, {
    ...config,
    stemBias: learns ? (model.layers[0] as Conv2D).b : null,
  });
  const sgd = new SGD(groups, {
    lr: config.lr,
    momentum: config.momentum,
    nesterov: config.nesterov,
    weightDecay: config.weightDecay,
  });
  const last = lrScales.length - 1;
  const setLr = (lr: number, epoch: number) =>
    sgd.paramGroups.forEach((group, i) => {
      const stopped = learns && i === last && epoch >= config.stemBiasEpochs;
      group.lr = stopped ? 0 : lr * lrScales[i];
    });
  return { sgd, setLr };
}
