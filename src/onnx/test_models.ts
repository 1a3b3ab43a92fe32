/**
 * Small ONNX models the tests build with the ONNX schema, each breaking the submission
 * contract in one way (or keeping it, for comparison), so that no test needs a shipped
 * broken file.
 *
 * @module
 */

import { floatTensor, model, node, valueInfo } from "./graph.ts";
import { DataType, encodeModel, type NodeProto, type TensorProto } from "./proto.ts";

/** How to build a linear classifier `Gemm(Flatten(input))`; every field has a good default. */
export interface LinearModelOptions {
  /** The input's shape (default `["N", 3, 32, 32]`) and element type (default FLOAT). */
  inputShape?: (number | string)[];
  inputType?: number;
  /** Classes the output has (default 10) and the declared output shape (default `["N", classes]`). */
  classes?: number;
  outputShape?: (number | string)[];
  /** Adds a second input of the same shape, summed with the first. */
  twoInputs?: boolean;
  /** Adds a second output (the flattened input). */
  twoOutputs?: boolean;
  /** The bias of every class (default: class c gets c / 100). */
  bias?: number[];
}

/**
 * A linear classifier over the flattened image, weights `W[c, p] = sin(c + p)` / 100: a
 * model that meets the contract by default, and breaks it as the options say.
 *
 * @example
 * ```ts
 * await Deno.writeFile("nhwc.onnx", linearModel({ inputShape: ["N", 32, 32, 3] }));
 * ```
 */
export function linearModel(options: LinearModelOptions = {}): Uint8Array {
  const {
    inputShape = ["N", 3, 32, 32],
    inputType = DataType.FLOAT,
    classes = 10,
    outputShape = ["N", classes],
    twoInputs = false,
    twoOutputs = false,
  } = options;
  const bias = options.bias ?? Array.from({ length: classes }, (_, c) => c / 100);
  const pixels = 3 * 32 * 32;
  const weight = Array.from(
    { length: classes * pixels },
    (_, i) => Math.sin(Math.floor(i / pixels) + (i % pixels)) / 100,
  );
  const nodes: NodeProto[] = [];
  let x = "input";
  if (inputType !== DataType.FLOAT) {
    nodes.push(node("Cast", [x], ["cast"], "cast", { to: { int: DataType.FLOAT } }));
    x = "cast";
  }
  if (twoInputs) {
    nodes.push(node("Add", [x, "input2"], ["sum"], "sum"));
    x = "sum";
  }
  nodes.push(node("Flatten", [x], ["flat"], "flatten", { axis: { int: 1 } }));
  nodes.push(node("Gemm", ["flat", "W", "b"], ["logits"], "fc", { transB: { int: 1 } }));
  const initializer: TensorProto[] = [
    floatTensor("W", [classes, pixels], weight),
    floatTensor("b", [classes], bias),
  ];
  return encodeModel(model({
    name: "linear",
    node: nodes,
    initializer,
    input: [
      valueInfo("input", inputType, inputShape),
      ...(twoInputs ? [valueInfo("input2", inputType, inputShape)] : []),
    ],
    output: [
      valueInfo("logits", DataType.FLOAT, outputShape),
      ...(twoOutputs ? [valueInfo("flat", DataType.FLOAT, ["N", pixels])] : []),
    ],
  }));
}

/**
 * A model that meets the contract but takes minutes whatever the batch: it squares a
 * 3072×3072 matrix made from the batch 32 times (about 2 TFLOP), for testing the time limit.
 * The matrix is computed at run time, so the model is small and loads at once.
 *
 * @example
 * ```ts
 * await Deno.writeFile("slow.onnx", slowModel());
 * ```
 */
export function slowModel(): Uint8Array {
  const pixels = 3 * 32 * 32;
  const nodes: NodeProto[] = [
    node("Flatten", ["input"], ["x"], "flatten", { axis: { int: 1 } }),
    node("Transpose", ["x"], ["xT"], "transpose"),
    node("MatMul", ["xT", "x"], ["gram"], "gram"),
    node("Mul", ["gram", "tiny"], ["m0"], "scale"),
  ];
  for (let i = 0; i < 32; i++) {
    nodes.push(node("MatMul", [`m${i}`, `m${i}`], [`m${i + 1}`], `square${i}`));
  }
  nodes.push(node("MatMul", ["x", "m32"], ["h"], "project"));
  nodes.push(node("Gemm", ["h", "V", "b"], ["logits"], "fc"));
  return encodeModel(model({
    name: "slow",
    node: nodes,
    initializer: [
      floatTensor("tiny", [1], [1e-6]),
      floatTensor("V", [pixels, 10], new Float32Array(pixels * 10)),
      floatTensor("b", [10], new Float32Array(10)),
    ],
    input: [valueInfo("input", DataType.FLOAT, ["N", 3, 32, 32])],
    output: [valueInfo("logits", DataType.FLOAT, ["N", 10])],
  }));
}
