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
  /** The name nodes refer to it by (an initializer's is its `state_dict` key). */
  name?: string;
  /** The shape; empty for a scalar. */
  dims?: number[];
  /** The element type, a {@linkcode DataType} value. */
  data_type?: number;
  /** Little-endian element bytes; the compact form every exporter writes. */
  raw_data?: Uint8Array;
  /** The elements of a FLOAT tensor, when not in `raw_data`. */
  float_data?: number[];
  /** The elements of an INT64 tensor, when not in `raw_data`. */
  int64_data?: number[];
  /** A description. */
  doc_string?: string;
}

/** `AttributeProto`: one named attribute of a node; `type` says which field is set. */
export interface AttributeProto {
  /** The attribute's name, e.g. `kernel_shape`. */
  name: string;
  /** Which value field is set: an {@linkcode AttributeType} value. */
  type: number;
  /** A FLOAT value. */
  f?: number;
  /** An INT value. */
  i?: number;
  /** A STRING value, as UTF-8 bytes. */
  s?: Uint8Array;
  /** A TENSOR value. */
  t?: TensorProto;
  /** A FLOATS value. */
  floats?: number[];
  /** An INTS value. */
  ints?: number[];
}

/** `NodeProto`: one operator application in a graph. */
export interface NodeProto {
  /** A name for messages and tools (this project uses the module's `state_dict` path). */
  name?: string;
  /** The operator, e.g. `Conv`. */
  op_type: string;
  /** The operator set's domain; empty for the standard `ai.onnx`. */
  domain?: string;
  /** The names of the values it reads, in the operator's order. */
  input: string[];
  /** The names of the values it writes. */
  output: string[];
  /** Its attributes. */
  attribute?: AttributeProto[];
  /** A description. */
  doc_string?: string;
}

/** One dimension of a shape: a fixed size or a symbolic name (such as `batch`). */
export interface DimensionProto {
  /** A fixed size. */
  dim_value?: number;
  /** A symbolic size, the same wherever the same name appears. */
  dim_param?: string;
}

/** `ValueInfoProto`: a graph input's or output's name, element type and shape. */
export interface ValueInfoProto {
  /** The value's name. */
  name: string;
  /** Its type: for a tensor, the element type ({@linkcode DataType}) and the shape. */
  type?: {
    tensor_type?: { elem_type?: number; shape?: { dim?: DimensionProto[] } };
  };
  /** A description. */
  doc_string?: string;
}

/** `GraphProto`: the nodes in topological order, their constants, inputs and outputs. */
export interface GraphProto {
  /** The graph's name. */
  name?: string;
  /** The nodes, each after every node whose output it reads. */
  node?: NodeProto[];
  /** The constants: weights, buffers and shapes. */
  initializer?: TensorProto[];
  /** The inputs the caller feeds. */
  input?: ValueInfoProto[];
  /** The outputs the caller gets. */
  output?: ValueInfoProto[];
  /** Types and shapes of intermediate values, where known. */
  value_info?: ValueInfoProto[];
  /** A description. */
  doc_string?: string;
}

/** `ModelProto`: the file's top-level message. */
export interface ModelProto {
  /** The IR version of the file format (8 for ONNX 1.12). */
  ir_version?: number;
  /** The operator sets the graph uses, with their versions (the opset). */
  opset_import?: { domain?: string; version: number }[];
  /** The tool that wrote the file, e.g. `pytorch` or this project's name. */
  producer_name?: string;
  /** That tool's version. */
  producer_version?: string;
  /** A reverse-DNS namespace for the model. */
  domain?: string;
  /** The model's own version. */
  model_version?: number;
  /** A description (the exporter writes the recipe here). */
  doc_string?: string;
  /** The computation. */
  graph?: GraphProto;
  /** Free-form key/value metadata. */
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
