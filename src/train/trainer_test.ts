import assert from "node:assert/strict";
import type { ImageSet } from "../data/cifar10.ts";
import { UserError } from "../errors.ts";
import { setOutputArena } from "../kernels/arena.ts";
import { ReLU } from "../nn/activation.ts";
import { Conv2D } from "../nn/conv2d.ts";
import { BatchNorm2D } from "../nn/norm.ts";
import { stateDict } from "../nn/state.ts";
import { Cifar10Loader } from "../data/loader.ts";
import type { Sequential } from "../nn/sequential.ts";
import { Rng } from "../random.ts";
import { clone, zeros } from "../tensor.ts";
import { recalibrateBatchNorm } from "./recalibrate.ts";
import { readCheckpoint } from "./checkpoint.ts";
import { checkConfig, recipe, type TrainConfig } from "./recipes.ts";
import { train, type TrainOptions } from "./trainer.ts";
import { readTrainedNetwork } from "./trained.ts";
import { whiteningFilters } from "./whitening.ts";
import { tempDir } from "../testing.ts";

/** Two easy classes: reddish and bluish noise, so a tiny net can learn them in a few steps. */
function colourSet(n: number, seed: number): ImageSet {
  const rng = new Rng(seed);
  const images = new Uint8Array(n * 3072), labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 2;
    for (let c = 0; c < 3; c++) {
      const base = c === (labels[i] ? 2 : 0) ? 170 : 60;
      for (let p = 0; p < 1024; p++) images[i * 3072 + c * 1024 + p] = base + rng.int(60);
    }
  }
  return { images, labels, length: n };
}

const TINY: TrainConfig = {
  ...recipe("quick"),
  stemNorm: false, // the whitened stem alone, fixed, and no input gradient after it
  widths: [4, 4, 8, 8],
  epochs: 4,
  batchSize: 8,
  lr: 0.05,
  valSize: 0,
  cropPadding: 2,
  lookahead: 0.95, // so that resuming covers the slow weights too
  identityInit: true,
  bnWeight: false, // and BatchNorm's scale frozen at 1 across the checkpoint
};
const data = { train: colourSet(64, 1), val: colourSet(32, 2), test: colourSet(32, 3) };
const quiet = { log: () => {}, progress: false };

async function run(options: Partial<TrainOptions> & { outDir: string }) {
  return await train({ config: TINY, data, ...quiet, ...options });
}

function weights(model: Parameters<typeof stateDict>[0]): number[][] {
  return [...stateDict(model).values()].map((t) => [...t.data]);
}

Deno.test("train learns a separable problem and writes its files", async () => {
  const outDir = await tempDir();
  const result = await run({ outDir });
  assert.equal(result.history.length, 4);
  assert.ok(!result.interrupted);
  const [first, , , last] = result.history;
  assert.ok(last.trainLoss < first.trainLoss, `loss fell: ${first.trainLoss} -> ${last.trainLoss}`);
  assert.ok(result.test!.accuracy >= 0.9, `test accuracy ${result.test!.accuracy}`);
  assert.ok(last.valAccuracy! >= 0.9);
  for (const file of Object.values(result.files).filter((f) => !f.endsWith(".onnx"))) {
    assert.ok((await Deno.stat(file)).size > 0, file);
  }
  const csv = (await Deno.readTextFile(result.files.csv)).trim().split("\n");
  assert.equal(csv.length, 5);
  assert.ok(csv[0].startsWith("epoch,trainLoss,trainAccuracy,valLoss,valAccuracy"));
  assert.match(await Deno.readTextFile(result.files.curves), /<svg[\s\S]*<polyline/);
  const saved = await readCheckpoint(result.files.checkpoint);
  assert.equal((saved.metadata as { epoch: number }).epoch, 4);
  // The whitened stem stays as the data set it, with no BatchNorm after it, and the first
  // stage's conv computes no input gradient since nothing before it learns.
  const [stem, afterStem, firstStage] = result.model.layers;
  const { weight, bias } = whiteningFilters(data.train, 4);
  assert.ok(stem instanceof Conv2D && firstStage instanceof Conv2D);
  assert.deepEqual([...stem.W.data], [...weight]);
  assert.deepEqual([...stem.b!.data], [...bias]);
  assert.ok(afterStem instanceof ReLU);
  assert.equal(firstStage.inputGrad, false);
  // bnWeight false: every BatchNorm's scale is still 1.
  const norms = result.model.layers.filter((l) => l instanceof BatchNorm2D);
  assert.equal(norms.length, 6);
  assert.ok(norms.every((bn) => bn.weight!.data.every((v) => v === 1)));
});

Deno.test("the test accuracy is the exported file's when a scorer is given, else the network's", async () => {
  const lines: string[] = [];
  const events: string[] = [];
  const exportModel = async (_: unknown, path: string) => {
    await Deno.writeTextFile(path, "model");
    events.push(`export ${path}`);
  };
  const scored = await run({
    outDir: await tempDir(),
    log: (line) => lines.push(line),
    exportModel,
    scoreModel: async (path) => {
      events.push(`score ${path}: ${await Deno.readTextFile(path)}`);
      return 0.25;
    },
  });
  const model = scored.files.model;
  assert.deepEqual(events, [`export ${model}`, `score ${model}: model`]);
  assert.equal(scored.test!.accuracy, 0.25);
  assert.ok(lines.includes(`Test accuracy of ${model}: 25.00% on 32 images.`), lines.join("\n"));
  // Each epoch's line but the last says how long the rest of the run will take.
  const epochs = lines.filter((l) => l.startsWith("epoch "));
  assert.equal(epochs.length, 4);
  epochs.slice(0, 3).forEach((l) => assert.match(l, /img\/s {2}\d+\.\ds {2}about 0 min left$/));
  assert.match(epochs[3], /^epoch 4\/4 .*img\/s {2}\d+\.\ds$/);

  // A scorer that fails (onnxruntime refusing the file) leaves the network's own evaluation.
  lines.length = 0;
  const fellBack = await run({
    outDir: await tempDir(),
    log: (line) => lines.push(line),
    exportModel,
    scoreModel: () => Promise.reject(new UserError("onnxruntime could not load it.")),
  });
  assert.ok(fellBack.test!.accuracy >= 0.9);
  assert.ok(
    lines.some((l) =>
      /^Could not score .*model\.onnx \(onnxruntime could not load it\); evaluating/.test(l)
    ),
    lines.join("\n"),
  );
  assert.ok(lines.some((l) => /^Test accuracy: \d+\.\d\d% on 32 images\.$/.test(l)));
});

Deno.test("the validation and test passes take no memory beyond the training step's", async () => {
  // The evaluations (36 images: four full batches and one of four) must take none beyond the
  // training's (the strong network's training buffers nearly fill the arena).
  const training = await arenaBytes(TINY, false);
  assert.ok(training > 0);
  assert.equal(await arenaBytes(TINY, true), training);
});

Deno.test("--accumulate: a batch taken in passes costs one pass's memory, evaluations included", async () => {
  // Batches of 16 in two passes take what batches of 8 take: the passes, the validation and
  // the test run at 8 images.
  const config = { ...TINY, batchSize: 16, accumulate: 2 };
  assert.equal(await arenaBytes(config, true), await arenaBytes(TINY, true));
  const lines: string[] = [];
  const result = await run({ outDir: await tempDir(), config, log: (l) => lines.push(l) });
  assert.match(lines[0], /for 4 epochs of 4 batches of 16, each in 2 passes\.$/);
  assert.ok(result.test!.accuracy >= 0.9, `test accuracy ${result.test!.accuracy}`);
  assert.throws(
    () => checkConfig({ ...TINY, accumulate: 9 }),
    /--accumulate must be a positive integer no larger than --batch-size, got 9/,
  );
});

/**
 * The bytes a run of `config` takes in the layers' float32 buffers, with or without its
 * validation and test passes, taken as the fast kernels' arena takes them: a released block
 * serves only a request of its size, anything else takes new memory.
 */
async function arenaBytes(config: TrainConfig, evaluated: boolean): Promise<number> {
  let taken = 0;
  const free = new Map<number, number>();
  setOutputArena({
    allocate: (size) => {
      const blocks = free.get(size) ?? 0;
      if (blocks > 0) free.set(size, blocks - 1);
      else taken += 4 * size;
      return new Float32Array(size);
    },
    release: (data) => free.set(data.length, (free.get(data.length) ?? 0) + 1),
  });
  try {
    const val = evaluated ? colourSet(36, 2) : null, test = evaluated ? colourSet(36, 3) : null;
    const result = await run({ outDir: await tempDir(), config, data: { ...data, val, test } });
    assert.equal(result.test !== null, evaluated);
  } finally {
    setOutputArena(null);
  }
  return taken;
}

// Also with BatchNorm's biases in a group of their own at a scaled rate, a fast running
// momentum and scaled logits: the groups and the running statistics must come back from the
// checkpoint too (and recalibrated statistics from the same batches). And with batches taken in
// uneven passes (of 4, 3 and 3 images), recalibration too.
for (
  const extra of [
    {},
    { bnBiasLr: 8, bnMomentum: 0.6, bnRecalibrate: 2, logitScale: 0.5 },
    { batchSize: 10, accumulate: 3, bnRecalibrate: 1 },
  ]
) {
  Deno.test(`a run stopped mid-epoch and resumed ends with the same weights (${JSON.stringify(extra)})`, async () => {
    const config = { ...TINY, ...extra };
    const whole = await run({ outDir: await tempDir(), config });

    const outDir = await tempDir();
    let batches = 0;
    const stopped = await run({ outDir, config, shouldStop: () => ++batches === 10 }); // epoch 2, batch 2
    assert.ok(stopped.interrupted);
    assert.equal(stopped.history.length, 1);
    const resumed = await run({ outDir, resume: true });
    assert.ok(!resumed.interrupted);
    assert.deepEqual(weights(resumed.model), weights(whole.model));
    assert.deepEqual(
      resumed.history.map((r) => [r.trainLoss, r.trainAccuracy, r.valLoss]),
      whole.history.map((r) => [r.trainLoss, r.trainAccuracy, r.valLoss]),
    );
    assert.equal(resumed.test!.accuracy, whole.test!.accuracy);
  });
}

Deno.test("--bn-recalibrate: the same weights, with running statistics recomputed from them", async () => {
  const kept = await run({ outDir: await tempDir() });
  const config = { ...TINY, bnRecalibrate: 2 };
  const recalibrated = await run({ outDir: await tempDir(), config });
  const values = (model: Sequential, kind: "parameters" | "buffers") =>
    model[kind]().map(({ value }) => [...value.data]);
  assert.deepEqual(values(recalibrated.model, "parameters"), values(kept.model, "parameters"));
  assert.notDeepEqual(values(recalibrated.model, "buffers"), values(kept.model, "buffers"));
  // The statistics are those of the first two unaugmented batches of the last epoch's order.
  const loader = new Cifar10Loader(data.train, { batchSize: TINY.batchSize, seed: TINY.seed });
  const batches = [...loader.batches(TINY.epochs - 1)].slice(0, 2).map(({ x }) => clone(x));
  recalibrateBatchNorm(kept.model, batches);
  assert.deepEqual(values(kept.model, "buffers"), values(recalibrated.model, "buffers"));
});

Deno.test("--bn-bias-lr: BatchNorm's biases train at that factor times the scheduled rate", async () => {
  const outDir = await tempDir();
  let batches = 0;
  await run({ outDir, config: { ...TINY, bnBiasLr: 8 }, shouldStop: () => ++batches === 3 });
  const saved = await readCheckpoint(`${outDir}/checkpoint.safetensors`);
  const lrs = saved.optimizer!.paramGroups.map((g) => g.lr as number);
  assert.equal(lrs.length, 3);
  assert.ok(lrs[0] > 0 && lrs[1] === lrs[0], lrs.join());
  assert.ok(Math.abs(lrs[2] - 8 * lrs[0]) < 1e-12 * lrs[2], lrs.join());
});

Deno.test("airbench's stem: a 2×2 whitened layer whose bias learns in its first epochs only", async () => {
  // Without lookahead, whose syncs would still pull the bias toward its slow copy.
  const config: TrainConfig = {
    ...TINY,
    stemKernel: 2,
    stemBiasEpochs: 1,
    epochs: 2,
    lookahead: 0,
  };
  const outDir = await tempDir();
  let batches = 0;
  const stopped = await run({ outDir, config, shouldStop: () => ++batches >= 8 }); // epoch 1
  const [stem, , firstStage] = stopped.model.layers;
  assert.ok(stem instanceof Conv2D && firstStage instanceof Conv2D);
  assert.deepEqual(stem.kernelSize, [2, 2]);
  assert.deepEqual(stem.padding, [0, 0]);
  assert.equal(firstStage.inputGrad, true, "the bias needs the first stage's input gradient");
  const { weight, bias } = whiteningFilters(data.train, 4, { kernel: 2 });
  assert.deepEqual([...stem.W.data], [...weight], "the filters stay fixed");
  const learned = [...stem.b!.data];
  assert.notDeepEqual(learned, [...bias], "the bias learned in epoch 1");
  const resumed = await run({ outDir, config, resume: true });
  const last = resumed.model.layers[0] as Conv2D;
  assert.deepEqual([...last.W.data], [...weight]);
  assert.deepEqual([...last.b!.data], learned, "and stayed in epoch 2");
  assert.ok(resumed.test!.accuracy >= 0.9, `test accuracy ${resumed.test!.accuracy}`);
  // The exporter rebuilds the same network from the checkpoint.
  const { net } = await readTrainedNetwork(resumed.files.checkpoint);
  const x = new Rng(3).fillUniform(zeros([2, 3, 32, 32], "float32"), 0, 1);
  const want = clone(resumed.model.eval().forward(x));
  assert.deepEqual([...net.eval().forward(x).data], [...want.data]);
});

Deno.test("--decay-all, --lr-start: every group decays the same fraction per step, from the start's rate", async () => {
  const outDir = await tempDir();
  let batches = 0;
  const config: TrainConfig = {
    ...TINY,
    bnBiasLr: 8,
    decayAll: true,
    lrStart: 0.2,
    stemBiasEpochs: 1,
    weightDecay: 1e-3,
  };
  await run({ outDir, config, shouldStop: () => ++batches === 1 });
  const saved = await readCheckpoint(`${outDir}/checkpoint.safetensors`);
  const groups = saved.optimizer!.paramGroups;
  // Conv and linear weights, the other rank-1 tensors, BatchNorm's biases, the stem's bias.
  const per = groups.map((g) => (g.lr as number) * (g.weightDecay as number));
  assert.equal(groups.length, 4);
  assert.ok(Math.abs((groups[0].lr as number) - 0.2 * TINY.lr) < 1e-12, `${groups[0].lr}`);
  per.forEach((v) => assert.ok(Math.abs(v - 0.2 * TINY.lr * 1e-3) < 1e-12, per.join()));
});

Deno.test("a run stopped between epochs resumes at the next epoch", async () => {
  const whole = await run({ outDir: await tempDir() });
  const outDir = await tempDir();
  let batches = 0;
  const stopped = await run({ outDir, shouldStop: () => ++batches >= 8 }); // end of epoch 1
  assert.ok(stopped.interrupted);
  const resumed = await run({ outDir, resume: true });
  assert.deepEqual(weights(resumed.model), weights(whole.model));
});

Deno.test("resuming a finished run trains no more and says so", async () => {
  const outDir = await tempDir();
  const whole = await run({ outDir });
  const lines: string[] = [];
  const again = await run({ outDir, resume: true, log: (line) => lines.push(line) });
  assert.deepEqual(weights(again.model), weights(whole.model));
  assert.equal(again.history.length, 4);
  assert.ok(lines.some((l) => l.endsWith("has finished its 4 epochs; nothing is left to train.")));
  assert.ok(!lines.some((l) => l.startsWith("Resuming")), lines.join("\n"));
  assert.ok(!lines.some((l) => l.startsWith("Training")), lines.join("\n"));
});

Deno.test("a diverging loss stops the run and keeps the last good checkpoint", async () => {
  const outDir = await tempDir();
  await run({ outDir, config: { ...TINY, epochs: 1 } });
  const good = await Deno.readFile(`${outDir}/checkpoint.safetensors`);
  await assert.rejects(
    () => run({ outDir, overwrite: true, config: { ...TINY, lr: 1e6, labelSmoothing: 0 } }),
    (e: Error) =>
      e instanceof UserError &&
      /the loss (became NaN|exploded to .*) at epoch 1, batch \d+/.test(e.message) &&
      e.message.includes("last good checkpoint"),
  );
  assert.deepEqual(await Deno.readFile(`${outDir}/checkpoint.safetensors`), good);
});

Deno.test("an existing run is never overwritten by accident, and resume needs a run", async () => {
  const outDir = await tempDir();
  await assert.rejects(() => run({ outDir, resume: true }), /no checkpoint to resume/);
  await run({ outDir, config: { ...TINY, epochs: 1 } });
  await assert.rejects(() => run({ outDir }), /already holds a run; pass --resume/);
});

Deno.test("recipes and their checks", () => {
  assert.throws(
    () => recipe("fast"),
    /unknown recipe "fast"; choose one of quick, default, strong/,
  );
  for (const name of ["quick", "default", "strong"]) checkConfig(recipe(name));
  assert.throws(() => checkConfig({ ...TINY, lr: -1 }), /--lr must be a positive number/);
  assert.throws(
    () => checkConfig({ ...TINY, bnWeight: "no" as unknown as boolean }),
    /--bn-weight must be true or false, got no/,
  );
  assert.throws(() => checkConfig({ ...TINY, epochs: 1.5 }), /--epochs must be a positive integer/);
  assert.throws(() => checkConfig({ ...TINY, bnMomentum: 0 }), /--bn-momentum must be in \(0, 1\]/);
  assert.throws(() => checkConfig({ ...TINY, bnBiasLr: -64 }), /--bn-bias-lr must be a positive/);
  assert.throws(
    () => checkConfig({ ...TINY, logitScale: NaN }),
    /--logit-scale must be a positive/,
  );
  assert.throws(
    () => checkConfig({ ...TINY, arch: "mlp" as TrainConfig["arch"] }),
    /--arch must be one of vgg, resnet/,
  );
  assert.throws(
    () => checkConfig({ ...TINY, activation: "tanh" as TrainConfig["activation"] }),
    /--activation must be one of relu, gelu, got "tanh"/,
  );
});
