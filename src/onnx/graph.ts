/**
 * Small builders for the ONNX messages of {@linkcode ./proto.ts}: a node with attributes,
 * a float initializer, a tensor's name/type/shape, and a model around a graph. The exporter
 * uses them, and so do the tests that make deliberately broken models.
 *
 * @module
 */

import {
  AttributeProto,
  AttributeType,
  DataType,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from "./proto.ts";

/** The opset the exporter writes, and the IR version that goes with it (ONNX 1.12). */
export const OPSET = 17;
/** IR version 8: what ONNX 1.12 writes for opset 17. */
export const IR_VERSION = 8;
/** The `producer_name` of every model this project writes. */
export const PRODUCER_NAME = "conv-assignment";
/** The `producer_version` of every model this project writes. */
export const PRODUCER_VERSION = "1.0";

/** An attribute value: a number is an INT when it is an integer, unless given as floats. */
export type AttributeValue =
  | { int: number }
  | { float: number }
  | { ints: number[] }
  | { floats: number[] }
  | { string: string }
  | { tensor: TensorProto };

/**
 * One attribute of a node.
 *
 * @example
 * ```ts
 * attribute("kernel_shape", { ints: [3, 3] });
 * ```
 */
export function attribute(name: string, value: AttributeValue): AttributeProto {
  if ("int" in value) return { name, type: AttributeType.INT, i: value.int };
  if ("float" in value) return { name, type: AttributeType.FLOAT, f: value.float };
  if ("ints" in value) return { name, type: AttributeType.INTS, ints: value.ints };
  if ("floats" in value) return { name, type: AttributeType.FLOATS, floats: value.floats };
  if ("string" in value) {
    return { name, type: AttributeType.STRING, s: new TextEncoder().encode(value.string) };
  }
  return { name, type: AttributeType.TENSOR, t: value.tensor };
}

/**
 * A node of the default (`ai.onnx`) domain.
 *
 * @example
 * ```ts
 * node("Relu", ["conv1"], ["relu1"], "relu1");
 * node("Flatten", ["pool"], ["flat"], "flatten", { axis: { int: 1 } });
 * ```
 */
export function node(
  opType: string,
  inputs: string[],
  outputs: string[],
  name: string,
  attributes: Record<string, AttributeValue> = {},
): NodeProto {
  return {
    name,
    op_type: opType,
    input: inputs,
    output: outputs,
    attribute: Object.entries(attributes).map(([key, value]) => attribute(key, value)),
  };
}

/**
 * A float32 constant (an initializer), stored as little-endian `raw_data`.
 *
 * @example
 * ```ts
 * floatTensor("fc.bias", [10], new Float32Array(10));
 * ```
 */
export function floatTensor(
  name: string,
  dims: readonly number[],
  values: ArrayLike<number>,
): TensorProto {
  const data = Float32Array.from(values);
  if (data.length !== dims.reduce((a, b) => a * b, 1)) {
    throw new RangeError(`floatTensor ${name}: ${data.length} values for dims [${dims}]`);
  }
  const raw = new Uint8Array(data.length * 4);
  const view = new DataView(raw.buffer);
  data.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return { name, dims: [...dims], data_type: DataType.FLOAT, raw_data: raw };
}

/**
 * An int64 constant, e.g. the target shape of a `Reshape`.
 *
 * @example
 * ```ts
 * int64Tensor("shape", [2], [-1, 3072]);
 * ```
 */
export function int64Tensor(name: string, dims: readonly number[], values: number[]): TensorProto {
  return { name, dims: [...dims], data_type: DataType.INT64, int64_data: values };
}

/**
 * A graph input's or output's description: its element type and shape, where a string
 * dimension is symbolic (e.g. `"batch"` for a dynamic batch size).
 *
 * @example
 * ```ts
 * valueInfo("input", DataType.FLOAT, ["batch", 3, 32, 32]);
 * ```
 */
export function valueInfo(
  name: string,
  elemType: number,
  shape: readonly (number | string)[],
): ValueInfoProto {
  return {
    name,
    type: {
      tensor_type: {
        elem_type: elemType,
        shape: {
          dim: shape.map((d) => typeof d === "number" ? { dim_value: d } : { dim_param: d }),
        },
      },
    },
  };
}

/**
 * A model around `graph` at {@linkcode OPSET}, with this project's producer string.
 *
 * @example
 * ```ts
 * const bytes = encodeModel(model({ name: "net", node: [...], input: [...], output: [...] }));
 * ```
 */
export function model(graph: GraphProto, docString?: string): ModelProto {
  return {
    ir_version: IR_VERSION,
    opset_import: [{ domain: "", version: OPSET }],
    producer_name: PRODUCER_NAME,
    producer_version: PRODUCER_VERSION,
    ...(docString ? { doc_string: docString } : {}),
    graph,
  };
}
