/**
 * `deno task bench:parity`: one training step of a recipe's network at its real shapes and
 * batch, on the kernels training uses (the fast WebAssembly GEMM on every thread, Winograd),
 * against PyTorch taking the same step from the same weights on the same batch
 * (`bench/parity.py`). The fixtures' tests check each layer on small shapes in float64; this
 * checks the whole float32 network where the fast kernels' tiling, threading and arena come
 * in. Prints each tensor's relative difference (‖ours − PyTorch‖ / ‖PyTorch‖) and fails when
 * one exceeds {@linkcode TOLERANCE}.
 *
 * Options: `--recipe NAME` (default `strong`), or `--run DIR` for the config a run saved in its
 * checkpoint (so that flags the recipes lack, airbench's among them, are checked too),
 * `--batch N` (default: the config's), `--threads N` (default 2), `--python PATH` (default
 * /usr/bin/python3).
 *
 * @module
 */

import { Command } from "commander";
import { loadFixtures } from "../fixtures/mod.ts";
import { runMain, UserError } from "../src/errors.ts";
import { useFastKernels } from "../src/kernels/gemm_fast.ts";
import { crossEntropy } from "../src/nn/loss.ts";
import { loadStateDict, stateDict } from "../src/nn/state.ts";
import { contiguous, type Tensor, tensor as fromArray } from "../src/tensor.ts";
import { GradientSum, microBatches } from "../src/train/accumulate.ts";
import { recipe } from "../src/train/recipes.ts";
import { trainingNetwork, trainingOptimizer } from "../src/train/setup.ts";
import { savedRun } from "../src/train/trainer.ts";

/**
 * The largest relative difference allowed. Float32 sums taken in another order give 1e-6 to
 * 2e-4 here (the largest in the gradients of the first convs and BatchNorms, whose sums run
 * over a quarter of a million terms, measured on 2026-12-05); a wrong formula gives order 1.
 */
export const TOLERANCE = 1e-3;

/** ‖a − b‖ / ‖b‖ over all elements, and the largest elementwise |a − b|. */
export function relativeDifference(a: Tensor, b: Tensor): { relative: number; maxAbs: number } {
  const x = contiguous(a).data, y = contiguous(b).data;
  if (x.length !== y.length) throw new Error(`sizes differ: ${x.length} and ${y.length}`);
  let diff = 0, norm = 0, maxAbs = 0;
  for (let i = 0; i < y.length; i++) {
    const d = x[i] - y[i];
    diff += d * d;
    norm += y[i] * y[i];
    maxAbs = Math.max(maxAbs, Math.abs(d));
  }
  return { relative: Math.sqrt(diff / (norm || 1)), maxAbs };
}

async function main(): Promise<number> {
  const o = new Command()
    .name("bench:parity")
    .option("--recipe <name>", "the recipe whose network and optimizer to check", "strong")
    .option("--run <dir>", "check the config a run saved in its checkpoint instead")
    .option("--batch <n>", "batch size (default: the config's)")
    .option("--threads <n>", "threads for the fast GEMM", "2")
    .option("--python <path>", "the Python with torch", "/usr/bin/python3")
    .parse(["deno", "bench:parity", ...Deno.args])
    .opts();
  const config = o.run ? (await savedRun(o.run)).config : recipe(o.recipe);
  const batch = Number(o.batch ?? config.batchSize), threads = Number(o.threads);
  if (![batch, threads].every((n) => Number.isInteger(n) && n >= 1)) {
    throw new UserError("--batch and --threads must be positive integers.");
  }
  if (batch < config.accumulate) {
    throw new UserError(`--batch must be at least the run's ${config.accumulate} passes.`);
  }
  if (config.arch !== "vgg") throw new UserError("bench:parity checks the vgg network only.");

  const dir = await Deno.makeTempDir({ prefix: "parity-" });
  try {
    await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(config));
    const script = new URL("./parity.py", import.meta.url).pathname;
    let out: Deno.CommandOutput;
    try {
      out = await new Deno.Command(o.python, {
        args: [script, `${dir}/config.json`, dir, String(batch)],
        stdout: "piped",
        stderr: "piped",
      }).output();
    } catch (error) {
      throw new UserError(`cannot run ${o.python} (${(error as Error).message}).`);
    }
    if (!out.success) {
      const last = new TextDecoder().decode(out.stderr).trim().split("\n").pop();
      throw new UserError(`the PyTorch side failed: ${last}`);
    }
    const fixtures = await loadFixtures("parity", dir);
    const c = fixtures.cases[0];
    const tensor = (name: string) => fixtures.tensor(c, name);

    const fast = await useFastKernels({ threads });
    const model = trainingNetwork(config);
    const start = new Map<string, Tensor>();
    for (const [key, value] of c.tensors) {
      const [kind, name] = key.split(":");
      if (kind === "param" || kind === "buffer") start.set(name, value);
    }
    loadStateDict(model, start);
    const { sgd, setLr } = trainingOptimizer(model, config);
    setLr(config.lr, 0);

    // Compared at once: the layers' outputs live in buffers the next pass overwrites.
    const rows: [string, { relative: number; maxAbs: number }][] = [];
    const compare = (name: string, ours: Tensor, theirs: Tensor) =>
      rows.push([name, relativeDifference(ours, theirs)]);
    model.train();
    // The batch in the config's passes, as the trainer takes it (`--accumulate`).
    const labels = Uint8Array.from(tensor("y").data, Math.round);
    const gradients = new GradientSum(model.parameters());
    const logits = new Float32Array(batch * 10);
    let loss = 0, done = 0;
    for (const part of microBatches(contiguous(tensor("x")), labels, config.accumulate)) {
      const out = contiguous(model.forward(part.x));
      const result = crossEntropy(out, part.y, { labelSmoothing: config.labelSmoothing });
      model.backward(result.grad);
      gradients.add(part.y.length / batch);
      logits.set(out.data, done * 10);
      loss += result.loss * part.y.length / batch;
      done += part.y.length;
    }
    gradients.store();
    compare("logits", fromArray(logits, [batch, 10]), tensor("logits"));
    compare("loss", fromArray(new Float32Array([loss]), [1]), tensor("loss"));
    for (const p of model.parameters()) {
      if (p.requiresGrad !== false) compare(`grad ${p.name}`, p.grad, tensor(`grad:${p.name}`));
    }
    sgd.step();
    for (const [name, value] of stateDict(model)) {
      compare(`after step ${name}`, value, tensor(`after:${name}`));
    }
    model.eval();
    compare("eval logits after step", model.forward(tensor("x")), tensor("eval_logits"));

    console.log(
      `${o.run ? `the run at ${o.run}` : `${config.recipe} recipe`}, ` +
        `vgg ${config.widths.join("-")}, batch ${batch}` +
        (config.accumulate > 1 ? ` in ${config.accumulate} passes, ` : ", ") +
        `fast GEMM on ${fast.threads} threads, against PyTorch ${fixtures.torch}`,
    );
    let worst = 0;
    for (const [name, { relative, maxAbs }] of rows) {
      worst = Math.max(worst, relative);
      console.log(
        `${name.padEnd(34)} relative ${relative.toExponential(2).padStart(9)}   ` +
          `max |diff| ${maxAbs.toExponential(2)}`,
      );
    }
    const verdict = worst <= TOLERANCE ? "within" : "OUTSIDE";
    console.log(`Largest relative difference ${worst.toExponential(2)}: ${verdict} ${TOLERANCE}.`);
    return worst <= TOLERANCE ? 0 : 1;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await runMain(main);
