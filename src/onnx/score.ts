/**
 * Competition scoring of any ONNX model with onnxruntime-node: the file is checked against
 * the submission contract, then the whole test set runs through it in batches and the
 * predictions (argmax of the output) are compared with the labels.
 *
 * The contract: one input, float32, shape `(N, 3, 32, 32)` holding pixels in [0, 1] as
 * torchvision's `ToTensor` gives them (any normalisation is part of the model); one output
 * of shape `(N, 10)`, logits or probabilities. `N` may be dynamic (fed `batchSize` images
 * at a time) or fixed (fed exactly `N` at a time, the last batch padded with zeros whose
 * outputs are dropped).
 *
 * Everything wrong with a submitted model is a {@linkcode ModelError}: one sentence that
 * says what is wrong, for the student. (Importing this module loads onnxruntime's native
 * code, which needs `--allow-ffi`.)
 *
 * @module
 */

import * as ort from "onnxruntime-node";
import { IMAGE_BYTES, type ImageSet } from "../data/cifar10.ts";
import { toTensor } from "../data/to_tensor.ts";
import { ModelError } from "./model_error.ts";
import { formatShape } from "../tensor.ts";
import { decodeModel, type ModelProto } from "./proto.ts";
import { NUM_CLASSES, type ScoreOptions, type ScoreReport, summarise } from "./score_report.ts";

/** How the model is fed, as read from its input and output. */
export interface ModelContract {
  inputName: string;
  outputName: string;
  /** The fixed batch size the model demands, or `null` when its batch is dynamic. */
  fixedBatch: number | null;
}

/** The contract's input shape after the batch dimension. */
const IMAGE_SHAPE = [3, 32, 32];

/**
 * Reads and parses a model file, with one sentence for each way a file can fail to be an
 * ONNX model (missing, a folder, empty, truncated, not protobuf, protobuf but no graph).
 *
 * @throws {ModelError}
 *
 * @example
 * ```ts
 * const { bytes, proto } = await readModelFile("model.onnx");
 * ```
 */
export async function readModelFile(
  path: string,
): Promise<{ bytes: Uint8Array; proto: ModelProto }> {
  let bytes: Uint8Array;
  try {
    const info = await Deno.stat(path);
    if (info.isDirectory) {
      throw new ModelError(
        `${path} is a folder, not an ONNX model file; submit model.onnx itself.`,
      );
    }
    bytes = await Deno.readFile(path);
  } catch (error) {
    if (error instanceof ModelError) throw error;
    if (error instanceof Deno.errors.NotFound) {
      throw new ModelError(
        `the model file ${path} does not exist; export your model to that path.`,
      );
    }
    throw new ModelError(`the model file ${path} cannot be read (${(error as Error).message}).`);
  }
  if (bytes.length === 0) {
    throw new ModelError(`the model file ${path} is empty; export your model again.`);
  }
  let proto: ModelProto;
  try {
    proto = decodeModel(bytes);
  } catch (error) {
    if (error instanceof RangeError) {
      throw new ModelError(
        `the model file ${path} is truncated (it ends in the middle of its data); copy or export it again.`,
      );
    }
    throw new ModelError(
      `${path} is not an ONNX model (it is not an ONNX protobuf file); export it with torch.onnx.export or deno task export.`,
    );
  }
  if (!proto.graph || !proto.ir_version || !proto.opset_import?.length) {
    throw new ModelError(
      `${path} is not an ONNX model (it has no graph, IR version or opset); export it with torch.onnx.export or deno task export.`,
    );
  }
  return { bytes, proto };
}

/**
 * Checks a loaded session's inputs and outputs against the contract and says how to feed
 * it.
 *
 * @throws {ModelError} naming the first way the model breaks the contract.
 *
 * @example
 * ```ts
 * const contract = checkContract(session); // { inputName: "input", outputName: "logits", fixedBatch: null }
 * ```
 */
export function checkContract(session: ort.InferenceSession): ModelContract {
  const inputs = session.inputMetadata;
  const outputs = session.outputMetadata;
  const contract = "one float32 input of shape (N, 3, 32, 32)";
  if (inputs.length !== 1) {
    throw new ModelError(
      `the model has ${inputs.length} inputs (${
        inputs.map((i) => i.name).join(", ")
      }); the contract is ${contract}.`,
    );
  }
  const input = inputs[0];
  if (!input.isTensor || input.type !== "float32") {
    throw new ModelError(
      `the model's input "${input.name}" is ${
        input.isTensor ? input.type : "not a tensor"
      }; the contract is ${contract} holding pixels in [0, 1] (ToTensor's scaling).`,
    );
  }
  const shape = input.shape.map(dimension);
  const shown = formatShape(
    input.shape.map((d) => (typeof d === "number" && d > 0 ? d : "N")) as number[],
  );
  if (shape.length === 4 && shape[3] === 3 && shape[1] === 32) {
    throw new ModelError(
      `the model's input "${input.name}" has shape ${shown}, channels last (NHWC); the contract is ${contract}, channels first (NCHW).`,
    );
  }
  if (
    shape.length !== 4 || IMAGE_SHAPE.some((n, i) => shape[i + 1] !== null && shape[i + 1] !== n)
  ) {
    throw new ModelError(
      `the model's input "${input.name}" has shape ${shown}; the contract is ${contract}.`,
    );
  }
  if (outputs.length !== 1) {
    throw new ModelError(
      `the model has ${outputs.length} outputs (${
        outputs.map((o) => o.name).join(", ")
      }); the contract is one output of shape (N, 10).`,
    );
  }
  const output = outputs[0];
  if (!output.isTensor || (output.type !== "float32" && output.type !== "float64")) {
    throw new ModelError(
      `the model's output "${output.name}" is ${
        output.isTensor ? output.type : "not a tensor"
      }; the contract is float32 scores of shape (N, 10).`,
    );
  }
  const classes = output.shape.length === 2 ? dimension(output.shape[1]) : null;
  if (
    output.shape.length !== 2 && output.shape.length !== 0 ||
    classes !== null && classes !== NUM_CLASSES
  ) {
    throw new ModelError(
      `the model's output "${output.name}" has shape ${
        formatShape(output.shape.map((d) => (typeof d === "number" && d > 0 ? d : "N")) as number[])
      }, not (N, 10): the contract is one score per CIFAR-10 class.`,
    );
  }
  return { inputName: input.name, outputName: output.name, fixedBatch: shape[0] };
}

/** A dimension's fixed size, or `null` for a symbolic or unknown one. */
function dimension(d: number | string): number | null {
  return typeof d === "number" && d > 0 ? d : null;
}

/**
 * Loads a model into onnxruntime and checks it against the contract.
 *
 * @throws {ModelError} when the file is not a loadable ONNX model or breaks the contract.
 *
 * @example
 * ```ts
 * const { session, contract } = await loadModel("model.onnx");
 * ```
 */
export async function loadModel(
  path: string,
  options: ScoreOptions = {},
): Promise<{ session: ort.InferenceSession; contract: ModelContract }> {
  const { bytes } = await readModelFile(path);
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, {
      graphOptimizationLevel: "all",
      ...(options.threads ? { intraOpNumThreads: options.threads } : {}),
    });
  } catch (error) {
    const reason = String((error as Error).message ?? error).split("\n")[0].trim();
    throw new ModelError(`onnxruntime cannot load ${path}: ${reason.replace(/\.$/, "")}.`);
  }
  return { session, contract: checkContract(session) };
}

/**
 * Runs every image of `testSet` through a loaded model and scores its predictions.
 *
 * @throws {ModelError} when a run fails, returns the wrong shape, or returns NaN or an
 * infinity.
 *
 * @example
 * ```ts
 * const { session, contract } = await loadModel("model.onnx");
 * const report = await scoreSession(session, contract, test, CIFAR10_CLASSES);
 * report.accuracy; // e.g. 0.7123
 * ```
 */
export async function scoreSession(
  session: ort.InferenceSession,
  contract: ModelContract,
  testSet: ImageSet,
  classes: readonly string[],
  options: ScoreOptions = {},
): Promise<ScoreReport> {
  const batch = contract.fixedBatch ?? options.batchSize ?? 256;
  const n = testSet.length;
  const input = new Float32Array(batch * IMAGE_BYTES);
  const predictions: number[] = new Array(n);
  let seconds = 0;
  for (let start = 0; start < n; start += batch) {
    const count = Math.min(batch, n - start);
    toTensor(
      testSet.images.subarray(start * IMAGE_BYTES, (start + count) * IMAGE_BYTES),
      count,
      input,
    );
    // A fixed-batch model gets its own batch size; the padding images are zeros.
    const fed = contract.fixedBatch ?? count;
    if (fed > count) input.fill(0, count * IMAGE_BYTES);
    const feed = new ort.Tensor("float32", input.subarray(0, fed * IMAGE_BYTES), [
      fed,
      ...IMAGE_SHAPE,
    ]);
    let result: ort.InferenceSession.OnnxValueMapType;
    const began = performance.now();
    try {
      result = await session.run({ [contract.inputName]: feed });
    } catch (error) {
      const reason = String((error as Error).message ?? error).split("\n")[0].trim();
      throw new ModelError(
        `onnxruntime failed to run the model on a batch of ${fed} images: ${
          reason.replace(/\.$/, "")
        }.`,
      );
    }
    seconds += (performance.now() - began) / 1000;
    const output = result[contract.outputName] as ort.Tensor;
    if (output.dims.length !== 2 || output.dims[0] !== fed || output.dims[1] !== NUM_CLASSES) {
      throw new ModelError(
        `for a batch of ${fed} images the model returned shape ${
          formatShape(output.dims)
        }; the contract is (${fed}, 10), one score per CIFAR-10 class.`,
      );
    }
    const scores = output.data as Float32Array | Float64Array;
    for (let i = 0; i < count; i++) {
      let best = 0;
      for (let c = 0; c < NUM_CLASSES; c++) {
        const v = scores[i * NUM_CLASSES + c];
        if (!Number.isFinite(v)) {
          throw new ModelError(
            `the model's output for test image ${
              start + i
            } contains ${v}; scores must be finite numbers.`,
          );
        }
        if (v > scores[i * NUM_CLASSES + best]) best = c; // the first maximum, as torch.argmax
      }
      predictions[start + i] = best;
    }
  }
  return summarise(predictions, testSet.labels, classes, {
    seconds,
    batchSize: batch,
    fixedBatch: contract.fixedBatch !== null,
  });
}

/**
 * Loads, checks and scores a model file on a test set, in this process.
 * {@linkcode ./score_process.ts} runs the same in a child process that a time limit can
 * stop.
 *
 * @example
 * ```ts
 * const report = await scoreModel("model.onnx", await readCifar10Bin(dir, "test"), CIFAR10_CLASSES);
 * ```
 */
export async function scoreModel(
  path: string,
  testSet: ImageSet,
  classes: readonly string[],
  options: ScoreOptions = {},
): Promise<ScoreReport> {
  const { session, contract } = await loadModel(path, options);
  try {
    return await scoreSession(session, contract, testSet, classes, options);
  } finally {
    await session.release();
  }
}
