import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import type { Module } from "../nn/module.ts";
import { Linear } from "../nn/linear.ts";
import { BatchNorm2D } from "../nn/norm.ts";
import { Sequential } from "../nn/sequential.ts";
import { Rng } from "../random.ts";
import { tensor } from "../tensor.ts";
import { saveCheckpoint } from "../train/checkpoint.ts";
import { flipHorizontal } from "../train/evaluate.ts";
import { buildModel } from "../train/models.ts";
import { recipe, type TrainConfig } from "../train/recipes.ts";
import { tempDir } from "../testing.ts";

const MAIN = new URL("./export_main.ts", import.meta.url).pathname;

async function exportTask(...args: string[]) {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code, out: new TextDecoder().decode(stdout), err: new TextDecoder().decode(stderr) };
}

/** A small trainer network and the config its checkpoint records, as `deno task train` saves. */
function trained(ttaFlip: boolean): { model: Module; config: TrainConfig } {
  const config: TrainConfig = {
    ...recipe("quick"),
    arch: "resnet",
    widths: [4, 4, 8, 8],
    logitScale: 0.5, // a layer the checkpoint's weights do not show
    activation: "gelu", // nor do its activations
    ttaFlip,
  };
  const model = buildModel({ ...config, rng: new Rng(3) });
  const rng = new Rng(5);
  // Running statistics as training leaves them, so that BatchNorm's export is exercised (means
  // near 0: far above, every ReLU after them gives 0, and so would the logits).
  for (const b of model.buffers()) {
    const [low, high] = b.name.endsWith("running_var") ? [0.5, 1.5] : [-0.2, 0.2];
    b.value.data.forEach((_, i, a) => (a[i] = rng.uniform(low, high)));
  }
  return { model, config };
}

async function onnxLogits(path: string, x: ReturnType<typeof tensor>): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(path);
  try {
    const feed = new ort.Tensor("float32", Float32Array.from(x.data), x.shape);
    return (await session.run({ input: feed })).logits.data as Float32Array;
  } finally {
    await session.release();
  }
}

Deno.test("deno task export writes a trainer checkpoint's network, flip averaging included", async () => {
  const dir = await tempDir();
  const { model, config } = trained(true);
  await saveCheckpoint(`${dir}/checkpoint.safetensors`, { model, metadata: { config } });
  const rng = new Rng(7);
  const x = tensor(new Float32Array(3 * 3072).map(() => rng.random()), [3, 3, 32, 32]);
  model.eval();
  // Copies: a network's output is only valid until its next forward (src/nn/buffers.ts).
  const plain = model.forward(x).data.slice();
  const mirrored = model.forward(flipHorizontal(x)).data.slice();
  assert.ok(Math.max(...plain) - Math.min(...plain) > 0.1, "logits that differ");

  for (const [flags, want] of [[[], "with"], [["--no-tta"], "without"]] as const) {
    const out = `${dir}/m-${want}.onnx`;
    const { code, out: printed, err } = await exportTask(
      "--checkpoint",
      `${dir}/checkpoint.safetensors`,
      "--out",
      out,
      ...flags,
    );
    assert.equal(code, 0, err);
    assert.match(printed, /Wrote .*\.onnx: \d+ parameters, ONNX opset 17, dynamic batch/);
    assert.equal(printed.includes("flip averaging built in"), want === "with");
    const got = await onnxLogits(out, x);
    const expected = want === "with" ? plain.map((v, i) => (v + mirrored[i]) / 2) : plain;
    let worst = 0;
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(expected[i] - got[i]));
    assert.ok(worst < 1e-4, `${want} flip: max abs difference ${worst}`);
  }
});

Deno.test("deno task export given two checkpoints writes the average of their networks", async () => {
  const dir = await tempDir();
  const a = trained(true), b = trained(true);
  // A second run: other weights, and another network (ReLU, another logit scale).
  b.config = { ...b.config, activation: "relu", logitScale: 1, seed: 1 };
  b.model = buildModel({ ...b.config, rng: new Rng(4) });
  await saveCheckpoint(`${dir}/a.ckpt`, { model: a.model, metadata: { config: a.config } });
  await saveCheckpoint(`${dir}/b.ckpt`, { model: b.model, metadata: { config: b.config } });
  const out = `${dir}/both.onnx`;
  const args = ["--checkpoint", `${dir}/a.ckpt`, "--checkpoint", `${dir}/b.ckpt`, "--out", out];
  const { code, out: printed, err } = await exportTask(...args);
  assert.equal(code, 0, err);
  assert.match(printed, /Wrote .*both\.onnx: the average of 2 networks, \d+ parameters/);
  const rng = new Rng(7);
  const x = tensor(new Float32Array(2 * 3072).map(() => rng.random()), [2, 3, 32, 32]);
  // Each network's flip-averaged logits (copies: an output is valid until the next forward).
  const logits = (model: Module) => {
    model.eval();
    const plain = model.forward(x).data.slice();
    const mirrored = model.forward(flipHorizontal(x)).data;
    return plain.map((v, i) => (v + mirrored[i]) / 2);
  };
  const la = logits(a.model), lb = logits(b.model);
  assert.ok(la.some((v, i) => Math.abs(v - lb[i]) > 0.01), "networks that differ");
  const got = await onnxLogits(out, x);
  for (let i = 0; i < got.length; i++) assert.ok(Math.abs((la[i] + lb[i]) / 2 - got[i]) < 1e-4);

  // Runs evaluated with different test-time views cannot share one averaging.
  await saveCheckpoint(`${dir}/c.ckpt`, {
    model: b.model,
    metadata: { config: { ...b.config, ttaFlip: false } },
  });
  const mixed = ["--checkpoint", `${dir}/a.ckpt`, "--checkpoint", `${dir}/c.ckpt`, "--out", out];
  const refused = await exportTask(...mixed);
  assert.equal(refused.code, 2);
  assert.match(refused.err, /a\.ckpt and .*c\.ckpt were evaluated with different test-time/);
  assert.equal((await exportTask(...mixed, "--no-tta")).code, 0);
});

Deno.test("deno task export reads an older run's checkpoint, whose whitened stem has a BatchNorm", async () => {
  const dir = await tempDir();
  // Runs before the stemNorm field had a BatchNorm after the stem, whitened or not; before the
  // activation field, ReLUs.
  const { stemNorm: _, activation: __, ...older } = {
    ...recipe("quick"),
    widths: [4, 4, 8, 8],
  } as TrainConfig;
  const model = buildModel({ ...older, stemNorm: true, rng: new Rng(3) });
  assert.ok(model.layers[1] instanceof BatchNorm2D);
  await saveCheckpoint(`${dir}/checkpoint.safetensors`, { model, metadata: { config: older } });
  const out = `${dir}/m.onnx`;
  const checkpoint = `${dir}/checkpoint.safetensors`;
  const { code, err } = await exportTask("--checkpoint", checkpoint, "--out", out, "--no-tta");
  assert.equal(code, 0, err);
  const rng = new Rng(7);
  const x = tensor(new Float32Array(2 * 3072).map(() => rng.random()), [2, 3, 32, 32]);
  const expected = model.eval().forward(x).data, got = await onnxLogits(out, x);
  assert.ok(Math.max(...expected) - Math.min(...expected) > 0.005, "logits that differ");
  for (let i = 0; i < got.length; i++) assert.ok(Math.abs(expected[i] - got[i]) < 1e-4);
});

Deno.test("deno task export: each bad use ends in one sentence and exit 2", async () => {
  const dir = await tempDir();
  const { model, config } = trained(false);
  await saveCheckpoint(`${dir}/good.ckpt`, { model, metadata: { config } });
  await saveCheckpoint(`${dir}/bare.ckpt`, { model });
  await saveCheckpoint(`${dir}/other.ckpt`, {
    model: new Sequential(new Linear(3, 2)),
    metadata: { config },
  });
  await saveCheckpoint(`${dir}/odd.ckpt`, {
    model,
    metadata: { config: { ...config, arch: "mlp" } },
  });
  for (
    const [args, pattern] of [
      [[], /required option '--checkpoint <file>' not specified/],
      [["--checkpoint", `${dir}/none.ckpt`], /checkpoint .*none\.ckpt does not exist/],
      [["--checkpoint", `${dir}/bare.ckpt`], /does not record its network \(no trainer "config"/],
      [
        ["--checkpoint", `${dir}/odd.ckpt`],
        /records a network that cannot be built: --arch must be/,
      ],
      [
        ["--checkpoint", `${dir}/other.ckpt`],
        /other\.ckpt cannot be exported: the saved state does not fit/,
      ],
      [
        ["--checkpoint", `${dir}/good.ckpt`, "--batch", "0"],
        /--batch must be a positive whole number/,
      ],
      [
        ["--checkpoint", `${dir}/good.ckpt`, "--out", `${dir}/no/such/m.onnx`],
        /cannot write the model to .*no\/such\/m\.onnx/,
      ],
    ] as const
  ) {
    const { code, err } = await exportTask(...args);
    assert.equal(code, 2, `${args}: ${err}`);
    assert.match(err, pattern);
    assert.equal(err.trim().split("\n").length, 1, `one line: ${err}`);
  }
});
