import assert from "node:assert/strict";
import { FIXTURES_DIR, loadFixtures } from "../../fixtures/mod.ts";
import { CIFAR10_CLASSES, IMAGE_BYTES, type ImageSet } from "../data/cifar10.ts";
import { node } from "./graph.ts";
import { DataType, decodeModel, encodeModel } from "./proto.ts";
import { ModelError } from "./model_error.ts";
import { scoreModel } from "./score.ts";
import { linearModel } from "./test_models.ts";
import { tempDir } from "../testing.ts";

const fixtures = await loadFixtures("onnx");
const dir = await tempDir({ prefix: "score_test_" });

/**
 * The fixture's images with labels that make the expected score exact: image i is labelled
 * PyTorch's prediction when i is even, and the next class when odd.
 */
function testSetFor(name: string): { set: ImageSet; expected: number[] } {
  const c = fixtures.cases.find((c) => c.name === name)!;
  const images = Uint8Array.from(fixtures.tensor(c, "images").data);
  const expected = Array.from(fixtures.tensor(c, "predictions").data);
  const labels = Uint8Array.from(expected, (p, i) => (i % 2 ? (p + 1) % 10 : p));
  return { set: { images, labels, length: labels.length }, expected };
}

/** The linear model with its logits averaged over the batch: one row, whatever the batch. */
function batchMeanModel(): Uint8Array {
  const proto = decodeModel(linearModel());
  const graph = proto.graph!;
  graph.node!.at(-1)!.output = ["per-image"];
  graph.node!.push(
    node("ReduceMean", ["per-image"], ["logits"], "mean", {
      axes: { ints: [0] },
      keepdims: { int: 1 },
    }),
  );
  return encodeModel(proto);
}

async function writeModel(name: string, bytes: Uint8Array): Promise<string> {
  const path = `${dir}/${name}.onnx`;
  await Deno.writeFile(path, bytes);
  return path;
}

Deno.test("a PyTorch-exported dynamic-batch model scores PyTorch's own predictions", async () => {
  const { set, expected } = testSetFor("onnx-dynamic");
  for (const batchSize of [256, 5]) {
    const r = await scoreModel(`${FIXTURES_DIR}/onnx-dynamic.onnx`, set, CIFAR10_CLASSES, {
      batchSize,
    });
    assert.deepEqual(r.predictions, expected);
    assert.equal(r.images, 23);
    assert.equal(r.correct, 12); // the even-numbered images
    assert.equal(r.accuracy, 12 / 23);
    assert.equal(r.batchSize, batchSize);
    assert.equal(r.fixedBatch, false);
    assert.ok(r.imagesPerSecond > 0 && r.seconds > 0);
    // Rows are labels, columns predictions; odd images sit one column right of the diagonal.
    expected.forEach((p, i) => assert.ok(r.confusion[set.labels[i]][p] >= 1));
    assert.equal(r.confusion.flat().reduce((a, b) => a + b, 0), 23);
    for (const [c, k] of r.perClass.entries()) {
      assert.equal(k.name, CIFAR10_CLASSES[c]);
      assert.equal(k.images, set.labels.filter((l) => l === c).length);
      assert.equal(k.correct, r.confusion[c][c]);
    }
  }
});

Deno.test("a model fixed at batch 1 is fed one image at a time", async () => {
  const { set, expected } = testSetFor("onnx-fixed-batch-1");
  const r = await scoreModel(`${FIXTURES_DIR}/onnx-fixed-batch-1.onnx`, set, CIFAR10_CLASSES, {
    batchSize: 256,
  });
  assert.deepEqual(r.predictions, expected);
  assert.equal(r.batchSize, 1);
  assert.equal(r.fixedBatch, true);
  assert.equal(r.correct, 12);
});

Deno.test("a model fixed at batch 4 gets its last partial batch padded", async () => {
  // The dynamic model with its batch dimension fixed at 4: 23 images are 5 full batches and
  // one of 3 images plus a padding image, whose prediction must be dropped.
  const proto = decodeModel(await Deno.readFile(`${FIXTURES_DIR}/onnx-dynamic.onnx`));
  proto.graph!.input![0].type!.tensor_type!.shape!.dim![0] = { dim_value: 4 };
  proto.graph!.output![0].type!.tensor_type!.shape!.dim![0] = { dim_value: 4 };
  const path = await writeModel("fixed4", encodeModel(proto));
  const { set, expected } = testSetFor("onnx-dynamic");
  const r = await scoreModel(path, set, CIFAR10_CLASSES);
  assert.deepEqual(r.predictions, expected);
  assert.equal(r.batchSize, 4);
  assert.equal(r.images, 23);
});

Deno.test("every bad submission ends in one sentence saying what is wrong", async () => {
  const { set } = testSetFor("onnx-dynamic");
  const good = await Deno.readFile(`${FIXTURES_DIR}/onnx-dynamic.onnx`);
  await Deno.mkdir(`${dir}/folder.onnx`, { recursive: true });
  const cases: [string, string | Uint8Array, RegExp][] = [
    ["missing", `${dir}/nope.onnx`, /model file .*nope\.onnx does not exist/],
    ["folder", `${dir}/folder.onnx`, /is a folder, not an ONNX model file/],
    ["empty", new Uint8Array(0), /is empty/],
    ["text", new TextEncoder().encode("this is not a model\n"), /is not an ONNX model/],
    ["truncated", good.slice(0, good.length >> 1), /is truncated/],
    [
      "nhwc",
      linearModel({ inputShape: ["N", 32, 32, 3] }),
      /input "input" has shape \(N, 32, 32, 3\), channels last \(NHWC\)/,
    ],
    [
      "uint8",
      linearModel({ inputType: DataType.UINT8 }),
      /input "input" is uint8; the contract is one float32 input of shape \(N, 3, 32, 32\)/,
    ],
    ["rank2", linearModel({ inputShape: ["N", 3072] }), /has shape \(N, 3072\); the contract/],
    ["two-inputs", linearModel({ twoInputs: true }), /has 2 inputs \(input, input2\)/],
    ["two-outputs", linearModel({ twoOutputs: true }), /has 2 outputs \(logits, flat\)/],
    [
      "100-classes",
      linearModel({ classes: 100 }),
      /output "logits" has shape \(N, 100\), not \(N, 10\)/,
    ],
    [
      "one-row-for-the-batch",
      batchMeanModel(),
      /returned shape \(1, 10\); the contract is \(23, 10\)/,
    ],
    [
      "nan",
      linearModel({ bias: [0, 0, 0, NaN, 0, 0, 0, 0, 0, 0] }),
      /output for test image 0 contains NaN; scores must be finite/,
    ],
    [
      "infinity",
      linearModel({ bias: [0, 0, 0, 0, 0, 0, 0, 0, 0, -Infinity] }),
      /output for test image 0 contains -Infinity/,
    ],
  ];
  for (const [name, content, pattern] of cases) {
    const path = typeof content === "string" ? content : await writeModel(name, content);
    await assert.rejects(
      () => scoreModel(path, set, CIFAR10_CLASSES),
      (error: Error) => {
        assert.ok(error instanceof ModelError, `${name}: ${error.stack}`);
        assert.match(error.message, pattern, `${name}: ${error.message}`);
        assert.equal(error.message.split("\n").length, 1, `${name}: one line`);
        assert.match(error.message, /\.$/, `${name}: a sentence`);
        return true;
      },
    );
  }
});

Deno.test("an unknown operator is refused by onnxruntime with its reason", async () => {
  const proto = decodeModel(linearModel());
  proto.graph!.node![0].op_type = "Flattenn";
  const path = await writeModel("unknown-op", encodeModel(proto));
  const { set } = testSetFor("onnx-dynamic");
  await assert.rejects(
    () => scoreModel(path, set, CIFAR10_CLASSES),
    /onnxruntime cannot load .*unknown-op\.onnx: .*Flattenn/,
  );
});

Deno.test("images reach the model in NCHW order, scaled to [0, 1]", async () => {
  // The linear model's logits computed here by hand must give the scorer's predictions.
  const path = await writeModel("linear", linearModel());
  const { set } = testSetFor("onnx-dynamic");
  const r = await scoreModel(path, set, CIFAR10_CLASSES, { batchSize: 7 });
  const expected = Array.from({ length: set.length }, (_, i) => {
    const logits = Array.from({ length: 10 }, (_, c) => {
      let sum = c / 100;
      for (let p = 0; p < IMAGE_BYTES; p++) {
        sum += (Math.sin(c + p) / 100) * (set.images[i * IMAGE_BYTES + p] / 255);
      }
      return sum;
    });
    return logits.indexOf(Math.max(...logits));
  });
  assert.deepEqual(r.predictions, expected);
});
