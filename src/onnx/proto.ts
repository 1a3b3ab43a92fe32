/**
 * The ONNX file format through protobufjs and ONNX's own schema: `onnx.proto` beside this
 * file is copied unchanged from ONNX 1.12 (Debian's `python3-onnx`, IR version 8), and
 * protobufjs parses it on first use. Field names are kept as the schema spells them
 * (`ir_version`, `op_type`), so what the ONNX documentation says reads across directly.
 *
 * Only the message shapes this project reads or writes are typed here; the encoding and
 * decoding are protobufjs's, driven by the schema.
 *
 * @module
 */

import protobuf from "protobufjs";

/** `TensorProto.DataType` values the project uses (the schema lists them all). */
export const DataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  FLOAT16: 10,
  DOUBLE: 11,
} as const;

/** `AttributeProto.AttributeType` values. */
export const AttributeType = {
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  FLOATS: 6,
  INTS: 7,
} as const;

/** `TensorProto`: a constant tensor (an initializer or an attribute's value). */
export interface TensorProto {
  name?: string;
  dims?: number[];
  data_type?: number;
  /** Little-endian element bytes; the compact form every exporter writes. */
  raw_data?: Uint8Array;
  float_data?: number[];
  int64_data?: number[];
  doc_string?: string;
}

/** `AttributeProto`: one named attribute of a node; `type` says which field is set. */
export interface AttributeProto {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: TensorProto;
  floats?: number[];
  ints?: number[];
}

/** `NodeProto`: one operator application in a graph. */
export interface NodeProto {
  name?: string;
  op_type: string;
  domain?: string;
  input: string[];
  output: string[];
  attribute?: AttributeProto[];
  doc_string?: string;
}

/** One dimension of a shape: a fixed size or a symbolic name (such as `batch`). */
export interface DimensionProto {
  dim_value?: number;
  dim_param?: string;
}

/** `ValueInfoProto`: a graph input's or output's name, element type and shape. */
export interface ValueInfoProto {
  name: string;
  type?: {
    tensor_type?: { elem_type?: number; shape?: { dim?: DimensionProto[] } };
  };
  doc_string?: string;
}

/** `GraphProto`: the nodes in topological order, their constants, inputs and outputs. */
export interface GraphProto {
  name?: string;
  node?: NodeProto[];
  initializer?: TensorProto[];
  input?: ValueInfoProto[];
  output?: ValueInfoProto[];
  value_info?: ValueInfoProto[];
  doc_string?: string;
}

/** `ModelProto`: the file's top-level message. */
export interface ModelProto {
  ir_version?: number;
  opset_import?: { domain?: string; version: number }[];
  producer_name?: string;
  producer_version?: string;
  domain?: string;
  model_version?: number;
  doc_string?: string;
  graph?: GraphProto;
  metadata_props?: { key: string; value: string }[];
}

let modelType: protobuf.Type | null = null;

/** The `onnx.ModelProto` message type, parsed from `onnx.proto` once. */
function modelProtoType(): protobuf.Type {
  if (!modelType) {
    const text = Deno.readTextFileSync(new URL("./onnx.proto", import.meta.url));
    modelType = protobuf.parse(text, { keepCase: true }).root.lookupType("onnx.ModelProto");
  }
  return modelType;
}

/**
 * Serialises a model to the bytes of a `.onnx` file.
 *
 * @throws {Error} when the object does not fit the schema (a bug in the caller).
 *
 * @example
 * ```ts
 * const bytes = encodeModel({ ir_version: 8, opset_import: [{ version: 13 }], graph: { name: "g" } });
 * await Deno.writeFile("model.onnx", bytes);
 * ```
 */
export function encodeModel(model: ModelProto): Uint8Array {
  const type = modelProtoType();
  const problem = type.verify(model);
  if (problem) throw new Error(`encodeModel: not a valid ModelProto (${problem})`);
  return type.encode(type.fromObject(model)).finish();
}

/**
 * Parses the bytes of a `.onnx` file. 64-bit integers come back as numbers and enums as
 * their numeric values; `raw_data` stays bytes.
 *
 * @throws {RangeError} when the bytes end in the middle of a message (a truncated file);
 * `Error` for anything else that is not protobuf.
 *
 * @example
 * ```ts
 * const model = decodeModel(await Deno.readFile("model.onnx"));
 * model.graph?.input?.[0].name; // e.g. "input"
 * ```
 */
export function decodeModel(bytes: Uint8Array): ModelProto {
  const type = modelProtoType();
  return type.toObject(type.decode(bytes), {
    longs: Number,
    enums: Number,
    arrays: true,
  }) as ModelProto;
}
