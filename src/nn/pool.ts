/**
 * Pooling: `MaxPool2D`, `AvgPool2D` and `GlobalAvgPool2D`, matching `torch.nn.MaxPool2d`,
 * `torch.nn.AvgPool2d` and `torch.nn.AdaptiveAvgPool2d(1)`. They have no parameters and
 * work in the dtype of their input.
 *
 * @module
 */

import { forChannels } from "../kernels/arena.ts";
import { MAX_POOL_2X2, MAX_POOL_2X2_BACKWARD } from "../kernels/channel_kernels.ts";
import { type ConvGeometry, convGeometry } from "../kernels/im2col.ts";
import { contiguous, type DType, dtypeOf, type Tensor, zeros } from "../tensor.ts";
import { OutputBuffer } from "./buffers.ts";
import { checkDelta, checkImage, pair, saved } from "./check.ts";
import { Layer, type Size2 } from "./module.ts";

/**
 * The window, stride and padding every 2-D pool shares, checked as PyTorch checks them
 * (the stride defaults to the window; padding is at most half the window).
 *
 * @example
 * ```ts
 * const pool: Pool2D = new MaxPool2D(3, 2, 1);
 * pool.kernelSize; // [3, 3]
 * ```
 */
export abstract class Pool2D extends Layer {
  /** The window `[kh, kw]`. */
  readonly kernelSize: [number, number];
  /** The step between windows `[sh, sw]`. */
  readonly stride: [number, number];
  /** Padding on each side `[ph, pw]`. */
  readonly padding: [number, number];
  /** The last input, for `backward`. */
  protected x: Tensor | null = null;

  /** `kind` names the layer in errors. */
  constructor(kind: string, kernelSize: Size2, stride: Size2 | undefined, padding: Size2) {
    super();
    const name = `${kind}(${kernelSize})`;
    this.kernelSize = pair(name, "kernelSize", kernelSize, 1);
    this.stride = pair(name, "stride", stride ?? kernelSize, 1);
    this.padding = pair(name, "padding", padding, 0);
    if (this.padding.some((p, i) => 2 * p > this.kernelSize[i])) {
      throw new RangeError(`${name}: padding must be at most half the kernel size`);
    }
  }

  /** The layer as errors name it, e.g. `MaxPool2D(2, 2, 0)`. */
  protected abstract name(): string;

  /** Checks `x` and returns the sweep's geometry over one plane (one channel). */
  protected geometry(x: Tensor): ConvGeometry {
    checkImage(this.name(), x, null, this.kernelSize, this.padding);
    return convGeometry(1, x.shape[2], x.shape[3], this.kernelSize, this.stride, this.padding);
  }
}

/**
 * The maximum over each `kernelSize` window (padding counts as −∞). The gradient goes to
 * the first maximum of each window in row-major order, as in PyTorch; overlapping windows
 * add up.
 *
 * Its outputs are its own, reused from call to call: the tensor `forward` returns is valid
 * until its next `forward`, the one `backward` returns until its next `backward`; `clone`
 * one to keep it longer (see `buffers.ts`).
 *
 * @example
 * ```ts
 * const pool = new MaxPool2D(2); // stride defaults to the kernel size
 * const y = pool.forward(zeros([8, 16, 32, 32])); // shape (8, 16, 16, 16)
 * const dx = pool.backward(zeros(y.shape)); // shape (8, 16, 32, 32)
 * ```
 */
export class MaxPool2D extends Pool2D {
  /**
   * For each output element, the flat index into the input of the maximum it took: int32s in
   * a float32 buffer's memory, which is the fast kernels' shared memory when installed.
   */
  #argmax = new OutputBuffer();
  /** The outputs of forward and backward, reused (see `buffers.ts` for the ownership rule). */
  #y = new OutputBuffer();
  #dx = new OutputBuffer();

  /** PyTorch's `MaxPool2d(kernel_size, stride=kernel_size, padding=0)`. */
  constructor(kernelSize: Size2, stride?: Size2, padding: Size2 = 0) {
    super("MaxPool2D", kernelSize, stride, padding);
  }

  /** `(batch, c, h, w)` to `(batch, c, outH, outW)`: the maximum of each window. */
  forward(x: Tensor): Tensor {
    const g = this.geometry(x);
    x = contiguous(x);
    this.x = x;
    const [batch, channels, H, W] = x.shape;
    const { outH, outW, kernelH, kernelW, strideH, strideW, padH, padW } = g;
    const y = this.#y.get([batch, channels, outH, outW], dtypeOf(x));
    const X = x.data, Y = y.data;
    const argmax = this.#indices(y.size);
    if (kernelH === 2 && kernelW === 2 && strideH === 2 && strideW === 2 && padH + padW === 0) {
      forChannels(MAX_POOL_2X2, [X, Y, argmax], [H, W, outH, outW], batch * channels);
      return y;
    }
    for (let plane = 0, o = 0; plane < batch * channels; plane++) {
      const base = plane * H * W;
      for (let oh = 0; oh < outH; oh++) {
        const h0 = Math.max(0, oh * strideH - padH);
        const h1 = Math.min(H, oh * strideH - padH + kernelH);
        for (let ow = 0; ow < outW; ow++, o++) {
          const w0 = Math.max(0, ow * strideW - padW);
          const w1 = Math.min(W, ow * strideW - padW + kernelW);
          let best = -Infinity, at = base + h0 * W + w0;
          for (let h = h0; h < h1; h++) {
            for (let i = base + h * W + w0, end = base + h * W + w1; i < end; i++) {
              // PyTorch's rule: `>` keeps the first maximum, and a NaN always wins.
              if (X[i] > best || Number.isNaN(X[i])) {
                best = X[i];
                at = i;
              }
            }
          }
          Y[o] = best;
          argmax[o] = at;
        }
      }
    }
    return y;
  }

  /** Each window's gradient to its maximum; overlapping windows add up. */
  backward(delta: Tensor): Tensor {
    const x = saved(this.name(), this.x);
    const g = this.geometry(x);
    checkDelta(this.name(), [x.shape[0], x.shape[1], g.outH, g.outW], delta);
    const D = contiguous(delta).data, argmax = this.#indices(delta.size);
    const [batch, channels, H, W] = x.shape;
    // 2 × 2 windows that tile the input write each element of dx once: no zeroing pass.
    const tiles = g.kernelH === 2 && g.kernelW === 2 && g.strideH === 2 && g.strideW === 2 &&
      g.padH + g.padW === 0 && H === 2 * g.outH && W === 2 * g.outW;
    const dx = this.#dx.get(x.shape, dtypeOf(x), !tiles);
    const DX = dx.data;
    if (tiles) {
      forChannels(MAX_POOL_2X2_BACKWARD, [D, argmax, DX], [W, g.outH, g.outW], batch * channels);
    } else for (let o = 0; o < D.length; o++) DX[argmax[o]] += D[o];
    return dx;
  }

  /** The argmax buffer for `size` outputs (kept by the last forward for backward). */
  #indices(size: number): Int32Array {
    const block = this.#argmax.get([size], "float32").data;
    return new Int32Array(block.buffer, block.byteOffset, size);
  }

  /** `MaxPool2D(kernel, stride, padding)`. */
  protected name(): string {
    return `MaxPool2D(${formatPair(this.kernelSize)}, ${formatPair(this.stride)}, ${
      formatPair(this.padding)
    })`;
  }
}

/** Options of {@linkcode AvgPool2D}, with PyTorch's meaning and default. */
export interface AvgPool2DOptions {
  /** Whether padding counts in each window's divisor (default true, as in PyTorch). */
  countIncludePad?: boolean;
}

/**
 * The mean over each `kernelSize` window; with padding, the divisor is the full window
 * (`countIncludePad`, PyTorch's default) or only the part inside the input.
 *
 * @example
 * ```ts
 * const pool = new AvgPool2D(2);
 * const y = pool.forward(zeros([8, 16, 32, 32])); // shape (8, 16, 16, 16)
 * ```
 */
export class AvgPool2D extends Pool2D {
  /** Whether padding counts in each window's divisor. */
  readonly countIncludePad: boolean;

  /** PyTorch's `AvgPool2d(kernel_size, stride=kernel_size, padding=0, count_include_pad=)`. */
  constructor(
    kernelSize: Size2,
    stride?: Size2,
    padding: Size2 = 0,
    options: AvgPool2DOptions = {},
  ) {
    super("AvgPool2D", kernelSize, stride, padding);
    this.countIncludePad = options.countIncludePad ?? true;
  }

  /** `(batch, c, h, w)` to `(batch, c, outH, outW)`: the mean of each window. */
  forward(x: Tensor): Tensor {
    const g = this.geometry(x);
    x = contiguous(x);
    this.x = x;
    const [batch, channels, H, W] = x.shape;
    const y = zeros([batch, channels, g.outH, g.outW], dtypeOf(x));
    const X = x.data, Y = y.data;
    this.#sweep(g, H, W, batch * channels, (o, base, h0, h1, w0, w1, scale) => {
      let sum = 0;
      for (let h = h0; h < h1; h++) {
        for (let i = base + h * W + w0, end = base + h * W + w1; i < end; i++) sum += X[i];
      }
      Y[o] = sum * scale;
    });
    return y;
  }

  /** Each window's gradient shared equally over its elements (by the same divisor). */
  backward(delta: Tensor): Tensor {
    const x = saved(this.name(), this.x);
    const g = this.geometry(x);
    const [batch, channels, H, W] = x.shape;
    checkDelta(this.name(), [batch, channels, g.outH, g.outW], delta);
    const D = contiguous(delta).data;
    const dx = zeros(x.shape, dtypeOf(x));
    const DX = dx.data;
    this.#sweep(g, H, W, batch * channels, (o, base, h0, h1, w0, w1, scale) => {
      const share = D[o] * scale;
      for (let h = h0; h < h1; h++) {
        for (let i = base + h * W + w0, end = base + h * W + w1; i < end; i++) DX[i] += share;
      }
    });
    return dx;
  }

  /**
   * Calls `visit` for every output element `o` with its window clipped to the input
   * (`[h0, h1) × [w0, w1)` within the plane starting at `base`) and `1 / divisor`.
   */
  #sweep(
    g: ConvGeometry,
    H: number,
    W: number,
    planes: number,
    visit: (
      o: number,
      base: number,
      h0: number,
      h1: number,
      w0: number,
      w1: number,
      scale: number,
    ) => void,
  ): void {
    const { outH, outW, kernelH, kernelW, strideH, strideW, padH, padW } = g;
    for (let plane = 0, o = 0; plane < planes; plane++) {
      for (let oh = 0; oh < outH; oh++) {
        // PyTorch's divisor with padding counted: the window clipped to the padded input.
        const hs = oh * strideH - padH, he = Math.min(hs + kernelH, H + padH);
        const h0 = Math.max(0, hs), h1 = Math.min(H, he);
        for (let ow = 0; ow < outW; ow++, o++) {
          const ws = ow * strideW - padW, we = Math.min(ws + kernelW, W + padW);
          const w0 = Math.max(0, ws), w1 = Math.min(W, we);
          const divisor = this.countIncludePad ? (he - hs) * (we - ws) : (h1 - h0) * (w1 - w0);
          visit(o, plane * H * W, h0, h1, w0, w1, 1 / divisor);
        }
      }
    }
  }

  /** `AvgPool2D(kernel, stride, padding)`. */
  protected name(): string {
    return `AvgPool2D(${formatPair(this.kernelSize)}, ${formatPair(this.stride)}, ${
      formatPair(this.padding)
    })`;
  }
}

/**
 * The mean of each channel over the whole image: `(batch, c, h, w)` to `(batch, c, 1, 1)`,
 * what `torch.nn.AdaptiveAvgPool2d(1)` computes (follow it with `Flatten` before a
 * `Linear`). ONNX calls it `GlobalAveragePool`.
 *
 * @example
 * ```ts
 * const gap = new GlobalAvgPool2D();
 * const y = gap.forward(zeros([8, 64, 4, 4])); // shape (8, 64, 1, 1)
 * ```
 */
export class GlobalAvgPool2D extends Layer {
  #input: { shape: number[]; dtype: DType } | null = null;

  /** `(batch, c, h, w)` to `(batch, c, 1, 1)`: the mean of each channel. */
  forward(x: Tensor): Tensor {
    checkImage("GlobalAvgPool2D()", x, null);
    x = contiguous(x);
    const [batch, channels, H, W] = x.shape;
    this.#input = { shape: x.shape.slice(), dtype: dtypeOf(x) };
    const y = zeros([batch, channels, 1, 1], dtypeOf(x));
    const X = x.data, Y = y.data, area = H * W;
    for (let plane = 0; plane < batch * channels; plane++) {
      let sum = 0;
      for (let i = plane * area, end = i + area; i < end; i++) sum += X[i];
      Y[plane] = sum / area;
    }
    return y;
  }

  /** Each channel's gradient spread evenly over its pixels. */
  backward(delta: Tensor): Tensor {
    const { shape, dtype } = saved("GlobalAvgPool2D()", this.#input);
    const [batch, channels, H, W] = shape;
    checkDelta("GlobalAvgPool2D()", [batch, channels, 1, 1], delta);
    const D = contiguous(delta).data;
    const dx = zeros(shape, dtype);
    const DX = dx.data, area = H * W;
    for (let plane = 0; plane < batch * channels; plane++) {
      DX.fill(D[plane] / area, plane * area, (plane + 1) * area);
    }
    return dx;
  }
}

function formatPair([a, b]: readonly [number, number]): string {
  return a === b ? `${a}` : `(${a}, ${b})`;
}
