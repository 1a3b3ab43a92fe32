/**
 * im2col and col2im: the rearrangement that turns a 2-D convolution into one matrix
 * multiply. Each column of the matrix holds the input patch one output position reads,
 * so `W (out, in·kh·kw) · cols (in·kh·kw, outH·outW)` is the convolution's output.
 *
 * Both loop over `(channel, ki, kj)` rows and write or read each row of `cols`
 * contiguously; the zero padding is never materialised in the input.
 *
 * @module
 */

import type { FloatArray } from "../tensor.ts";

/** The sizes of one 2-D convolution (or pooling) window sweep over one image. */
export interface ConvGeometry {
  /** Input channels. */
  channels: number;
  /** Input height. */
  height: number;
  /** Input width. */
  width: number;
  /** Window height. */
  kernelH: number;
  /** Window width. */
  kernelW: number;
  /** Vertical step between windows. */
  strideH: number;
  /** Horizontal step between windows. */
  strideW: number;
  /** Zero rows added above and below. */
  padH: number;
  /** Zero columns added left and right. */
  padW: number;
  /** `floor((height + 2·padH − kernelH) / strideH) + 1`, as PyTorch computes it. */
  outH: number;
  /** `floor((width + 2·padW − kernelW) / strideW) + 1`. */
  outW: number;
}

/**
 * The geometry for an input of `height × width` with the given window, stride and padding
 * (`outH`/`outW` below 1 mean the padded input is smaller than the window).
 *
 * @example
 * ```ts
 * const g = convGeometry(3, 32, 32, [3, 3], [1, 1], [1, 1]); // g.outH = g.outW = 32
 * ```
 */
export function convGeometry(
  channels: number,
  height: number,
  width: number,
  [kernelH, kernelW]: readonly [number, number],
  [strideH, strideW]: readonly [number, number],
  [padH, padW]: readonly [number, number],
): ConvGeometry {
  return {
    channels,
    height,
    width,
    kernelH,
    kernelW,
    strideH,
    strideW,
    padH,
    padW,
    outH: Math.floor((height + 2 * padH - kernelH) / strideH) + 1,
    outW: Math.floor((width + 2 * padW - kernelW) / strideW) + 1,
  };
}

/**
 * Writes the patches of one image `x` (`channels × height × width`, dense) into `cols`
 * (`channels·kernelH·kernelW × outH·outW`, row-major), zeros where a patch reads padding.
 *
 * With `ld` (the row length of `cols`, default `outH·outW`) and `col0` (the first column,
 * default 0), the image fills columns `col0 .. col0 + outH·outW` of a wider matrix, so that
 * several images side by side make one matrix and one large matrix multiply (`Conv2D` does
 * this over chunks of the batch).
 *
 * @example
 * ```ts
 * const g = convGeometry(1, 3, 3, [2, 2], [1, 1], [0, 0]);
 * const cols = new Float64Array(4 * 4);
 * im2col(new Float64Array([1, 2, 3, 4, 5, 6, 7, 8, 9]), g, cols);
 * // row 0 (tap 0,0): [1, 2, 4, 5]; row 3 (tap 1,1): [5, 6, 8, 9]
 * ```
 */
export function im2col(
  x: FloatArray,
  g: ConvGeometry,
  cols: FloatArray,
  ld: number = g.outH * g.outW,
  col0 = 0,
): void {
  const { channels, height, width, kernelH, kernelW, strideH, strideW, padH, padW, outH, outW } = g;
  // Plain loops with the valid ranges inlined: late-stage images are 4 or 8 wide, where
  // per-row calls (fill, set, subarray, a returned pair) cost more than the copying.
  for (let c = 0; c < channels; c++) {
    const xc = c * height * width;
    for (let ki = 0; ki < kernelH; ki++) {
      const sh = ki - padH;
      const h0 = Math.min(outH, sh >= 0 ? 0 : Math.ceil(-sh / strideH));
      const h1 = Math.max(h0, Math.min(outH, Math.floor((height - 1 - sh) / strideH) + 1));
      for (let kj = 0; kj < kernelW; kj++) {
        const sw = kj - padW;
        const w0 = Math.min(outW, sw >= 0 ? 0 : Math.ceil(-sw / strideW));
        const w1 = Math.max(w0, Math.min(outW, Math.floor((width - 1 - sw) / strideW) + 1));
        let dst = ((c * kernelH + ki) * kernelW + kj) * ld + col0;
        for (let oh = 0; oh < outH; oh++, dst += outW) {
          // Output positions whose window tap (ki, kj) falls in the padding read zero.
          if (oh < h0 || oh >= h1) {
            for (let ow = 0; ow < outW; ow++) cols[dst + ow] = 0;
            continue;
          }
          const src = xc + (oh * strideH + sh) * width + sw;
          for (let ow = 0; ow < w0; ow++) cols[dst + ow] = 0;
          if (strideW === 1) { for (let ow = w0; ow < w1; ow++) cols[dst + ow] = x[src + ow]; }
          else for (let ow = w0; ow < w1; ow++) cols[dst + ow] = x[src + ow * strideW];
          for (let ow = w1; ow < outW; ow++) cols[dst + ow] = 0;
        }
      }
    }
  }
}

/**
 * The adjoint of {@linkcode im2col}: adds every entry of `cols` back onto the input
 * position it was read from, accumulating into `dx` (so a position several windows
 * overlap receives the sum). Entries that came from padding are dropped.
 * `ld` and `col0` select the image's columns of a wider matrix, as in {@linkcode im2col}.
 *
 * @example
 * ```ts
 * const g = convGeometry(1, 3, 3, [2, 2], [1, 1], [0, 0]);
 * const dx = new Float64Array(9);
 * col2im(new Float64Array(16).fill(1), g, dx); // dx = [1, 2, 1, 2, 4, 2, 1, 2, 1]
 * ```
 */
export function col2im(
  cols: FloatArray,
  g: ConvGeometry,
  dx: FloatArray,
  ld: number = g.outH * g.outW,
  col0 = 0,
): void {
  const { channels, height, width, kernelH, kernelW, strideH, strideW, padH, padW, outH, outW } = g;
  for (let c = 0; c < channels; c++) {
    const xc = c * height * width;
    for (let ki = 0; ki < kernelH; ki++) {
      const sh = ki - padH;
      const h0 = Math.min(outH, sh >= 0 ? 0 : Math.ceil(-sh / strideH));
      const h1 = Math.max(h0, Math.min(outH, Math.floor((height - 1 - sh) / strideH) + 1));
      for (let kj = 0; kj < kernelW; kj++) {
        const sw = kj - padW;
        const w0 = Math.min(outW, sw >= 0 ? 0 : Math.ceil(-sw / strideW));
        const w1 = Math.max(w0, Math.min(outW, Math.floor((width - 1 - sw) / strideW) + 1));
        const row = ((c * kernelH + ki) * kernelW + kj) * ld + col0;
        for (let oh = h0; oh < h1; oh++) {
          const src = row + oh * outW;
          const dst = xc + (oh * strideH + sh) * width + sw;
          for (let ow = w0; ow < w1; ow++) dx[dst + ow * strideW] += cols[src + ow];
        }
      }
    }
  }
}
