/**
 * The CIFAR-10 networks the trainer builds: a VGG-style net (the default: conv blocks with
 * BatchNorm and max-pooling, as the fastest known CIFAR-10 recipes use) and a small ResNet.
 * Both take `[0, 1]` images `(N, 3, 32, 32)` and return logits `(N, 10)`; they are made only
 * of layers the ONNX exporter knows.
 *
 * @module
 */

import { GELU, ReLU } from "../nn/activation.ts";
import { Conv2D } from "../nn/conv2d.ts";
import { Flatten } from "../nn/flatten.ts";
import { Linear } from "../nn/linear.ts";
import type { Module } from "../nn/module.ts";
import { BatchNorm2D } from "../nn/norm.ts";
import { MaxPool2D } from "../nn/pool.ts";
import { Residual } from "../nn/residual.ts";
import { Scale } from "../nn/scale.ts";
import { Sequential } from "../nn/sequential.ts";
import type { Rng } from "../random.ts";
import type { DType } from "../tensor.ts";

/** The architectures {@linkcode buildModel} knows. */
export const ARCHITECTURES = ["vgg", "resnet"] as const;

/** One of {@linkcode ARCHITECTURES}. */
export type Architecture = typeof ARCHITECTURES[number];

/** The activations {@linkcode buildModel} can put after each BatchNorm. */
export const ACTIVATIONS = ["relu", "gelu"] as const;

/** One of {@linkcode ACTIVATIONS}. */
export type Activation = typeof ACTIVATIONS[number];

/** What {@linkcode buildModel} needs: the architecture, its stage widths, dtype and seed. */
export interface ModelSpec {
  arch: Architecture;
  /** Channels of the stem and each of the three stages, e.g. `[32, 64, 128, 256]`. */
  widths: readonly [number, number, number, number];
  /** A BatchNorm after the stem's conv; without, the conv has a bias (default true). */
  stemNorm?: boolean;
  /**
   * The stem conv's window (default 3, padded by 1). An even window is not padded, as
   * airbench's 2×2 whitening layer: 32 × 32 images then leave it 31 × 31, and the stages
   * 15, 7 and 3 (the global max-pool follows the size).
   */
  stemKernel?: number;
  /**
   * The stem's filters are fixed (the trainer sets them to whitening filters): it takes no
   * gradient, and without a BatchNorm after it nothing before the first stage learns, so
   * that stage's conv computes no input gradient either (default false).
   */
  frozenStem?: boolean;
  /**
   * With `frozenStem` and no `stemNorm`, the stem's bias still learns over the fixed filters
   * (airbench trains its whitening layer's bias for the first epochs) (default false).
   */
  stemBiasGrad?: boolean;
  /**
   * Each conv after the stem starts as the identity on its first `min(in, out)` filters
   * (PyTorch's `nn.init.dirac_` on those filters, as airbench initialises its convs), the
   * others at PyTorch's default (default false).
   */
  identityInit?: boolean;
  /** BatchNorm layers learn their scale γ; false keeps it at 1, as airbench does (default true). */
  bnWeight?: boolean;
  /** BatchNorm's running-statistics momentum, PyTorch's convention (default 0.1). */
  bnMomentum?: number;
  /**
   * A factor on the logits, a `Scale` after the last `Linear` when not 1 (airbench: 1/9; the
   * default 1 adds no layer, so the parameter names stay those of older checkpoints).
   */
  logitScale?: number;
  /**
   * The activation after each BatchNorm: `relu`, or `gelu` (PyTorch's exact form, as airbench
   * uses; it has no parameters, so the parameter names are the same) (default `relu`).
   */
  activation?: Activation;
  dtype?: DType;
  rng: Rng;
}

/**
 * Builds a CIFAR-10 network.
 *
 * `vgg`: stem conv → BN → ReLU (or conv with bias → ReLU, without `stemNorm`) → three
 * stages of (conv → max-pool 2 → BN → ReLU → conv → BN → ReLU), each halving the resolution
 * (32 → 16 → 8 → 4) → global max-pool → linear (→ the logit scale, when not 1). Pooling right
 * after each stage's first conv runs the second conv at a quarter of the cost. With
 * `activation: "gelu"`, a GELU in place of each ReLU. With `stemKernel: 2` (airbench's), the
 * sizes are 31 → 15 → 7 → 3.
 *
 * `resnet`: the same stem and stages, with the second conv in a residual block.
 *
 * @example
 * ```ts
 * const model = buildModel({ arch: "vgg", widths: [32, 64, 128, 256], dtype: "float32", rng: new Rng(0) });
 * const logits = model.forward(zeros([8, 3, 32, 32], "float32")); // (8, 10)
 * ```
 */
export function buildModel(spec: ModelSpec): Sequential {
  const { arch, widths, dtype = "float32", rng, stemNorm = true, frozenStem = false } = spec;
  const { identityInit = false, bnWeight = true, bnMomentum = 0.1, logitScale = 1 } = spec;
  const { stemKernel = 3 } = spec;
  const stemBiasGrad = frozenStem && !stemNorm && (spec.stemBiasGrad ?? false);
  const act = spec.activation === "gelu" ? () => new GELU() : () => new ReLU();
  const conv = (cin: number, cout: number, inputGrad = true, bias = false) =>
    new Conv2D(cin, cout, 3, 1, { padding: 1, bias, dtype, rng, inputGrad });
  // The stages' convs (the stem's filters are the whitening ones or stay random).
  const stageConv = (cin: number, cout: number, inputGrad = true) => {
    const layer = conv(cin, cout, inputGrad);
    if (identityInit) setIdentity(layer);
    return layer;
  };
  const bn = (c: number) => {
    const layer = new BatchNorm2D(c, { dtype, momentum: bnMomentum });
    layer.weightRequiresGrad = bnWeight;
    return layer;
  };
  const convBnAct = (
    cin: number,
    cout: number,
  ): Module[] => [stageConv(cin, cout), bn(cout), act()];

  const [stem, ...stages] = widths;
  // The stem needs no gradient w.r.t. the images.
  const stemConv = new Conv2D(3, stem, stemKernel, 1, {
    padding: stemPadding(stemKernel),
    bias: !stemNorm,
    dtype,
    rng,
    inputGrad: false,
  });
  stemConv.requiresGrad = !frozenStem || stemBiasGrad;
  stemConv.weightRequiresGrad = !frozenStem;
  const layers: Module[] = [stemConv, ...(stemNorm ? [bn(stem)] : []), act()];
  let cin = stem, inputGrad = !frozenStem || stemNorm || stemBiasGrad;
  for (const width of stages) {
    layers.push(stageConv(cin, width, inputGrad), new MaxPool2D(2), bn(width), act());
    inputGrad = true;
    if (arch === "resnet") {
      layers.push(new Residual(new Sequential(...convBnAct(width, width))));
    } else {
      layers.push(...convBnAct(width, width));
    }
    cin = width;
  }
  const size = stageSizes(stemKernel).at(-1)!;
  layers.push(
    new MaxPool2D(size),
    new Flatten(),
    new Linear(cin, 10, { bias: false, dtype, rng }),
  );
  if (logitScale !== 1) layers.push(new Scale(logitScale));
  return new Sequential(...layers);
}

/**
 * Sets the first `min(in, out)` filters of `conv` to the identity: filter `o` is 1 at the
 * centre of its input channel `o` and 0 elsewhere, so that at the start the conv passes those
 * channels through (PyTorch's `nn.init.dirac_(conv.weight[:in])`).
 */
function setIdentity(conv: Conv2D): void {
  const [out, cin, kh, kw] = conv.W.shape, taps = kh * kw;
  const W = conv.W.data;
  for (let o = 0; o < Math.min(out, cin); o++) {
    W.fill(0, o * cin * taps, (o + 1) * cin * taps);
    W[(o * cin + o) * taps + (kh >> 1) * kw + (kw >> 1)] = 1;
  }
}

/** The stem's padding: `(k − 1) / 2` rounded down, none for airbench's 2×2 window. */
function stemPadding(kernel: number): number {
  return (kernel - 1) >> 1;
}

/** The feature maps' side after the stem and after each of the three stages' pools. */
function stageSizes(stemKernel: number): number[] {
  const sizes = [32 + 2 * stemPadding(stemKernel) - stemKernel + 1];
  for (let i = 0; i < 3; i++) sizes.push(Math.floor(sizes[i] / 2));
  return sizes;
}

/** The network's forward cost in multiply-adds per image (convolutions and the linear layer). */
export function macsPerImage(spec: Pick<ModelSpec, "widths" | "stemKernel">): number {
  const [stem, ...stages] = spec.widths;
  const k = spec.stemKernel ?? 3, sizes = stageSizes(k);
  let macs = 3 * stem * k * k * sizes[0] ** 2;
  let cin = stem;
  stages.forEach((width, i) => {
    macs += cin * width * 9 * sizes[i] ** 2; // first conv, before the pool
    macs += width * width * 9 * sizes[i + 1] ** 2;
    cin = width;
  });
  return macs + cin * 10;
}
