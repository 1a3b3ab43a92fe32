import assert from "node:assert/strict";
import { UserError } from "../errors.ts";
import { Conv1D } from "../nn/conv1d.ts";
import { CrossEntropyLoss } from "../nn/loss.ts";
import type { Module, Parameter } from "../nn/module.ts";
import { Adam, AdamW } from "../optim/adam.ts";
import type { BaseOptions, Optimizer } from "../optim/optimizer.ts";
import { splitWeightDecay } from "../optim/optimizer.ts";
import { cosineAnnealingLR, linearWarmup, type Schedule } from "../optim/schedule.ts";
import { SGD } from "../optim/sgd.ts";
import { Rng } from "../random.ts";
import { clone, type Tensor, tensor, zeros } from "../tensor.ts";
import { loadCheckpoint, readCheckpoint, saveCheckpoint } from "./checkpoint.ts";
import { tempDir } from "../testing.ts";

const FEATURES = 4, CLASSES = 3, SAMPLES = 48, BATCH = 8;
const STEPS_PER_EPOCH = SAMPLES / BATCH;

/**
 * A linear classifier (N, FEATURES) → (N, CLASSES) made of a kernel-1 Conv1D, with a buffer
 * (a running mean of the logits, as BatchNorm keeps) and dropout-like noise from its own Rng,
 * so that a checkpoint must carry parameters, buffers and a generator.
 */
class TinyNet {
  fc: Conv1D;
  runningMean = zeros([CLASSES]);
  noise: Rng;
  training = true;
  constructor(seed: number) {
    this.fc = new Conv1D(FEATURES, CLASSES, 1, 1, { rng: new Rng(seed) });
    this.noise = new Rng(seed + 1);
  }
  forward(x: Tensor): Tensor {
    const [n] = x.shape;
    const y = this.fc.forward(tensor(x.data.map((v) => v * (1 + 0.01 * this.noise.normal())), [
      n,
      FEATURES,
      1,
    ]));
    for (let c = 0; c < CLASSES; c++) {
      let mean = 0;
      for (let i = 0; i < n; i++) mean += y.data[i * CLASSES + c] / n;
      this.runningMean.data[c] = 0.9 * this.runningMean.data[c] + 0.1 * mean;
    }
    return tensor(y.data, [n, CLASSES]);
  }
  backward(delta: Tensor): Tensor {
    return this.fc.backward(tensor(delta.data, [delta.shape[0], CLASSES, 1]));
  }
  parameters(): Parameter[] {
    return this.fc.parameters().map((p) => ({ ...p, name: `fc.${p.name}` }));
  }
  buffers() {
    return [{ name: "running_mean", value: this.runningMean }];
  }
  namedChildren(): [string, Module][] {
    return [];
  }
  train(mode = true): this {
    this.training = mode;
    return this;
  }
  eval(): this {
    return this.train(false);
  }
}

/** Three Gaussian blobs, linearly separable. */
function dataset(): { x: Float64Array; y: number[] } {
  const rng = new Rng(99);
  const x = new Float64Array(SAMPLES * FEATURES);
  const y: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    y.push(i % CLASSES);
    for (let f = 0; f < FEATURES; f++) {
      x[i * FEATURES + f] = (f === i % CLASSES ? 3 : 0) + 0.5 * rng.normal();
    }
  }
  return { x, y };
}

const DATA = dataset();

/** Trains epochs [from, to), shuffling with `dataRng`; returns each step's loss. */
function train<H extends BaseOptions>(
  net: TinyNet,
  opt: Optimizer<H>,
  dataRng: Rng,
  lr: Schedule,
  from: number,
  to: number,
): number[] {
  const criterion = new CrossEntropyLoss({ labelSmoothing: 0.1 });
  const losses: number[] = [];
  for (let epoch = from; epoch < to; epoch++) {
    const order = dataRng.shuffle(Array.from({ length: SAMPLES }, (_, i) => i));
    for (let b = 0; b < STEPS_PER_EPOCH; b++) {
      const idx = order.slice(b * BATCH, (b + 1) * BATCH);
      const x = zeros([BATCH, FEATURES]);
      idx.forEach((s, i) =>
        x.data.set(DATA.x.subarray(s * FEATURES, (s + 1) * FEATURES), i * FEATURES)
      );
      opt.setLr(lr(epoch * STEPS_PER_EPOCH + b));
      opt.zeroGrad();
      losses.push(criterion.forward(net.forward(x), idx.map((s) => DATA.y[s])));
      net.backward(criterion.backward());
      opt.step();
    }
  }
  return losses;
}

const EPOCHS = 6;
const schedule = linearWarmup(cosineAnnealingLR({ lr: 0.2, tMax: 30 }), { warmupSteps: 6 });

const recipes: [string, (net: TinyNet) => Optimizer<BaseOptions>][] = [
  ["SGD", (net) =>
    new SGD(splitWeightDecay(net), {
      lr: 0.1,
      momentum: 0.9,
      nesterov: true,
      weightDecay: 5e-3,
    })],
  ["Adam", (net) => new Adam(net, { lr: 0.1, amsgrad: true })],
  ["AdamW", (net) => new AdamW(net, { lr: 0.1 })],
];

Deno.test("a tiny network trains on a separable problem: its loss falls", () => {
  for (const [name, make] of recipes) {
    const net = new TinyNet(1);
    const losses = train(net, make(net), new Rng(3), schedule, 0, EPOCHS);
    const last = losses.slice(-STEPS_PER_EPOCH).reduce((a, b) => a + b) / STEPS_PER_EPOCH;
    assert.ok(last < 0.5 * losses[0], `${name}: loss ${losses[0]} → ${last}`);
  }
});

Deno.test("resuming from a checkpoint reproduces an uninterrupted run bit for bit", async () => {
  const dir = await tempDir();
  for (const [name, make] of recipes) {
    const straight = new TinyNet(1);
    const straightLosses = train(straight, make(straight), new Rng(3), schedule, 0, EPOCHS);

    const first = new TinyNet(1);
    const firstOpt = make(first);
    const dataRng = new Rng(3);
    const history = train(first, firstOpt, dataRng, schedule, 0, 3);
    const path = `${dir}/${name}.ckpt`;
    await saveCheckpoint(path, {
      model: first,
      optimizer: firstOpt,
      rngs: { data: dataRng, noise: first.noise },
      metadata: { epoch: 3, history, recipe: name },
    });

    // A fresh process: other initial weights, other generators, a new optimizer.
    const resumed = new TinyNet(42);
    const resumedOpt = make(resumed);
    const resumedRng = new Rng(1234);
    const { metadata } = await loadCheckpoint(path, {
      model: resumed,
      optimizer: resumedOpt,
      rngs: { data: resumedRng, noise: resumed.noise },
    });
    const meta = metadata as { epoch: number; history: number[]; recipe: string };
    assert.equal(meta.recipe, name);
    const losses = [
      ...meta.history,
      ...train(resumed, resumedOpt, resumedRng, schedule, meta.epoch, EPOCHS),
    ];
    assert.deepEqual(losses, straightLosses, `${name}: the loss history`);
    assert.deepEqual(resumed.fc.W.data, straight.fc.W.data, `${name}: the weights`);
    assert.deepEqual(resumed.fc.b!.data, straight.fc.b!.data, `${name}: the bias`);
    assert.deepEqual(resumed.runningMean.data, straight.runningMean.data, `${name}: the buffer`);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a checkpoint holds float32 models and is a valid safetensors file", async () => {
  const dir = await tempDir();
  const path = `${dir}/f32.ckpt`;
  const conv = new Conv1D(3, 2, 2, 1, { dtype: "float32" });
  await saveCheckpoint(path, { model: conv, metadata: { note: "no optimizer" } });
  const bytes = await Deno.readFile(path);
  const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal(headerLength % 8, 0);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  assert.deepEqual(header["model.weight"], {
    dtype: "F32",
    shape: [2, 3, 2],
    data_offsets: [0, 48],
  });
  assert.deepEqual(header["model.bias"], { dtype: "F32", shape: [2], data_offsets: [48, 56] });
  assert.equal(bytes.length, 8 + headerLength + 56);
  const read = await readCheckpoint(path);
  assert.deepEqual(read.model.get("weight")!.data, conv.W.data);
  assert.equal(read.optimizer, null);
  assert.deepEqual(read.metadata, { note: "no optimizer" });
  await Deno.remove(dir, { recursive: true });
});

/** Asserts that `load` fails with one UserError sentence naming `path` and matching `pattern`. */
async function rejects(load: () => Promise<unknown>, path: string, pattern: RegExp) {
  await assert.rejects(load, (e: Error) => {
    assert.ok(e instanceof UserError, `expected a UserError, got ${e}`);
    assert.ok(e.message.includes(path), `names the file: ${e.message}`);
    assert.match(e.message, pattern);
    assert.ok(!e.message.includes("\n"), "one line");
    return true;
  });
}

Deno.test("a bad, truncated or mismatched checkpoint is one UserError naming the file, and changes nothing", async () => {
  const dir = await tempDir();
  const good = `${dir}/good.ckpt`;
  const net = new TinyNet(1);
  const opt = new SGD(net, { lr: 0.1, momentum: 0.9 });
  train(net, opt, new Rng(3), schedule, 0, 1);
  await saveCheckpoint(good, { model: net, optimizer: opt, rngs: { data: new Rng(3) } });
  const bytes = await Deno.readFile(good);

  const write = async (name: string, data: Uint8Array) => {
    await Deno.writeFile(`${dir}/${name}`, data);
    return `${dir}/${name}`;
  };
  const target = new TinyNet(7);
  const targetOpt = new SGD(target, { lr: 0.5, momentum: 0.9 });
  const before = clone(target.fc.W);
  const load = (path: string, extra: Partial<Parameters<typeof loadCheckpoint>[1]> = {}) => () =>
    loadCheckpoint(path, { model: target, optimizer: targetOpt, ...extra });

  await rejects(load(`${dir}/missing.ckpt`), `${dir}/missing.ckpt`, /does not exist/);
  const truncated = await write("truncated.ckpt", bytes.subarray(0, bytes.length - 10));
  await rejects(load(truncated), truncated, /damaged \(it is truncated/);
  const short = await write("short.ckpt", bytes.subarray(0, 5));
  await rejects(load(short), short, /damaged/);
  const cutHeader = await write("cut-header.ckpt", bytes.subarray(0, 40));
  await rejects(load(cutHeader), cutHeader, /damaged \(its header claims/);
  const flipped = bytes.slice();
  flipped[flipped.length - 3] ^= 0x10;
  const corrupt = await write("corrupt.ckpt", flipped);
  await rejects(load(corrupt), corrupt, /does not match its checksum/);
  const text = await write(
    "notes.ckpt",
    new TextEncoder().encode("\x10\0\0\0\0\0\0\0not json at all!"),
  );
  await rejects(load(text), text, /not a checkpoint written by this project/);

  const other = `${dir}/other.ckpt`;
  await saveCheckpoint(other, { model: new Conv1D(FEATURES, CLASSES + 1, 1) });
  await rejects(load(other), other, /cannot be loaded: .*fc\.weight/);
  await rejects(load(good, { optimizer: new Adam(target) }), good, /SGD state is not for Adam/);
  await rejects(load(good, { rngs: { noise: new Rng(1) } }), good, /generator "noise"/);
  const noOptimizer = `${dir}/no-optimizer.ckpt`;
  await saveCheckpoint(noOptimizer, { model: net });
  await rejects(load(noOptimizer), noOptimizer, /without an optimizer state/);

  assert.deepEqual(target.fc.W.data, before.data, "the model is unchanged");
  assert.equal(targetOpt.paramGroups[0].lr, 0.5, "the optimizer is unchanged");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("saveCheckpoint replaces atomically and a failed save leaves the old file intact", async () => {
  const dir = await tempDir();
  const path = `${dir}/last.ckpt`;
  const net = new TinyNet(1);
  await saveCheckpoint(path, { model: net, metadata: { epoch: 1 } });
  await saveCheckpoint(path, { model: net, metadata: { epoch: 2 } });
  assert.deepEqual((await readCheckpoint(path)).metadata, { epoch: 2 });

  // Metadata JSON cannot hold fails before a byte is written.
  await assert.rejects(() => saveCheckpoint(path, { model: net, metadata: { n: 1n } }));
  assert.deepEqual((await readCheckpoint(path)).metadata, { epoch: 2 });
  const missingDir = `${dir}/no/such/dir/last.ckpt`;
  await rejects(() => saveCheckpoint(missingDir, { model: net }), missingDir, /cannot write/);
  const names = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  assert.deepEqual(names, ["last.ckpt"], "no temporary files are left behind");
  await Deno.remove(dir, { recursive: true });
});
