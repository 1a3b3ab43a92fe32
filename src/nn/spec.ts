/**
 * A network's architecture as plain JSON, so that a checkpoint (which holds only tensors)
 * can record what to build before loading them: `describeModel(net)` goes into the
 * checkpoint's metadata as `architecture`, and `buildModel(spec)` makes the same network,
 * freshly initialised, for `loadStateDict` to fill.
 *
 * @module
 */

import { UserError } from "../errors.ts";
import type { DType } from "../tensor.ts";
import { GELU, ReLU } from "./activation.ts";
import { Conv1D } from "./conv1d.ts";
import { Conv2D } from "./conv2d.ts";
import { Dropout } from "./dropout.ts";
import { Flatten } from "./flatten.ts";
import { Linear } from "./linear.ts";
import type { Module } from "./module.ts";
import { BatchNorm2D } from "./norm.ts";
import { AvgPool2D, GlobalAvgPool2D, MaxPool2D } from "./pool.ts";
import { Residual } from "./residual.ts";
import { Sequential } from "./sequential.ts";

/** One layer and its constructor arguments, by the layer's class name. */
export type LayerSpec =
  | {
    type: "Conv2D";
    inChannels: number;
    outChannels: number;
    kernelSize: [number, number];
    stride: [number, number];
    padding: [number, number];
    bias: boolean;
  }
  | {
    type: "Conv1D";
    inChannel: number;
    outChannel: number;
    kernelSize: number;
    stride: number;
    padding: number;
    dilation: number;
    groups: number;
    bias: boolean;
  }
  | { type: "Linear"; inFeatures: number; outFeatures: number; bias: boolean }
  | { type: "ReLU" }
  | { type: "GELU" }
  | {
    type: "MaxPool2D";
    kernelSize: [number, number];
    stride: [number, number];
    padding: [number, number];
  }
  | {
    type: "AvgPool2D";
    kernelSize: [number, number];
    stride: [number, number];
    padding: [number, number];
    countIncludePad: boolean;
  }
  | { type: "GlobalAvgPool2D" }
  | { type: "BatchNorm2D"; numFeatures: number; eps: number; momentum: number; affine: boolean }
  | { type: "Dropout"; p: number }
  | { type: "Flatten"; startDim: number; endDim: number }
  | { type: "Sequential"; layers: LayerSpec[] }
  | { type: "Residual"; body: LayerSpec; shortcut: LayerSpec | null };

/**
 * The architecture of `net` as JSON-ready data.
 *
 * @throws {Error} for a layer this module does not know.
 *
 * @example
 * ```ts
 * describeModel(new Sequential(new ReLU(), new Flatten())); // { type: "Sequential", layers: [{ type: "ReLU" }, …] }
 * ```
 */
export function describeModel(net: Module): LayerSpec {
  const m = net;
  if (m instanceof Sequential) return { type: "Sequential", layers: m.layers.map(describeModel) };
  if (m instanceof Residual) {
    return {
      type: "Residual",
      body: describeModel(m.body),
      shortcut: m.shortcut ? describeModel(m.shortcut) : null,
    };
  }
  if (m instanceof Conv2D) {
    const { inChannels, outChannels, kernelSize, stride, padding } = m;
    return { type: "Conv2D", inChannels, outChannels, kernelSize, stride, padding, bias: !!m.b };
  }
  if (m instanceof Conv1D) {
    const { inChannel, outChannel, kernelSize, stride, padding, dilation, groups } = m;
    return {
      type: "Conv1D",
      inChannel,
      outChannel,
      kernelSize,
      stride,
      padding,
      dilation,
      groups,
      bias: !!m.b,
    };
  }
  if (m instanceof Linear) {
    return { type: "Linear", inFeatures: m.inFeatures, outFeatures: m.outFeatures, bias: !!m.b };
  }
  if (m instanceof ReLU) return { type: "ReLU" };
  if (m instanceof GELU) return { type: "GELU" };
  if (m instanceof MaxPool2D) {
    return { type: "MaxPool2D", kernelSize: m.kernelSize, stride: m.stride, padding: m.padding };
  }
  if (m instanceof AvgPool2D) {
    const { kernelSize, stride, padding, countIncludePad } = m;
    return { type: "AvgPool2D", kernelSize, stride, padding, countIncludePad };
  }
  if (m instanceof GlobalAvgPool2D) return { type: "GlobalAvgPool2D" };
  if (m instanceof BatchNorm2D) {
    const { numFeatures, eps, momentum } = m;
    return { type: "BatchNorm2D", numFeatures, eps, momentum, affine: m.weight !== null };
  }
  if (m instanceof Dropout) return { type: "Dropout", p: m.p };
  if (m instanceof Flatten) return { type: "Flatten", startDim: m.startDim, endDim: m.endDim };
  throw new Error(`describeModel: ${net.constructor.name} has no architecture description`);
}

/**
 * Builds the network `spec` describes, freshly initialised, with parameters of `dtype`.
 *
 * @throws {UserError} when `spec` is not an architecture this project can build (a
 * checkpoint from elsewhere, or edited by hand).
 *
 * @example
 * ```ts
 * const net = buildModel(describeModel(trained), "float32"); // same layers, new weights
 * loadStateDict(net, stateDict(trained));
 * ```
 */
export function buildModel(spec: LayerSpec, dtype: DType = "float32"): Module {
  try {
    return build(spec, dtype);
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(`the architecture cannot be built (${(error as Error).message})`);
  }
}

function build(s: LayerSpec, dtype: DType): Module {
  switch (s?.type) {
    case "Sequential":
      return new Sequential(...s.layers.map((l) => build(l, dtype)));
    case "Residual":
      return new Residual(build(s.body, dtype), s.shortcut ? build(s.shortcut, dtype) : null);
    case "Conv2D":
      return new Conv2D(s.inChannels, s.outChannels, s.kernelSize, s.stride, {
        padding: s.padding,
        bias: s.bias,
        dtype,
      });
    case "Conv1D":
      return new Conv1D(s.inChannel, s.outChannel, s.kernelSize, s.stride, {
        padding: s.padding,
        dilation: s.dilation,
        groups: s.groups,
        bias: s.bias,
        dtype,
      });
    case "Linear":
      return new Linear(s.inFeatures, s.outFeatures, { bias: s.bias, dtype });
    case "ReLU":
      return new ReLU();
    case "GELU":
      return new GELU();
    case "MaxPool2D":
      return new MaxPool2D(s.kernelSize, s.stride, s.padding);
    case "AvgPool2D":
      return new AvgPool2D(s.kernelSize, s.stride, s.padding, {
        countIncludePad: s.countIncludePad,
      });
    case "GlobalAvgPool2D":
      return new GlobalAvgPool2D();
    case "BatchNorm2D":
      return new BatchNorm2D(s.numFeatures, {
        eps: s.eps,
        momentum: s.momentum,
        affine: s.affine,
        dtype,
      });
    case "Dropout":
      return new Dropout(s.p);
    case "Flatten":
      return new Flatten(s.startDim, s.endDim);
    default:
      throw new UserError(
        `the architecture has an unknown layer type ${
          JSON.stringify((s as { type?: unknown })?.type)
        }`,
      );
  }
}
