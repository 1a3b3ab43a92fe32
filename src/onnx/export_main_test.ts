import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import { BatchNorm2D } from "../nn/norm.ts";
import { Conv2D } from "../nn/conv2d.ts";
import { Flatten } from "../nn/flatten.ts";
import { Linear } from "../nn/linear.ts";
import { GlobalAvgPool2D } from "../nn/pool.ts";
import { ReLU } from "../nn/activation.ts";
import { Residual } from "../nn/residual.ts";
import { Sequential } from "../nn/sequential.ts";
import { describeModel } from "../nn/spec.ts";
import { Rng } from "../random.ts";
import { tensor } from "../tensor.ts";
import { saveCheckpoint } from "../train/checkpoint.ts";

const MAIN = new URL("./export_main.ts", import.meta.url).pathname;

async function exportTask(...args: string[]) {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code, out: new TextDecoder().decode(stdout), err: new TextDecoder().decode(stderr) };
}

function net() {
  return new Sequential(
    new Conv2D(3, 4, 3, 2, { padding: 1, dtype: "float32" }),
    new BatchNorm2D(4, { dtype: "float32" }),
    new ReLU(),
    new Residual(new Sequential(new Conv2D(4, 4, 3, 1, { padding: 1, dtype: "float32" }))),
    new GlobalAvgPool2D(),
    new Flatten(),
    new Linear(4, 10, { dtype: "float32" }),
  );
}

Deno.test("deno task export writes a checkpoint's network as ONNX that computes the same", async () => {
  const dir = await Deno.makeTempDir();
  const model = net();
  const rng = new Rng(5);
  for (const b of model.buffers()) {
    b.value.data.forEach((_, i, a) => (a[i] = rng.uniform(0.5, 1.5)));
  }
  model.forward(tensor(new Float32Array(2 * 3072).map(() => rng.random()), [2, 3, 32, 32]));
  await saveCheckpoint(`${dir}/last.ckpt`, {
    model,
    metadata: { architecture: describeModel(model) },
  });
  const { code, out, err } = await exportTask(
    "--checkpoint",
    `${dir}/last.ckpt`,
    "--out",
    `${dir}/m.onnx`,
  );
  assert.equal(code, 0, err);
  assert.match(out, /Wrote .*m\.onnx: \d+ parameters, ONNX opset 17, dynamic batch\./);

  const x = tensor(new Float32Array(3 * 3072).map(() => rng.random()), [3, 3, 32, 32]);
  const want = model.eval().forward(x).data;
  const session = await ort.InferenceSession.create(`${dir}/m.onnx`);
  const got =
    (await session.run({ input: new ort.Tensor("float32", x.data as Float32Array, x.shape) }))
      .logits.data as Float32Array;
  await session.release();
  assert.ok(want.every((v, i) => Math.abs(v - got[i]) < 1e-4));
});

Deno.test("deno task export: each bad use ends in one sentence and exit 2", async () => {
  const dir = await Deno.makeTempDir();
  await saveCheckpoint(`${dir}/bare.ckpt`, { model: net() });
  const good = net();
  await saveCheckpoint(`${dir}/good.ckpt`, {
    model: good,
    metadata: { architecture: describeModel(good) },
  });
  await saveCheckpoint(`${dir}/other.ckpt`, {
    model: net(),
    metadata: { architecture: describeModel(new Sequential(new Linear(3, 2))) },
  });
  for (
    const [args, pattern] of [
      [[], /required option '--checkpoint <file>' not specified/],
      [["--checkpoint", `${dir}/none.ckpt`], /checkpoint .*none\.ckpt does not exist/],
      [["--checkpoint", `${dir}/bare.ckpt`], /does not record its network \(no "architecture"/],
      [
        ["--checkpoint", `${dir}/other.ckpt`],
        /other\.ckpt cannot be exported: the saved state does not fit/,
      ],
      [
        ["--checkpoint", `${dir}/bare.ckpt`, "--batch", "0"],
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
