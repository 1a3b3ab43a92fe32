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
import type { Tensor } from "../tensor.ts";

/** Groups for an optimizer, and the factor on the scheduled learning rate for each. */
export interface TrainingGroups {
  groups: ParamGroup<SGDOptions>[];
  lrScales: number[];
}

/** What {@linkcode trainingGroups} splits by. */
export interface GroupOptions {
  /** The factor on BatchNorm's biases' learning rate (airbench's bias scaler). */
  bnBiasLr: number;
  /**
   * Decay the rank-1 tensors too, by `weightDecay` (BatchNorm's biases by `weightDecay /
   * bnBiasLr`, so that each loses the same fraction per step) (default false).
   */
  decayAll?: boolean;
  /** The optimizer's weight decay (needed with `decayAll`; default 0). */
  weightDecay?: number;
  /** A tensor put in a last group of its own, whose factor the trainer may turn to 0. */
  stemBias?: Tensor | null;
}

/**
 * Conv and linear weights with weight decay, the rank-1 tensors without (or with, under
 * `decayAll`) ({@linkcode splitWeightDecay}); with `bnBiasLr` other than 1, BatchNorm's biases
 * in a group of their own, whose learning rate is the scheduled one times `bnBiasLr`; with
 * `stemBias`, that tensor alone in a last group (the trainer stops a whitened stem's bias
 * after its epochs by setting that group's rate to 0: the parameters' indices in the
 * optimizer's state then stay as they were). With factor 1 and nothing else the two groups
 * are those of every run before the options existed, so their checkpoints load.
 *
 * @example
 * ```ts
 * const { groups, lrScales } = trainingGroups(model, { bnBiasLr: 64 });
 * const sgd = new SGD(groups, { lr: 0.2, momentum: 0.9, weightDecay: 5e-4 });
 * sgd.paramGroups.forEach((g, i) => g.lr = 0.2 * lrScales[i]);
 * ```
 */
export function trainingGroups(model: Module, options: GroupOptions): TrainingGroups {
  const { bnBiasLr, decayAll = false, weightDecay = 0, stemBias = null } = options;
  const [decayed, rest] = splitWeightDecay(model);
  const restDecay = decayAll ? weightDecay : 0;
  if (bnBiasLr === 1 && !decayAll && !stemBias) {
    return { groups: [decayed, rest], lrScales: [1, 1] };
  }
  const biases = new Set(
    bnBiasLr === 1 ? [] : batchNorms(model).flatMap((bn) => (bn.bias ? [bn.bias] : [])),
  );
  const isBias = (p: Parameter) => biases.has(p.value);
  const isStem = (p: Parameter) => p.value === stemBias;
  const groups: ParamGroup<SGDOptions>[] = [
    decayed,
    { params: () => rest.params().filter((p) => !isBias(p) && !isStem(p)), weightDecay: restDecay },
  ];
  const lrScales = [1, 1];
  if (biases.size > 0) {
    groups.push({
      params: () => resolveParams(model).filter(isBias),
      weightDecay: restDecay / bnBiasLr,
    });
    lrScales.push(bnBiasLr);
  }
  if (stemBias) {
    groups.push({ params: () => resolveParams(model).filter(isStem), weightDecay: restDecay });
    lrScales.push(1);
  }
  return { groups, lrScales };
}
