/**
 * Evaluation of a model on a set of images: loss, accuracy and the predictions, in eval mode,
 * optionally averaging the logits of views of each image: its mirror, and copies shifted a pixel
 * or more (test-time augmentation).
 *
 * @module
 */

import { Cifar10Loader } from "../data/loader.ts";
import type { ImageSet } from "../data/cifar10.ts";
import { crossEntropy } from "../nn/loss.ts";
import type { Module } from "../nn/module.ts";
import { contiguous, type Tensor, tensor } from "../tensor.ts";

/** The result of {@linkcode evaluate}. */
export interface Evaluation {
  /** Mean cross-entropy over the images. */
  loss: number;
  /** The fraction predicted correctly, in [0, 1]. */
  accuracy: number;
  /** The predicted class of each image, in the set's order. */
  predictions: Uint8Array;
}

/** Mirrors a batch of images left to right (the last axis). */
export function flipHorizontal(x: Tensor): Tensor {
  const src = contiguous(x);
  const width = x.shape[x.shape.length - 1];
  const out = new Float32Array(src.size);
  const S = src.data;
  for (let row = 0; row < src.size; row += width) {
    for (let i = 0; i < width; i++) out[row + i] = S[row + width - 1 - i];
  }
  return tensor(out, x.shape);
}

/**
 * Translates a batch of images `(N, C, H, W)` by `shift` pixels down and right (a negative
 * `shift`: up and left), filling the gap by reflection about the border row and column, as
 * ONNX `Pad` in `reflect` mode (and PyTorch's `F.pad(x, …, "reflect")`) followed by the
 * `H × W` window.
 *
 * @example
 * ```ts
 * shiftImages(x, 1); // out[n, c, h, w] = x[n, c, |h − 1|, |w − 1|]
 * ```
 */
export function shiftImages(x: Tensor, shift: number): Tensor {
  const src = contiguous(x);
  const [H, W] = x.shape.slice(-2);
  const reflect = (i: number, size: number) => i < 0 ? -i : i >= size ? 2 * (size - 1) - i : i;
  const out = new Float32Array(src.size);
  const S = src.data;
  for (let plane = 0; plane < src.size; plane += H * W) {
    for (let h = 0; h < H; h++) {
      const from = plane + reflect(h - shift, H) * W, to = plane + h * W;
      for (let w = 0; w < W; w++) out[to + w] = S[from + reflect(w - shift, W)];
    }
  }
  return tensor(out, x.shape);
}

/** One view of a batch for test-time augmentation, and the weight of its logits. */
export interface TtaView {
  images: Tensor;
  weight: number;
}

/**
 * The views of a batch whose logits test-time augmentation averages, with their weights
 * (summing to 1): with `shift`, the images count half and their copies shifted by `shift`
 * pixels down-right and up-left a quarter each (airbench's weighting); with `flip`, each of
 * those and its mirror share its weight equally.
 *
 * @example
 * ```ts
 * ttaViews(x, { flip: true, shift: 1 }).map((v) => v.weight); // [1/4, 1/4, 1/8, 1/8, 1/8, 1/8]
 * ```
 */
export function ttaViews(x: Tensor, options: { flip?: boolean; shift?: number }): TtaView[] {
  const { flip = false, shift = 0 } = options;
  const plain = shift > 0
    ? [
      { images: x, weight: 1 / 2 },
      { images: shiftImages(x, shift), weight: 1 / 4 },
      { images: shiftImages(x, -shift), weight: 1 / 4 },
    ]
    : [{ images: x, weight: 1 }];
  if (!flip) return plain;
  return plain.flatMap(({ images, weight }) => [
    { images, weight: weight / 2 },
    { images: flipHorizontal(images), weight: weight / 2 },
  ]);
}

/**
 * The test-time views of {@linkcode ttaViews} in words, `""` for none.
 *
 * @example
 * ```ts
 * ttaLabel({ flip: true, shift: 1 }); // "flip and shift ±1"
 * ```
 */
export function ttaLabel(options: { flip?: boolean; shift?: number }): string {
  const { flip = false, shift = 0 } = options;
  return [flip ? "flip" : "", shift ? `shift ±${shift}` : ""].filter(Boolean).join(" and ");
}

/**
 * Writes the index of each row's largest logit of `logits` `(N, C)` into `out` (length N).
 *
 * @example
 * ```ts
 * const predictions = argmaxRows(model.forward(x), new Uint8Array(x.shape[0]));
 * ```
 */
export function argmaxRows(logits: Tensor, out: Uint8Array): Uint8Array {
  const L = contiguous(logits).data;
  const classes = logits.shape[1];
  for (let i = 0; i < out.length; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (L[i * classes + c] > L[i * classes + best]) best = c;
    out[i] = best;
  }
  return out;
}

/**
 * Evaluates `model` on `set` in eval mode (restoring its mode after), `batchSize` images at a
 * time; with `flip` and `shift`, the logits of the views {@linkcode ttaViews} makes of each
 * image are averaged with its weights.
 *
 * @example
 * ```ts
 * const { accuracy } = evaluate(model, testSet, { batchSize: 500, flip: true, shift: 1 });
 * ```
 */
export function evaluate(
  model: Module,
  set: ImageSet,
  options: { batchSize?: number; flip?: boolean; shift?: number } = {},
): Evaluation {
  const { batchSize = 500, flip = false, shift = 0 } = options;
  const wasTraining = model.training;
  model.eval();
  const loader = new Cifar10Loader(set, { batchSize, shuffle: false });
  const predictions = new Uint8Array(set.length);
  let lossSum = 0, correct = 0, seen = 0;
  try {
    for (const { x, y } of loader.batches(0)) {
      const views = ttaViews(x, { flip, shift });
      let logits = contiguous(model.forward(views[0].images));
      if (views.length > 1) {
        // A layer's output is only valid until its next forward (src/nn/buffers.ts).
        const L = logits.data.map((v) => v * views[0].weight);
        for (const { images, weight } of views.slice(1)) {
          const more = contiguous(model.forward(images)).data;
          for (let i = 0; i < L.length; i++) L[i] += weight * more[i];
        }
        logits = tensor(L, logits.shape);
      }
      lossSum += crossEntropy(logits, y, { reduction: "sum" }).loss;
      const batch = predictions.subarray(seen, seen + y.length);
      argmaxRows(logits, batch);
      for (let i = 0; i < y.length; i++) if (batch[i] === y[i]) correct++;
      seen += y.length;
    }
  } finally {
    model.train(wasTraining);
  }
  return { loss: lossSum / Math.max(1, seen), accuracy: correct / Math.max(1, seen), predictions };
}
