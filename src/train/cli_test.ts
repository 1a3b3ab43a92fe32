import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import { writeBinFolder } from "../data/fake_cifar10.ts";
import { Rng } from "../random.ts";
import { tensor } from "../tensor.ts";
import { tempDir } from "../testing.ts";
import { readTrainedNetwork } from "./trained.ts";
import { savedRun } from "./trainer.ts";

const CLI = new URL("./cli.ts", import.meta.url).pathname;

async function trainCli(...args: string[]) {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { CIFAR10_DIR: "" },
  }).output();
  return { code, out: new TextDecoder().decode(stdout), err: new TextDecoder().decode(stderr) };
}

Deno.test("deno task train: person-made errors end in one sentence and exit 2", async () => {
  const empty = await tempDir();
  for (
    const [args, pattern] of [
      [["--recipe", "fast"], /unknown recipe "fast"/],
      [["--epochs", "many"], /--epochs.*not a number/],
      [["--widths", "8,8"], /four positive integers/],
      [["--lr", "-2"], /--lr must be a positive number/],
      [["--activation", "GELU"], /--activation must be one of relu, gelu, got "GELU"/],
      [["--logit-scale", "1/0"], /--logit-scale.*not a number/],
      [["--logit-scale", "0/9"], /--logit-scale must be a positive number, got 0/],
      [["--members", "0"], /--members must be a positive integer, got 0/],
      [["--members", "2", "--member", "3"], /--member must be 1 to --members \(2\), got 3/],
      [
        ["--resume", "--overwrite"],
        /--resume continues the run in --out and --overwrite replaces it/,
      ],
      [["--data", `${empty}/nowhere`], /nowhere/],
      [["--data", empty], /cifar-10-batches-bin|CIFAR-10/],
    ] as const
  ) {
    // Every case names a data folder, so none of them can start a download.
    const withData: string[] = (args as readonly string[]).includes("--data")
      ? [...args]
      : [...args, "--data", empty];
    const { code, err } = await trainCli(...withData);
    assert.equal(code, 2, `${args.join(" ")}: ${err}`);
    assert.match(err, pattern);
    assert.equal(err.trim().split("\n").length, 1, `one line, no stack trace: ${err}`);
  }
});

Deno.test("deno task train: a run ends with model.onnx scored on the test set by onnxruntime", async () => {
  const data = await tempDir(), out = await tempDir();
  await writeBinFolder(data, 16); // 80 training images, 16 test images
  const { code, out: stdout, err } = await trainCli(
    ...["--recipe", "quick", "--data", data, "--out", out, "--widths", "4,4,8,8"],
    ...["--batch-size", "8", "--val-size", "8", "--tta-flip", "true", "--tta-shift", "1"],
    ...["--logit-scale", "1/9"],
  );
  assert.equal(code, 0, err);
  assert.match(
    stdout,
    new RegExp(
      `Test accuracy of ${out}/model\\.onnx: \\d+\\.\\d\\d% on 16 images \\(with flip and shift ±1`,
    ),
  );
  assert.ok((await Deno.stat(`${out}/model.onnx`)).size > 0);
  assert.match(stdout, /model\.onnx; 0 min \d+ s of wall time in all\.\n$/);

  // Resuming goes on with the run's own settings: a flag asking for others is refused (the
  // fraction asks for what the run has).
  const resumed = await trainCli(
    ...["--resume", "--out", out, "--data", data, "--recipe", "quick", "--epochs", "3"],
    ...["--logit-scale", "1/9"],
  );
  assert.equal(resumed.code, 2, resumed.err);
  assert.equal(
    resumed.err.trim(),
    `error: --resume continues ${out} with the settings it started with, but --epochs 3 differs ` +
      `from its 1; drop it, or start a new run with --overwrite or another --out.`,
  );
});

Deno.test("deno task train: Ctrl-C mid-epoch saves a checkpoint within moments and exits 130", async () => {
  const data = await tempDir(), out = await tempDir();
  await writeBinFolder(data, 800); // 4,000 training images: an epoch of 500 batches of 8
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, "--recipe", "quick", "--data", data, "--out", out]
      .concat(["--batch-size", "8", "--train-limit", "0", "--val-size", "8"]),
    stdout: "piped",
    stderr: "piped",
    env: { CIFAR10_DIR: "" },
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let stdout = "";
  while (!stdout.includes("Training ")) {
    const { value, done } = await lines.read();
    if (done) break;
    stdout += value;
  }
  // Into the epoch (16 s on the 2-core machine), long before its end on a faster one.
  await new Promise((resolve) => setTimeout(resolve, 300));
  child.kill("SIGINT");
  const sent = performance.now();
  for (let r = await lines.read(); !r.done; r = await lines.read()) stdout += r.value;
  const { code } = await child.status;
  const waited = performance.now() - sent;
  assert.equal(code, 130, `${stdout}\n${await stderr}`);
  assert.match(
    stdout,
    /Stopped at epoch 1, batch \d+; checkpoint saved to .*Continue with --resume/,
  );
  assert.ok(waited < 5_000, `stopped ${waited.toFixed(0)} ms after Ctrl-C`);
  assert.ok((await Deno.stat(`${out}/checkpoint.safetensors`)).size > 0);
});

Deno.test("deno task train --members 2: two networks in member folders, submitted as their average", async () => {
  const data = await tempDir(), out = await tempDir();
  await writeBinFolder(data, 16); // 80 training images, 16 test images
  const args = ["--data", data, "--out", out, "--widths", "4,4,8,8", "--batch-size", "8"];
  const run = await trainCli(
    "--recipe",
    "quick",
    "--val-size",
    "8",
    "--seed",
    "3",
    "--members",
    "2",
    ...args,
  );
  assert.equal(run.code, 0, run.err);
  assert.match(
    run.out,
    /Member 1 of 2, seed 3, in .*member-1:\n[^]*Member 2 of 2, seed 4, in .*member-2:/,
  );
  assert.match(
    run.out,
    new RegExp(
      `Test accuracy of ${out}/model\\.onnx \\(the average of 2 networks\\): \\d+\\.\\d\\d% on 16 images`,
    ),
  );
  // Only the average is offered for submission.
  assert.match(run.out, /This member's model: .*member-2\/model\.onnx/);
  assert.deepEqual(run.out.match(/Model for submission: .*/g), [
    `Model for submission: ${out}/model.onnx`,
  ]);
  // Each member is a run of its own, with its seed; the first one's settings are the run's.
  const second = await savedRun(`${out}/member-2`);
  assert.equal(second.config.seed, 4);
  assert.equal(second.config.members, 2);
  assert.equal((await savedRun(out)).config.seed, 3);

  // The model is the mean of the two networks' logits.
  const a = await readTrainedNetwork(`${out}/member-1/checkpoint.safetensors`);
  const b = await readTrainedNetwork(`${out}/member-2/checkpoint.safetensors`);
  const rng = new Rng(1);
  const x = tensor(new Float32Array(2 * 3072).map(() => rng.random()), [2, 3, 32, 32]);
  const la = a.net.eval().forward(x).data.slice(), lb = b.net.eval().forward(x).data;
  assert.ok(la.some((v, i) => Math.abs(v - lb[i]) > 1e-3), "members that differ");
  const session = await ort.InferenceSession.create(`${out}/model.onnx`);
  const feed = new ort.Tensor("float32", x.data as Float32Array, x.shape);
  const got = (await session.run({ input: feed })).logits.data as Float32Array;
  await session.release();
  for (let i = 0; i < got.length; i++) assert.ok(Math.abs((la[i] + lb[i]) / 2 - got[i]) < 1e-4);

  // --resume skips a finished member and trains one that had not started.
  await Deno.remove(`${out}/member-2`, { recursive: true });
  const resumed = await trainCli("--resume", ...args.slice(0, 4));
  assert.equal(resumed.code, 0, resumed.err);
  assert.match(resumed.out, /Member 1 of 2 \(.*member-1\) has finished; it is not trained again\./);
  assert.match(resumed.out, /Member 2 of 2, seed 4, in .*member-2:\nTraining /);
  assert.equal((await savedRun(`${out}/member-2`)).epoch, 1);
});

Deno.test("deno task train --members: --resume continues a stopped member", async () => {
  const data = await tempDir(), out = await tempDir();
  await writeBinFolder(data, 400); // 2,000 training images: an epoch of 250 batches of 8
  const args = ["--recipe", "quick", "--data", data, "--widths", "4,4,8,8", "--batch-size", "8"]
    .concat(["--train-limit", "0", "--val-size", "8", "--members", "2", "--epochs", "2"]);
  // The members as the ensemble run starts them: the first finished, the second stopped.
  // (The first on a few images: what is tested is the second's resumption.)
  const first = await trainCli(
    ...args,
    "--member",
    "1",
    "--train-limit",
    "16",
    "--out",
    `${out}/member-1`,
  );
  assert.equal(first.code, 0, first.err);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args, "--member", "2", "--seed", "1", "--out", `${out}/member-2`],
    stdout: "piped",
    stderr: "null",
    env: { CIFAR10_DIR: "" },
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  // At once. The trainer sees the signal on its next turn of the event loop: within the epoch
  // (it turns every 500 ms) or, when the epoch passes faster than that on an idle machine, at
  // the checkpoint after it; either way it stops before the second epoch ends.
  for (let seen = ""; !seen.includes("Training ");) seen += (await lines.read()).value ?? "";
  child.kill("SIGINT");
  while (!(await lines.read()).done);
  assert.equal((await child.status).code, 130);

  const resumed = await trainCli("--resume", "--data", data, "--out", out);
  assert.equal(resumed.code, 0, resumed.err);
  assert.match(resumed.out, /Member 1 of 2 \(.*member-1\) has finished; it is not trained again\./);
  assert.match(
    resumed.out,
    /Resuming .*member-2\/checkpoint\.safetensors at epoch \d, batch \d+\./,
  );
  assert.match(resumed.out, /Test accuracy of .*model\.onnx \(the average of 2 networks\)/);
});
