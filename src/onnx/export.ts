/**
 * Export of this project's networks to ONNX (opset {@linkcode OPSET}, IR version 8), in the
 * form the submission contract asks for: one float32 input `input` of shape
 * `(batch, 3, 32, 32)` and one output `logits` of shape `(batch, 10)`.
 *
 * Every layer maps to standard operators, in evaluation mode:
 *
 * | layer | ONNX |
 * | --- | --- |
 * | `Conv2D`, `Conv1D` | `Conv` (weights `(out, in, k…)` as in PyTorch) |
 * | `Linear` | `Gemm` with `transB = 1` |
 * | `ReLU` | `Relu` |
 * | `GELU` | its exact form `0.5 · x · (1 + Erf(x / √2))` (`Gelu` needs opset 20) |
 * | `Scale` | `Mul` by its factor |
 * | `MaxPool2D`, `AvgPool2D` | `MaxPool`, `AveragePool` (with `count_include_pad` as set) |
 * | `GlobalAvgPool2D` | `GlobalAveragePool` |
 * | `BatchNorm2D` | `BatchNormalization` in inference form (running statistics) |
 * | `Flatten` | `Flatten` (or `Reshape` for other than the default dims) |
 * | `Residual` | the body, the shortcut (if any), then `Add` |
 * | `Sequential` | its layers in order |
 * | `Ensemble` | each member, then `Mean` of their outputs |
 * | `Dropout` | nothing: it is the identity in evaluation mode |
 *
 * With `ttaFlip` (and `ttaShift`), the graph also averages each image's logits with its mirror
 * image's (and those of copies shifted down-right and up-left: `Pad` in `reflect` mode,
 * `Slice`), with the weights of the trainer's test-time augmentation (`Slice`, `Concat`,
 * `Reshape`, `Mul`, `ReduceSum`).
 *
 * Node names are the modules' `state_dict` paths (`0`, `3.body.1`) and initializers carry
 * the `state_dict` keys (`0.weight`, `1.running_mean`), so a PyTorch user can map them back.
 * Float64 models are written in float32, as the contract asks.
 *
 * @module
 */

import { UserError } from "../errors.ts";
import { GELU, ReLU } from "../nn/activation.ts";
import { Conv1D } from "../nn/conv1d.ts";
import { Conv2D } from "../nn/conv2d.ts";
import { Dropout } from "../nn/dropout.ts";
import { Ensemble } from "../nn/ensemble.ts";
import { Flatten } from "../nn/flatten.ts";
import { Linear } from "../nn/linear.ts";
import type { Module } from "../nn/module.ts";
import { BatchNorm2D } from "../nn/norm.ts";
import { AvgPool2D, GlobalAvgPool2D, MaxPool2D } from "../nn/pool.ts";
import { Residual } from "../nn/residual.ts";
import { Scale } from "../nn/scale.ts";
import { Sequential } from "../nn/sequential.ts";
import { contiguous, dtypeOf, type Tensor, zeros } from "../tensor.ts";
import { type AttributeValue, floatTensor, int64Tensor, model, node, valueInfo } from "./graph.ts";
import { DataType, encodeModel, type NodeProto, type TensorProto } from "./proto.ts";

export { OPSET } from "./graph.ts";

/** Settings of an export. */
export interface ExportOptions {
  /** A fixed batch size, or `null` (the default) for a dynamic one named `batch`. */
  batch?: number | null;
  /** The input's shape after the batch dimension (default `[3, 32, 32]`, CIFAR-10). */
  inputShape?: number[];
  /** The graph's name (default `model`). */
  name?: string;
  /** A description stored in the model (e.g. the recipe and its test accuracy). */
  docString?: string;
  /**
   * Average each image's logits with its mirror image's (test-time flip augmentation, as
   * the trainer's `ttaFlip` evaluates): the graph runs the net on the batch and its
   * horizontal flip stacked, then takes the mean of the two halves.
   */
  ttaFlip?: boolean;
  /**
   * Also average the logits of each image shifted this many pixels down-right and up-left
   * (the gap filled by reflection), the unshifted image counting half, as the trainer's
   * `ttaShift` evaluates (`ttaViews` in `train/evaluate.ts`); 0 for none.
   */
  ttaShift?: number;
}

/** The names of the graph's input and output. */
export const INPUT_NAME = "input";
/** The name of the graph's output. */
export const OUTPUT_NAME = "logits";

/** The graph as it is built: nodes, constants, and a counter for fresh value names. */
class Builder {
  nodes: NodeProto[] = [];
  initializers: TensorProto[] = [];
  #constants = new Map<number, string>();

  add(
    op: string,
    inputs: string[],
    output: string,
    attributes: Record<string, AttributeValue> = {},
  ) {
    this.nodes.push(node(op, inputs, [output], output, attributes));
    return output;
  }

  weight(name: string, t: Tensor): string {
    const c = contiguous(t);
    this.initializers.push(floatTensor(name, c.shape, c.data));
    return name;
  }

  /** A scalar float constant, shared by every node that uses the same value. */
  scalar(value: number): string {
    let name = this.#constants.get(value);
    if (!name) {
      name = `const_${this.#constants.size}`;
      this.#constants.set(value, name);
      this.initializers.push(floatTensor(name, [], [value]));
    }
    return name;
  }
}

/**
 * Serialises `net` as an ONNX model. The network is run once, in evaluation mode, on a
 * batch of one zero image to learn every layer's output shape (restoring its mode after).
 *
 * @throws {Error} naming a layer that has no ONNX form.
 *
 * @example
 * ```ts
 * const net = new Sequential(new Conv2D(3, 8, 3, 1, { padding: 1 }), new ReLU(), new GlobalAvgPool2D(), new Flatten(), new Linear(8, 10));
 * await Deno.writeFile("model.onnx", exportOnnx(net));
 * ```
 */
export function exportOnnx(net: Module, options: ExportOptions = {}): Uint8Array {
  const {
    batch = null,
    inputShape = [3, 32, 32],
    name = "model",
    docString,
    ttaFlip = false,
    ttaShift = 0,
  } = options;
  const params = [...net.parameters(), ...net.buffers()];
  const dtype = params.length ? dtypeOf(params[0].value) : "float32";
  const builder = new Builder();
  const wasTraining = net.training;
  net.eval();
  let out: { name: string; value: Tensor };
  const rank = inputShape.length + 1;
  // The views stacked along the batch axis, and the weight of each one's logits.
  let first = INPUT_NAME, weights = [1];
  if (ttaShift > 0) {
    first = shiftAndStack(builder, first, rank, ttaShift);
    weights = [1 / 2, 1 / 4, 1 / 4];
  }
  if (ttaFlip) {
    first = mirrorAndStack(builder, first, rank);
    weights = [...weights, ...weights].map((w) => w / 2);
  }
  try {
    out = emit(builder, net, "", { name: first, value: zeros([1, ...inputShape], dtype) });
  } finally {
    net.train(wasTraining);
  }
  if (weights.length > 1) {
    // (vN, C) → (v, N, C), times each view's weight, summed over the views: (N, C).
    const classes = out.value.shape.slice(1);
    const ones = classes.map(() => 1);
    builder.initializers.push(
      int64Tensor("tta.shape", [classes.length + 2], [weights.length, -1, ...classes]),
      floatTensor("tta.weights", [weights.length, 1, ...ones], weights),
      int64Tensor("tta.sum.axes", [1], [0]),
    );
    const views = builder.add("Reshape", [out.name, "tta.shape"], "tta.views");
    const weighted = builder.add("Mul", [views, "tta.weights"], "tta.weighted");
    out = {
      name: builder.add("ReduceSum", [weighted, "tta.sum.axes"], "tta.sum", {
        keepdims: { int: 0 },
      }),
      value: out.value,
    };
  }
  // The last node writes the graph's output under its contract name.
  if (out.name === INPUT_NAME) builder.add("Identity", [INPUT_NAME], OUTPUT_NAME);
  else builder.nodes.at(-1)!.output[0] = OUTPUT_NAME;
  const batchDim = batch ?? "batch";
  return encodeModel(model({
    name,
    node: builder.nodes,
    initializer: builder.initializers,
    input: [valueInfo(INPUT_NAME, DataType.FLOAT, [batchDim, ...inputShape])],
    output: [valueInfo(OUTPUT_NAME, DataType.FLOAT, [batchDim, ...out.value.shape.slice(1)])],
  }, docString));
}

/**
 * Nodes that stack the batch `input` and its horizontal mirror (the last axis reversed):
 * `(N, …)` becomes `(2N, …)`, the originals first. Returns the stacked value's name.
 */
function mirrorAndStack(b: Builder, input: string, rank: number): string {
  b.initializers.push(
    int64Tensor("tta.starts", [1], [-1]),
    // Any end before the first element: Slice clamps it to "past index 0" for a negative step.
    int64Tensor("tta.ends", [1], [-(2 ** 31)]),
    int64Tensor("tta.axes", [1], [rank - 1]),
    int64Tensor("tta.steps", [1], [-1]),
  );
  const mirrored = b.add(
    "Slice",
    [input, "tta.starts", "tta.ends", "tta.axes", "tta.steps"],
    "tta.mirror",
  );
  return b.add("Concat", [input, mirrored], "tta.stack", { axis: { int: 0 } });
}

/**
 * Nodes that stack the batch `input` `(N, C, H, W)` and its copies shifted `shift` pixels
 * down-right and up-left (`Pad` each side in `reflect` mode, then the first or the last
 * `H × W`): `(3N, …)`, in that order. Returns the stacked value's name.
 */
function shiftAndStack(b: Builder, input: string, rank: number, shift: number): string {
  const pads = new Array(2 * rank).fill(0);
  for (const axis of [rank - 2, rank - 1]) pads[axis] = pads[rank + axis] = shift;
  b.initializers.push(
    int64Tensor("tta.pads", [2 * rank], pads),
    int64Tensor("tta.crop.axes", [2], [rank - 2, rank - 1]),
    int64Tensor("tta.down.starts", [2], [0, 0]),
    int64Tensor("tta.down.ends", [2], [-2 * shift, -2 * shift]),
    int64Tensor("tta.up.starts", [2], [2 * shift, 2 * shift]),
    int64Tensor("tta.up.ends", [2], [2 ** 31, 2 ** 31]),
  );
  const padded = b.add("Pad", [input, "tta.pads"], "tta.pad", { mode: { string: "reflect" } });
  const down = b.add(
    "Slice",
    [padded, "tta.down.starts", "tta.down.ends", "tta.crop.axes"],
    "tta.shift.down",
  );
  const up = b.add(
    "Slice",
    [padded, "tta.up.starts", "tta.up.ends", "tta.crop.axes"],
    "tta.shift.up",
  );
  return b.add("Concat", [input, down, up], "tta.shift.stack", { axis: { int: 0 } });
}

/** A value of the graph: its name, and the TypeScript forward's value for a batch of one. */
interface Value {
  name: string;
  value: Tensor;
}

/** Emits the nodes of `module` applied to `x`; `path` is its `state_dict` prefix. */
function emit(b: Builder, module: Module, path: string, x: Value): Value {
  const at = (suffix: string) => (path ? `${path}.${suffix}` : suffix);
  const nodeName = path || "net";
  if (module instanceof Sequential) {
    module.layers.forEach((layer, i) => (x = emit(b, layer, at(String(i)), x)));
    return x;
  }
  if (module instanceof Residual) {
    const body = emit(b, module.body, at("body"), x);
    const shortcut = module.shortcut ? emit(b, module.shortcut, at("shortcut"), x) : x;
    const value = module.forward(x.value);
    return { name: b.add("Add", [body.name, shortcut.name], `${nodeName}.add`), value };
  }
  if (module instanceof Ensemble) {
    const outputs = module.members.map((m, i) => emit(b, m, at(String(i)), x).name);
    return { name: b.add("Mean", outputs, `${nodeName}.mean`), value: module.forward(x.value) };
  }
  const value = module.forward(x.value);
  const y = (op: string, inputs: string[], attributes: Record<string, AttributeValue> = {}) => ({
    name: b.add(op, inputs, nodeName, attributes),
    value,
  });
  if (module instanceof Dropout) return x;
  if (module instanceof Conv2D) {
    const [ph, pw] = module.padding;
    return y("Conv", [
      x.name,
      b.weight(at("weight"), module.W),
      ...(module.b ? [b.weight(at("bias"), module.b)] : []),
    ], {
      kernel_shape: { ints: module.kernelSize },
      strides: { ints: module.stride },
      pads: { ints: [ph, pw, ph, pw] },
      dilations: { ints: [1, 1] },
      group: { int: 1 },
    });
  }
  if (module instanceof Conv1D) {
    return y("Conv", [
      x.name,
      b.weight(at("weight"), module.W),
      ...(module.b ? [b.weight(at("bias"), module.b)] : []),
    ], {
      kernel_shape: { ints: [module.kernelSize] },
      strides: { ints: [module.stride] },
      pads: { ints: [module.padding, module.padding] },
      dilations: { ints: [module.dilation] },
      group: { int: module.groups },
    });
  }
  if (module instanceof Linear) {
    return y("Gemm", [
      x.name,
      b.weight(at("weight"), module.W),
      ...(module.b ? [b.weight(at("bias"), module.b)] : []),
    ], { transB: { int: 1 } });
  }
  if (module instanceof ReLU) return y("Relu", [x.name]);
  if (module instanceof GELU) {
    const scaled = b.add("Div", [x.name, b.scalar(Math.SQRT2)], `${nodeName}.div`);
    const erf = b.add("Erf", [scaled], `${nodeName}.erf`);
    const plusOne = b.add("Add", [erf, b.scalar(1)], `${nodeName}.add`);
    const times = b.add("Mul", [x.name, plusOne], `${nodeName}.mul`);
    return y("Mul", [times, b.scalar(0.5)]);
  }
  if (module instanceof Scale) return y("Mul", [x.name, b.scalar(module.factor)]);
  if (module instanceof MaxPool2D || module instanceof AvgPool2D) {
    const [ph, pw] = module.padding;
    const attributes: Record<string, AttributeValue> = {
      kernel_shape: { ints: module.kernelSize },
      strides: { ints: module.stride },
      pads: { ints: [ph, pw, ph, pw] },
    };
    if (module instanceof MaxPool2D) return y("MaxPool", [x.name], attributes);
    return y("AveragePool", [x.name], {
      ...attributes,
      count_include_pad: { int: module.countIncludePad ? 1 : 0 },
    });
  }
  if (module instanceof GlobalAvgPool2D) return y("GlobalAveragePool", [x.name]);
  if (module instanceof BatchNorm2D) {
    // Without affine parameters the scale is one and the shift zero.
    const c = module.numFeatures;
    const ones = zeros([c]);
    ones.data.fill(1);
    return y("BatchNormalization", [
      x.name,
      b.weight(at("weight"), module.weight ?? ones),
      b.weight(at("bias"), module.bias ?? zeros([c])),
      b.weight(at("running_mean"), module.runningMean),
      b.weight(at("running_var"), module.runningVar),
    ], { epsilon: { float: module.eps } });
  }
  if (module instanceof Flatten) {
    const rank = x.value.shape.length;
    const start = module.startDim < 0 ? rank + module.startDim : module.startDim;
    const end = module.endDim < 0 ? rank + module.endDim : module.endDim;
    if (start === 1 && end === rank - 1) return y("Flatten", [x.name], { axis: { int: 1 } });
    // Other dims: a Reshape to the output shape, with the batch dimension copied (0) or
    // merged (-1) so that the model keeps a dynamic batch.
    const shape = value.shape.map((n, i) => (i === 0 ? (start === 0 ? -1 : 0) : n));
    b.initializers.push(int64Tensor(at("shape"), [shape.length], shape));
    return y("Reshape", [x.name, at("shape")]);
  }
  throw new Error(
    `exportOnnx: ${module.constructor.name} at "${nodeName}" has no ONNX form; ` +
      `export supports Sequential, Residual, Ensemble, Conv1D, Conv2D, Linear, ReLU, GELU, Scale, the pools, BatchNorm2D, Flatten and Dropout`,
  );
}

/**
 * Writes `net` to `path` as ONNX atomically (a temporary file beside it, then a rename), so
 * a failed write never leaves a partial model.
 *
 * @throws {UserError} when the file cannot be written.
 *
 * @example
 * ```ts
 * await saveOnnx(net, "runs/quick/model.onnx", { docString: "quick recipe, 72.4% on the test set" });
 * ```
 */
export async function saveOnnx(
  net: Module,
  path: string,
  options: ExportOptions = {},
): Promise<void> {
  const bytes = exportOnnx(net, options);
  const tmp = `${path}.tmp`;
  try {
    await Deno.writeFile(tmp, bytes);
    await Deno.rename(tmp, path);
  } catch (error) {
    await Deno.remove(tmp).catch(() => {});
    throw new UserError(`cannot write the model to ${path} (${(error as Error).message}).`);
  }
}
