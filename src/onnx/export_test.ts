import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import { GELU, ReLU } from "../nn/activation.ts";
import { Conv2D } from "../nn/conv2d.ts";
import { Dropout } from "../nn/dropout.ts";
import { Flatten } from "../nn/flatten.ts";
import { Linear } from "../nn/linear.ts";
import { Layer, type Module } from "../nn/module.ts";
import { BatchNorm2D } from "../nn/norm.ts";
import { AvgPool2D, GlobalAvgPool2D, MaxPool2D } from "../nn/pool.ts";
import { Residual } from "../nn/residual.ts";
import { Ensemble } from "../nn/ensemble.ts";
import { Scale } from "../nn/scale.ts";
import { Sequential } from "../nn/sequential.ts";
import { Rng } from "../random.ts";
import { CIFAR10_CLASSES } from "../data/cifar10.ts";
import { toTensor } from "../data/to_tensor.ts";
import { clone, type DType, type Tensor, tensor } from "../tensor.ts";
import { flipHorizontal, ttaViews } from "../train/evaluate.ts";
import { exportOnnx, INPUT_NAME, OPSET, OUTPUT_NAME, saveOnnx } from "./export.ts";
import { PRODUCER_NAME } from "./graph.ts";
import { decodeModel } from "./proto.ts";
import { checkContract, scoreModel } from "./score.ts";
import { tempDir, tempFile } from "../testing.ts";

/** A plain VGG-style net with every layer kind the exporter maps. */
function plainNet(dtype: DType): Module {
  return new Sequential(
    new Conv2D(3, 8, 3, 1, { padding: 1, dtype }),
    new BatchNorm2D(8, { dtype }),
    new ReLU(),
    new MaxPool2D(2),
    new Conv2D(8, 12, 3, 2, { padding: 1, bias: false, dtype }),
    new BatchNorm2D(12, { dtype, affine: false }),
    new GELU(),
    new AvgPool2D(3, 2, 1, { countIncludePad: false }),
    new Dropout(0.3),
    new Scale(1.5),
    new Flatten(),
    new Linear(12 * 4 * 4, 32, { dtype }),
    new ReLU(),
    new Linear(32, 10, { dtype }),
  );
}

/** A small ResNet: a stem, an identity block, a projecting block, global pooling. */
function residualNet(dtype: DType): Module {
  const block = (cin: number, cout: number, stride: number) =>
    new Sequential(
      new Residual(
        new Sequential(
          new Conv2D(cin, cout, 3, stride, { padding: 1, bias: false, dtype }),
          new BatchNorm2D(cout, { dtype }),
          new ReLU(),
          new Conv2D(cout, cout, 3, 1, { padding: 1, bias: false, dtype }),
          new BatchNorm2D(cout, { dtype }),
        ),
        cin === cout && stride === 1 ? null : new Sequential(
          new Conv2D(cin, cout, 1, stride, { bias: false, dtype }),
          new BatchNorm2D(cout, { dtype }),
        ),
      ),
      new ReLU(),
    );
  return new Sequential(
    new Conv2D(3, 8, 3, 1, { padding: 1, dtype }),
    new BatchNorm2D(8, { dtype }),
    new ReLU(),
    block(8, 8, 1),
    block(8, 16, 2),
    new GlobalAvgPool2D(),
    new Flatten(),
    new Linear(16, 10, { dtype }),
  );
}

/** Gives BatchNorm non-trivial running statistics and affine parameters, as training would. */
function randomiseState(net: Module, rng: Rng): void {
  for (const b of net.buffers()) {
    for (let i = 0; i < b.value.data.length; i++) {
      b.value.data[i] = b.name.endsWith("running_var")
        ? rng.uniform(0.5, 2)
        : rng.uniform(-0.5, 0.5);
    }
  }
  for (const p of net.parameters()) {
    if (/^\d+\.(weight|bias)$|\.\d+\.(weight|bias)$/.test(p.name) && p.value.shape.length === 1) {
      for (let i = 0; i < p.value.data.length; i++) p.value.data[i] += rng.uniform(-0.3, 0.3);
    }
  }
}

function randomImages(rng: Rng, n: number, dtype: DType): Tensor {
  const data = dtype === "float32" ? new Float32Array(n * 3072) : new Float64Array(n * 3072);
  for (let i = 0; i < data.length; i++) data[i] = rng.random();
  return tensor(data, [n, 3, 32, 32]);
}

async function runOnnx(bytes: Uint8Array, x: Tensor): Promise<ort.Tensor> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const feed = new ort.Tensor("float32", Float32Array.from(x.data), x.shape);
    return (await session.run({ [INPUT_NAME]: feed }))[OUTPUT_NAME] as ort.Tensor;
  } finally {
    await session.release();
  }
}

/** Both nets above, averaged. */
function ensembleNet(dtype: DType): Module {
  return new Ensemble([plainNet(dtype), residualNet(dtype)]);
}

for (
  const [label, build] of [
    ["plain", plainNet],
    ["residual", residualNet],
    ["ensemble", ensembleNet],
  ] as const
) {
  for (const dtype of ["float32", "float64"] as const) {
    Deno.test(`a ${label} ${dtype} net exported runs in onnxruntime as in TypeScript`, async () => {
      const rng = new Rng(label.length * 10 + dtype.length);
      const net = build(dtype);
      randomiseState(net, rng);
      net.train(); // export must use evaluation mode and give the mode back
      const bytes = exportOnnx(net);
      assert.equal(net.training, true);
      const x = randomImages(rng, 5, dtype);
      net.eval();
      const want = net.forward(x);
      const got = await runOnnx(bytes, x);
      assert.deepEqual(got.dims, [5, 10]);
      let worst = 0;
      for (let i = 0; i < want.data.length; i++) {
        worst = Math.max(worst, Math.abs(want.data[i] - (got.data as Float32Array)[i]));
      }
      assert.ok(worst < 1e-4, `max abs difference ${worst}`);
      // The logits are not all alike, so the comparison means something.
      assert.ok(Math.max(...want.data) - Math.min(...want.data) > 0.1);
    });
  }
}

Deno.test("ttaFlip builds in the average with the mirror image, as the trainer evaluates", async () => {
  const rng = new Rng(9);
  const net = residualNet("float32");
  randomiseState(net, rng);
  const x = randomImages(rng, 3, "float32");
  const got = await runOnnx(exportOnnx(net, { ttaFlip: true }), x);
  net.eval();
  // A copy: a network's output is only valid until its next forward (src/nn/buffers.ts).
  const a = net.forward(x).data.slice();
  const b = net.forward(flipHorizontal(x)).data;
  assert.deepEqual(got.dims, [3, 10]);
  const out = got.data as Float32Array;
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs((a[i] + b[i]) / 2 - out[i]));
  assert.ok(worst < 1e-4, `max abs difference ${worst}`);
  // The mirror matters: without it the logits differ.
  const plain = (await runOnnx(exportOnnx(net), x)).data as Float32Array;
  assert.ok(plain.some((v, i) => Math.abs(v - out[i]) > 1e-3));
});

Deno.test("the exported model names its producer, opset, nodes and state_dict keys", () => {
  const net = residualNet("float32");
  const proto = decodeModel(exportOnnx(net, { docString: "test run" }));
  assert.equal(proto.producer_name, PRODUCER_NAME);
  assert.equal(proto.doc_string, "test run");
  assert.deepEqual(proto.opset_import, [{ domain: "", version: OPSET }]);
  const graph = proto.graph!;
  const names = graph.initializer!.map((t) => t.name);
  for (const p of [...net.parameters(), ...net.buffers()]) {
    assert.ok(names.includes(p.name), p.name);
  }
  const ops = new Set(graph.node!.map((n) => n.op_type));
  assert.deepEqual([...ops].sort(), [
    "Add",
    "BatchNormalization",
    "Conv",
    "Flatten",
    "Gemm",
    "GlobalAveragePool",
    "Relu",
  ]);
  assert.deepEqual(graph.node!.map((n) => n.name).slice(0, 3), ["0", "1", "2"]);
  assert.equal(graph.output![0].name, OUTPUT_NAME);
  // Dropout leaves no node.
  const plain = decodeModel(exportOnnx(plainNet("float32"))).graph!;
  assert.ok(!plain.node!.some((n) => n.name === "8"));
  assert.ok(plain.node!.some((n) => n.op_type === "Erf"));
  assert.equal(plain.node!.find((n) => n.name === "9")?.op_type, "Mul", "Scale is a Mul");
});

Deno.test("export meets the submission contract, dynamic or at a fixed batch", async () => {
  for (const batch of [null, 4]) {
    const session = await ort.InferenceSession.create(exportOnnx(plainNet("float32"), { batch }));
    assert.deepEqual(checkContract(session), {
      inputName: INPUT_NAME,
      outputName: OUTPUT_NAME,
      fixedBatch: batch,
    });
    await session.release();
  }
});

Deno.test("Flatten over other dims becomes a Reshape that keeps the batch dynamic", async () => {
  const net = new Sequential(
    new Conv2D(3, 2, 1, 1, { dtype: "float32" }),
    new Flatten(2),
    new Flatten(),
    new Linear(2048, 10, { dtype: "float32" }),
  );
  const x = randomImages(new Rng(3), 3, "float32");
  const got = await runOnnx(exportOnnx(net), x);
  const want = net.eval().forward(x);
  const out = got.data as Float32Array;
  assert.ok(Array.from(want.data).every((v, i) => Math.abs(v - out[i]) < 1e-4));
});

Deno.test("a layer without an ONNX form is named in the error", () => {
  class Square extends Layer {
    forward(x: Tensor) {
      return x;
    }
    backward(d: Tensor) {
      return d;
    }
  }
  assert.throws(
    () => exportOnnx(new Sequential(new ReLU(), new Square())),
    /Square at "1" has no ONNX form/,
  );
});

Deno.test("onnx.checker.check_model accepts the exported models", async () => {
  const probe = await new Deno.Command("/usr/bin/python3", {
    args: ["-c", "import onnx"],
    stdout: "null",
    stderr: "null",
  }).output().catch(() => null);
  if (!probe?.success) {
    console.log(
      "skipped: /usr/bin/python3 with the onnx package is not installed (apt-get install python3-onnx)",
    );
    return;
  }
  const dir = await tempDir();
  for (const [name, build] of [["plain", plainNet], ["residual", residualNet]] as const) {
    const path = `${dir}/${name}.onnx`;
    await saveOnnx(build("float32"), path, { ttaFlip: name === "residual" });
    const { success, stderr } = await new Deno.Command("/usr/bin/python3", {
      args: [
        "-c",
        "import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)",
        path,
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.ok(success, `${name}: ${new TextDecoder().decode(stderr)}`);
  }
});

Deno.test("scoring an exported net predicts what the TypeScript net predicts", async () => {
  // The check that grade --model reports the TypeScript model's own accuracy, on
  // synthetic images: every image whose top two logits are clearly apart gets the same class.
  const rng = new Rng(42);
  const n = 40;
  // Each image a random colour plus noise.
  const colours = Array.from({ length: n * 3 }, () => rng.int(256));
  const images = Uint8Array.from(
    { length: n * 3072 },
    (_, p) => Math.min(255, Math.max(0, colours[Math.floor(p / 1024)] + rng.int(61) - 30)),
  );
  const x = clone(toTensor(images, n), "float64");
  // A random net's class scores barely depend on its input unless its features are centred:
  // BatchNorm's running statistics are taken from these images (momentum 1), and the head
  // has no bias, so the scores follow each image's colour.
  const net = new Sequential(
    new Conv2D(3, 16, 3, 1, { padding: 1 }),
    new BatchNorm2D(16, { momentum: 1 }),
    new GELU(),
    new Conv2D(16, 10, 1, 1, { bias: false }),
    new GlobalAvgPool2D(),
    new Flatten(),
  );
  net.train().forward(x);
  const path = await tempFile({ suffix: ".onnx" });
  await saveOnnx(net, path);
  const labels = Uint8Array.from({ length: n }, (_, i) => i % 10);
  const report = await scoreModel(path, { images, labels, length: n }, CIFAR10_CLASSES, {
    batchSize: 16,
  });
  const logits = net.eval().forward(x).data;
  let compared = 0;
  for (let i = 0; i < n; i++) {
    const row = Array.from(logits.subarray(i * 10, i * 10 + 10));
    const sorted = [...row].sort((a, b) => b - a);
    if (sorted[0] - sorted[1] < 1e-3) continue;
    assert.equal(report.predictions[i], row.indexOf(sorted[0]), `image ${i}`);
    compared++;
  }
  assert.ok(compared >= n / 2, `only ${compared} images without a near tie`);
  assert.ok(new Set(report.predictions).size >= 5, `the predictions vary: ${report.predictions}`);
});

Deno.test("ttaShift builds in the shifted views too, weighted as the trainer's evaluate weighs them", async () => {
  const rng = new Rng(10);
  // Flatten + Linear, not global pooling: its logits change much when the image moves.
  const net = plainNet("float32");
  randomiseState(net, rng);
  const x = randomImages(rng, 3, "float32");
  const got = (await runOnnx(exportOnnx(net, { ttaFlip: true, ttaShift: 1 }), x))
    .data as Float32Array;
  net.eval();
  const views = ttaViews(x, { flip: true, shift: 1 });
  assert.equal(views.length, 6);
  const want = new Float32Array(got.length);
  for (const { images, weight } of views) {
    net.forward(images).data.forEach((v, i) => want[i] += weight * v);
  }
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(want[i] - got[i]));
  assert.ok(worst < 1e-4, `max abs difference ${worst}`);
  const flipOnly = (await runOnnx(exportOnnx(net, { ttaFlip: true }), x)).data as Float32Array;
  assert.ok(flipOnly.some((v, i) => Math.abs(v - got[i]) > 1e-3), "the shifted views matter");
});
