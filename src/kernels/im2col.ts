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
 * The output positions `[t0, t1)` along one axis whose input index `t·stride + shift`
 * falls inside `[0, size)`; the others read zero padding.
 */
function validRange(shift: number, stride: number, size: number, out: number): [number, number] {
  const t0 = shift >= 0 ? 0 : Math.ceil(-shift / stride);
  const t1 = Math.min(out, Math.floor((size - 1 - shift) / stride) + 1);
  return [Math.min(t0, out), Math.max(t0, t1)];
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
  const L = outH * outW;
  for (let c = 0; c < channels; c++) {
    const xc = c * height * width;
    for (let ki = 0; ki < kernelH; ki++) {
      const [h0, h1] = validRange(ki - padH, strideH, height, outH);
      for (let kj = 0; kj < kernelW; kj++) {
        const row = ((c * kernelH + ki) * kernelW + kj) * ld + col0;
        const [w0, w1] = validRange(kj - padW, strideW, width, outW);
        // Rows of output positions whose window tap (ki, kj) falls in the padding are zero.
        cols.fill(0, row, row + h0 * outW);
        cols.fill(0, row + h1 * outW, row + L);
        for (let oh = h0; oh < h1; oh++) {
          const dst = row + oh * outW;
          const src = xc + (oh * strideH + ki - padH) * width + kj - padW;
          if (w0 > 0) cols.fill(0, dst, dst + w0);
          if (strideW === 1) cols.set(x.subarray(src + w0, src + w1), dst + w0);
          else for (let ow = w0; ow < w1; ow++) cols[dst + ow] = x[src + ow * strideW];
          if (w1 < outW) cols.fill(0, dst + w1, dst + outW);
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
      const [h0, h1] = validRange(ki - padH, strideH, height, outH);
      for (let kj = 0; kj < kernelW; kj++) {
        const row = ((c * kernelH + ki) * kernelW + kj) * ld + col0;
        const [w0, w1] = validRange(kj - padW, strideW, width, outW);
        for (let oh = h0; oh < h1; oh++) {
          const src = row + oh * outW;
          const dst = xc + (oh * strideH + ki - padH) * width + kj - padW;
          for (let ow = w0; ow < w1; ow++) dx[dst + ow * strideW] += cols[src + ow];
        }
      }
    }
  }
}
