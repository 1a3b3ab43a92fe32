/**
 * The public API of the convolution-assignment project: the reference solution's layers,
 * tensors and seeded randomness, and the fixtures they are checked against.
 *
 * @example
 * ```ts
 * import { Conv1D, manualSeed, zeros } from "./mod.ts";
 *
 * manualSeed(0);
 * const conv = new Conv1D(8, 12, 3, 2);
 * const y = conv.forward(zeros([3, 8, 20])); // shape (3, 12, 9)
 * const dx = conv.backward(zeros(y.shape)); // conv.dW and conv.db now hold the gradients
 * ```
 *
 * @module
 */

export * from "./src/tensor.ts";
export * from "./src/random.ts";
export * from "./src/errors.ts";
export * from "./src/nn/module.ts";
export * from "./src/nn/conv1d.ts";
export * from "./src/kernels/gemm.ts";
export * from "./src/kernels/gemm_fast.ts";
