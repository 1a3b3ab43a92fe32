/**
 * The public API of the convolution-assignment project: the reference solution's layers,
 * tensors and seeded randomness, the momentum solver behind Q1 and Q2 (`solveMomentum`,
 * `truncate`), the fixtures they are checked against, and the CIFAR-10 data pipeline (both
 * on-disk layouts, download, split, augmentation, batching).
 *
 * @example
 * ```ts
 * import { Cifar10Loader, Conv1D, loadCifar10, locateCifar10, manualSeed, zeros } from "./mod.ts";
 *
 * manualSeed(0);
 * const conv = new Conv1D(8, 12, 3, 2);
 * const y = conv.forward(zeros([3, 8, 20])); // shape (3, 12, 9)
 * const dx = conv.backward(zeros(y.shape)); // conv.dW and conv.db now hold the gradients
 *
 * const where = await locateCifar10({ data: "../shared/cifar10/cifar-10-batches-bin" });
 * const loader = new Cifar10Loader(await loadCifar10(where, "train"), { batchSize: 256, augment: {} });
 * for (const batch of loader.batches(0)) batch.x; // float32 (256, 3, 32, 32) in [0, 1]
 * ```
 *
 * @module
 */

export * from "./src/tensor.ts";
export * from "./src/random.ts";
export * from "./src/errors.ts";
export * from "./src/nn/module.ts";
export * from "./src/nn/conv1d.ts";
export * from "./src/nn/conv2d.ts";
export * from "./src/nn/linear.ts";
export * from "./src/nn/activation.ts";
export * from "./src/nn/pool.ts";
export * from "./src/nn/norm.ts";
export * from "./src/nn/dropout.ts";
export * from "./src/nn/flatten.ts";
export * from "./src/nn/sequential.ts";
export * from "./src/nn/residual.ts";
export * from "./src/nn/ensemble.ts";
export * from "./src/kernels/gemm.ts";
export * from "./src/kernels/matrix_view.ts";
export * from "./src/momentum.ts";
export * from "./src/numeric/exact_decimal.ts";
export * from "./src/numeric/interval.ts";
export * from "./src/data/cifar10.ts";
export * from "./src/data/to_tensor.ts";
export * from "./src/data/cifar10_pickle.ts";
export * from "./src/data/download.ts";
export * from "./src/data/locate.ts";
export * from "./src/data/split.ts";
export * from "./src/data/augment.ts";
export * from "./src/data/loader.ts";
export * from "./src/kernels/im2col.ts";
export * from "./src/nn/loss.ts";
export * from "./src/nn/state.ts";
export * from "./src/optim/optimizer.ts";
export * from "./src/optim/sgd.ts";
export * from "./src/optim/adam.ts";
export * from "./src/optim/schedule.ts";
export * from "./src/train/checkpoint.ts";
export * from "./src/onnx/proto.ts";
export * from "./src/onnx/export.ts";
export * from "./src/onnx/model_error.ts";
export * from "./src/onnx/confusion.ts";
export * from "./src/onnx/score_report.ts";
export * from "./src/onnx/score_process.ts";
export * from "./src/kernels/gemm_fast.ts";
