/**
 * Patch whitening for the first layer, as the fastest CIFAR-10 recipes (airbench) start
 * their networks: the stem's filters are set from the training images' own statistics — the
 * leading principal directions of their patches (3×3, or airbench's 2×2), each scaled to unit
 * variance — and kept fixed. The network then starts from decorrelated inputs, which is worth an epoch or more
 * of training when there are only a few.
 *
 * @module
 */

import type { ImageSet } from "../data/cifar10.ts";
import { UserError } from "../errors.ts";
import { symmetricEigen } from "../numeric/eigen.ts";

/** Options of {@linkcode whiteningFilters}. */
export interface WhiteningOptions {
  /** The filters' window (default 3). */
  kernel?: number;
  /** How many of the first images to read patches from (default 2000). */
  images?: number;
  /** Added to each eigenvalue before the square root, relative to their mean (default 1e-3). */
  eps?: number;
}

/** What {@linkcode whiteningFilters} returns: a conv layer's weight and bias. */
export interface Whitening {
  /** `(filters, 3, kernel, kernel)`, PyTorch's conv weight layout. */
  weight: Float32Array;
  /** `(filters)`: minus each filter's response to the mean patch. */
  bias: Float32Array;
}

/**
 * `filters` whitening filters for images scaled to [0, 1] (float32): for each of the leading
 * `filters / 2` eigenvectors `v` of the covariance of the images' `kernel × kernel` patches
 * (eigenvalue `λ`), the pair `±v / √(λ + ε)`, so that a ReLU after keeps both signs (an odd
 * count adds one more `+v`); with the bias, each filter's response to the patches has mean 0
 * and variance 1, and different filters' responses are uncorrelated.
 *
 * @example
 * ```ts
 * const { weight, bias } = whiteningFilters(trainSet, 16);
 * stem.W.data.set(weight);
 * stem.b!.data.set(bias);
 * ```
 */
export function whiteningFilters(
  set: ImageSet,
  filters: number,
  options: WhiteningOptions = {},
): Whitening {
  const { kernel = 3, images = 2000, eps = 1e-3 } = options;
  const C = 3, S = 32, dims = C * kernel * kernel;
  if (filters > 2 * dims) {
    throw new UserError(
      `whitening gives at most ${
        2 * dims
      } filters for a ${kernel}×${kernel} window, but the first layer has ${filters}; lower the first width or turn --whiten off.`,
    );
  }
  const count = Math.min(images, set.length);
  const sum = new Float64Array(dims), outer = new Float64Array(dims * dims);
  const patch = new Float64Array(dims);
  let patches = 0;
  for (let n = 0; n < count; n++) {
    const image = set.images.subarray(n * C * S * S, (n + 1) * C * S * S);
    for (let i = 0; i + kernel <= S; i++) {
      for (let j = 0; j + kernel <= S; j++) {
        let d = 0;
        for (let c = 0; c < C; c++) {
          for (let ki = 0; ki < kernel; ki++) {
            for (let kj = 0; kj < kernel; kj++) {
              patch[d++] = image[(c * S + i + ki) * S + j + kj] / 255;
            }
          }
        }
        for (let a = 0; a < dims; a++) {
          sum[a] += patch[a];
          for (let b = 0; b <= a; b++) outer[a * dims + b] += patch[a] * patch[b];
        }
        patches++;
      }
    }
  }
  if (patches === 0) throw new UserError("whitening needs at least one training image.");
  // The covariance of the patches (about their mean), symmetric.
  const cov = new Float64Array(dims * dims);
  for (let a = 0; a < dims; a++) {
    for (let b = 0; b <= a; b++) {
      const v = outer[a * dims + b] / patches - (sum[a] / patches) * (sum[b] / patches);
      cov[a * dims + b] = cov[b * dims + a] = v;
    }
  }
  const { values, vectors } = symmetricEigen(cov, dims);
  const floor = eps * values.reduce((s, v) => s + Math.max(v, 0), 0) / dims;
  const weight = new Float32Array(filters * dims), bias = new Float32Array(filters);
  for (let f = 0; f < filters; f++) {
    const e = f >> 1, sign = f % 2 === 0 ? 1 : -1;
    const scale = sign / Math.sqrt(Math.max(values[e], 0) + floor);
    let response = 0;
    for (let d = 0; d < dims; d++) {
      weight[f * dims + d] = vectors[e * dims + d] * scale;
      response += weight[f * dims + d] * sum[d] / patches;
    }
    bias[f] = -response;
  }
  return { weight, bias };
}
