import assert from "node:assert/strict";
import { writeBinFolder } from "../data/fake_cifar10.ts";
import { tempDir } from "../testing.ts";

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
  await new Promise((resolve) => setTimeout(resolve, 1000)); // well into the epoch
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
