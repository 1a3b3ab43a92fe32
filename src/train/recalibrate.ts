/**
 * BatchNorm recalibration: every BatchNorm layer's running statistics recomputed from the
 * network's current weights, as PyTorch's `torch.optim.swa_utils.update_bn` does.
 *
 * Evaluation normalises with running statistics gathered during training, each from the
 * weights of its step. Where the weights move fast (BatchNorm's biases at airbench's 64 times
 * the learning rate) or jump (lookahead's pull back to its slow weights), those statistics no
 * longer describe the network: a strong-recipe run with airbench's settings validated at 59%
 * where the same weights with fresh statistics scored 73%.
 *
 * @module
 */

import type { Module } from "../nn/module.ts";
import { batchNorms } from "../nn/norm.ts";
import type { Tensor } from "../tensor.ts";

/**
 * Runs `model` forward in training mode on each of `batches` with every BatchNorm's momentum
 * set so that its running mean and variance end as the plain averages over the batches of
 * the batch means and (unbiased) variances; then restores the momenta and the mode.
 * Returns the number of batches used (none leaves the statistics as they were).
 *
 * @example
 * ```ts
 * recalibrateBatchNorm(model, [x1, x2, x3]); // then model.eval() and evaluate
 * ```
 */
export function recalibrateBatchNorm(model: Module, batches: Iterable<Tensor>): number {
  const norms = batchNorms(model);
  const momenta = norms.map((bn) => bn.momentum);
  const wasTraining = model.training;
  model.train();
  let seen = 0;
  try {
    for (const x of batches) {
      // The k-th batch (from 1) weighs 1/k: a running average of all so far.
      for (const bn of norms) bn.momentum = 1 / (seen + 1);
      model.forward(x);
      seen++;
    }
  } finally {
    norms.forEach((bn, i) => bn.momentum = momenta[i]);
    model.train(wasTraining);
  }
  return seen;
}
