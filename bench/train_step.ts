/**
 * `deno task bench:step`: one full training step (forward, cross-entropy, backward, SGD) of
 * the default recipe's network (float32) at its batch size, next to PyTorch doing the
 * same step with as many threads, in the same run. Prints the median step time and images
 * per second of both and their ratio, then a per-layer-type breakdown of forward and backward
 * times.
 *
 * The two sides alternate round by round (a round is a few steps), so a load that comes and
 * goes on a shared machine hits both alike; each side's step time is the median over all its
 * rounds.
 *
 * Options: `--steps N` timed steps per round (default 2), `--rounds N` (default 2),
 * `--batch N` (default: the recipe's), `--threads N` (default 2), `--widths A,B,C,D` (default: the
 * recipe's; `32,64,256,256` is the strong recipe's network), `--activation relu|gelu` (default:
 * the recipe's), `--reference` runs this project with the plain TypeScript GEMM instead of the
 * fast one, `--no-torch` skips PyTorch, `--python PATH` picks the interpreter (default
 * /usr/bin/python3).
 *
 * @module
 */

import { Command } from "commander";
import { loadavg } from "node:os";
import { runMain, UserError } from "../src/errors.ts";
import { gemmReference, setGemm } from "../src/kernels/gemm.ts";
import { useFastKernels } from "../src/kernels/gemm_fast.ts";
import { crossEntropy } from "../src/nn/loss.ts";
import type { Sequential } from "../src/nn/sequential.ts";
import { splitWeightDecay } from "../src/optim/optimizer.ts";
import { SGD } from "../src/optim/sgd.ts";
import { Rng } from "../src/random.ts";
import { type Tensor, zeros } from "../src/tensor.ts";
import { type Activation, ACTIVATIONS, buildModel } from "../src/train/models.ts";
import { RECIPES, type TrainConfig } from "../src/train/recipes.ts";

/** The default recipe's network and optimizer settings, which both sides use. */
const RECIPE = RECIPES.default;

/** Forward and backward seconds of one layer (or the loss, or the optimizer) in one step. */
export interface LayerTime {
  type: string;
  forward: number;
  backward: number;
}

/** One side's result: step times in seconds and per-layer times of a few instrumented steps. */
interface Side {
  steps: number[];
  layers: LayerTime[][];
}

/**
 * The network (the default recipe's, or with the stage `widths` given), optimizer and a fixed
 * batch for timing this project's step.
 */
export function setup(
  batch: number,
  widths: TrainConfig["widths"] = RECIPE.widths,
  activation: Activation = RECIPE.activation,
) {
  const rng = new Rng(0);
  // As the trainer builds it: with the whitened stem fixed, nothing before the first stage
  // learns (its filters' values do not matter for the time).
  const model = buildModel({
    arch: RECIPE.arch,
    widths,
    stemNorm: RECIPE.stemNorm,
    frozenStem: RECIPE.whiten,
    activation,
    dtype: "float32",
    rng,
  });
  const optimizer = new SGD(splitWeightDecay(model), {
    lr: RECIPE.lr / 10,
    momentum: RECIPE.momentum,
    nesterov: RECIPE.nesterov,
    weightDecay: RECIPE.weightDecay,
  });
  const x = rng.fillUniform(zeros([batch, 3, 32, 32], "float32"), 0, 1);
  const y = Uint8Array.from({ length: batch }, () => rng.int(10));
  return { model, optimizer, x, y };
}

/** One training step as the trainer runs it. */
export function step(model: Sequential, optimizer: SGD, x: Tensor, y: Uint8Array): void {
  const logits = model.forward(x);
  const { grad } = crossEntropy(logits, y, { labelSmoothing: RECIPE.labelSmoothing });
  model.backward(grad);
  optimizer.step();
}

/**
 * The same step, layer by layer, with each part timed, and the time spent inside `gemm`
 * (the matrix multiply alone, packing included) summed separately.
 */
function instrumentedStep(model: Sequential, optimizer: SGD, x: Tensor, y: Uint8Array) {
  const inner = setGemm(gemmReference);
  let inGemm = 0;
  setGemm((...args) => {
    const t = performance.now();
    inner(...args);
    inGemm += performance.now() - t;
  });
  const times: LayerTime[] = [];
  let h = x;
  for (const layer of model.layers) {
    const t = performance.now();
    h = layer.forward(h);
    times.push({ type: layer.constructor.name, forward: performance.now() - t, backward: 0 });
  }
  let t = performance.now();
  const { grad } = crossEntropy(h, y, { labelSmoothing: RECIPE.labelSmoothing });
  times.push({ type: "CrossEntropyLoss", forward: performance.now() - t, backward: 0 });
  let delta = grad;
  for (let i = model.layers.length - 1; i >= 0; i--) {
    t = performance.now();
    delta = model.layers[i].backward(delta);
    times[i].backward = performance.now() - t;
  }
  t = performance.now();
  optimizer.step();
  times.push({ type: "SGD", forward: 0, backward: performance.now() - t });
  setGemm(inner);
  times.push({ type: "(inside gemm)", forward: 0, backward: inGemm });
  return times.map((r) => ({ ...r, forward: r.forward / 1000, backward: r.backward / 1000 }));
}

function runOurs(
  ctx: ReturnType<typeof setup>,
  steps: number,
  layerRounds: number,
): Side {
  const { model, optimizer, x, y } = ctx;
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t = performance.now();
    step(model, optimizer, x, y);
    times.push((performance.now() - t) / 1000);
  }
  const layers = [];
  for (let i = 0; i < layerRounds; i++) layers.push(instrumentedStep(model, optimizer, x, y));
  return { steps: times, layers };
}

async function runTorch(
  python: string,
  settings: Record<string, unknown>,
): Promise<(Side & { torch: string }) | string> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(python, {
      args: [new URL("./train_step.py", import.meta.url).pathname, JSON.stringify(settings)],
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (error) {
    return `cannot run ${python} (${(error as Error).message})`;
  }
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n").pop();
    return `PyTorch side failed: ${err}`;
  }
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

const median = (xs: number[]) => {
  const s = xs.slice().sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * The median per-layer-type forward and backward seconds over instrumented steps: each
 * step's times are summed by type first.
 */
export function byType(layers: LayerTime[][]): Map<string, { forward: number; backward: number }> {
  const sums = layers.map((row) => {
    const m = new Map<string, { forward: number; backward: number }>();
    for (const r of row) {
      const s = m.get(r.type) ?? { forward: 0, backward: 0 };
      s.forward += r.forward;
      s.backward += r.backward;
      m.set(r.type, s);
    }
    return m;
  });
  const out = new Map<string, { forward: number; backward: number }>();
  for (const type of sums[0]?.keys() ?? []) {
    out.set(type, {
      forward: median(sums.map((m) => m.get(type)!.forward)),
      backward: median(sums.map((m) => m.get(type)!.backward)),
    });
  }
  return out;
}

/** PyTorch's layer class names mapped onto this project's. */
const TORCH_NAMES: Record<string, string> = {
  Conv2d: "Conv2D",
  BatchNorm2d: "BatchNorm2D",
  MaxPool2d: "MaxPool2D",
};

async function main(): Promise<void> {
  const cli = new Command()
    .name("bench:step")
    .option("--steps <n>", "timed steps per round", "2")
    .option("--rounds <n>", "rounds, alternating with PyTorch", "2")
    .option("--batch <n>", "batch size", String(RECIPE.batchSize))
    .option("--threads <n>", "threads for both sides", "2")
    .option("--widths <list>", "the network's four widths", RECIPE.widths.join(","))
    .option("--activation <name>", "relu or gelu", RECIPE.activation)
    .option("--reference", "use the plain TypeScript GEMM")
    .option("--no-torch", "skip PyTorch")
    .option("--python <path>", "the Python with torch", "/usr/bin/python3")
    .parse(["deno", "bench:step", ...Deno.args]);
  const o = cli.opts();
  const [steps, rounds, batch, threads] = [o.steps, o.rounds, o.batch, o.threads].map(Number);
  if (![steps, rounds, batch, threads].every((n) => Number.isInteger(n) && n >= 1)) {
    throw new UserError("--steps, --rounds, --batch and --threads must be positive integers.");
  }
  const widths = String(o.widths).split(",").map(Number) as TrainConfig["widths"];
  if (widths.length !== 4 || !widths.every((n) => Number.isInteger(n) && n >= 1)) {
    throw new UserError(`--widths must be four positive integers like 32,64,128,256.`);
  }
  const activation = o.activation as Activation;
  if (!ACTIVATIONS.includes(activation)) {
    throw new UserError(`--activation must be one of ${ACTIVATIONS.join(", ")}.`);
  }
  const fast = o.reference ? null : await useFastKernels({ threads });
  const gemmLine = fast ? `fast WebAssembly GEMM on ${fast.threads} threads` : "reference GEMM";
  console.log(
    `machine: ${navigator.hardwareConcurrency} hardware threads, load ${
      loadavg().map((l) => l.toFixed(2)).join(" ")
    }; ours: ${gemmLine}; vgg ${
      widths.join("-")
    } with ${activation}, batch ${batch}, ${steps} steps × ${rounds} rounds`,
  );

  const ctx = setup(batch, widths, activation);
  step(ctx.model, ctx.optimizer, ctx.x, ctx.y); // warm-up: compiles, grows buffers
  const settings = {
    threads,
    batch,
    steps,
    layerRounds: 1,
    widths,
    stemNorm: RECIPE.stemNorm,
    frozenStem: RECIPE.whiten,
    activation,
    lr: RECIPE.lr / 10,
    momentum: RECIPE.momentum,
    weightDecay: RECIPE.weightDecay,
    labelSmoothing: RECIPE.labelSmoothing,
  };
  const ours: Side = { steps: [], layers: [] };
  const theirs: Side = { steps: [], layers: [] };
  let torchVersion = "", torchMissing = "";
  for (let r = 0; r < rounds; r++) {
    // The GEMM's Workers leave after a second idle (as during PyTorch's turn): restart them.
    await fast?.ready();
    const side = runOurs(ctx, steps, 1);
    ours.steps.push(...side.steps);
    ours.layers.push(...side.layers);
    if (o.torch && !torchMissing) {
      const t = await runTorch(o.python, settings);
      if (typeof t === "string") torchMissing = t;
      else {
        torchVersion = t.torch;
        theirs.steps.push(...t.steps);
        theirs.layers.push(
          ...t.layers.map((row) => row.map((l) => ({ ...l, type: TORCH_NAMES[l.type] ?? l.type }))),
        );
      }
    }
  }
  fast?.close();

  const ms = (s: number) => (1000 * s).toFixed(0).padStart(7);
  const ourStep = median(ours.steps);
  const torchStep = theirs.steps.length ? median(theirs.steps) : NaN;
  console.log(
    torchMissing
      ? `PyTorch: not measured (${torchMissing})`
      : o.torch
      ? `PyTorch ${torchVersion}, torch.set_num_threads(${threads})`
      : "PyTorch: skipped",
  );
  console.log(`\n${"".padEnd(10)}${"step ms".padStart(9)}${"images/s".padStart(10)}`);
  console.log(`${"ours".padEnd(10)}${ms(ourStep)}  ${(batch / ourStep).toFixed(1).padStart(8)}`);
  if (theirs.steps.length) {
    console.log(
      `${"PyTorch".padEnd(10)}${ms(torchStep)}  ${(batch / torchStep).toFixed(1).padStart(8)}`,
    );
    console.log(
      `ratio (ours ÷ PyTorch, time): ${(ourStep / torchStep).toFixed(2)}; ` +
        `images/s ours ÷ PyTorch: ${(torchStep / ourStep).toFixed(2)}`,
    );
  }

  const a = byType(ours.layers), b = byType(theirs.layers);
  console.log(
    `\n${"layer type".padEnd(18)}${"fwd ms".padStart(8)}${"bwd ms".padStart(8)}` +
      (b.size
        ? `${"torch fwd".padStart(10)}${"torch bwd".padStart(10)}${"ratio".padStart(7)}`
        : ""),
  );
  let total = 0;
  for (const [type, t] of a) if (!type.startsWith("(")) total += t.forward + t.backward;
  for (const [type, t] of a) {
    if (type.startsWith("(")) {
      const share = (100 * t.backward / total).toFixed(0);
      console.log(`of which inside gemm (all layers, fwd + bwd): ${ms(t.backward)} ms, ${share}%`);
      continue;
    }
    const u = b.get(type);
    const share = (100 * (t.forward + t.backward) / total).toFixed(0).padStart(3);
    console.log(
      `${type.padEnd(18)}${ms(t.forward).padStart(8)}${ms(t.backward).padStart(8)}` +
        (u
          ? `${ms(u.forward).padStart(10)}${ms(u.backward).padStart(10)}${
            ((t.forward + t.backward) / (u.forward + u.backward)).toFixed(2).padStart(7)
          }`
          : "") +
        `   ${share}% of ours`,
    );
  }
}

if (import.meta.main) await runMain(main);
