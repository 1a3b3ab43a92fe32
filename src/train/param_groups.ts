/**
 * The trainer's parameter groups: which tensors get weight decay and which learn at a scaled
 * rate. Kept apart from the trainer so the split can be checked on its own.
 *
 * @module
 */

import type { Module, Parameter } from "../nn/module.ts";
import { batchNorms } from "../nn/norm.ts";
import { type ParamGroup, resolveParams, splitWeightDecay } from "../optim/optimizer.ts";
import type { SGDOptions } from "../optim/sgd.ts";

/** Groups for an optimizer, and the factor on the scheduled learning rate for each. */
export interface TrainingGroups {
  groups: ParamGroup<SGDOptions>[];
  lrScales: number[];
}

/**
 * Conv and linear weights with weight decay, the rank-1 tensors without
 * ({@linkcode splitWeightDecay}); with `bnBiasLr` other than 1, BatchNorm's biases in a third
 * group of their own, whose learning rate is the scheduled one times `bnBiasLr` (airbench's
 * bias scaler). With 1 the two groups are those of every run before the factor existed, so
 * their checkpoints load.
 *
 * @example
 * ```ts
 * const { groups, lrScales } = trainingGroups(model, 64);
 * const sgd = new SGD(groups, { lr: 0.2, momentum: 0.9, weightDecay: 5e-4 });
 * sgd.paramGroups.forEach((g, i) => g.lr = 0.2 * lrScales[i]);
 * ```
 */
export function trainingGroups(model: Module, bnBiasLr: number): TrainingGroups {
  const [decayed, rest] = splitWeightDecay(model);
  if (bnBiasLr === 1) return { groups: [decayed, rest], lrScales: [1, 1] };
  const biases = new Set(batchNorms(model).flatMap((bn) => (bn.bias ? [bn.bias] : [])));
  const isBias = (p: Parameter) => biases.has(p.value);
  return {
    groups: [
      decayed,
      { params: () => rest.params().filter((p) => !isBias(p)), weightDecay: 0 },
      { params: () => resolveParams(model).filter(isBias), weightDecay: 0 },
    ],
    lrScales: [1, 1, bnBiasLr],
  };
}
