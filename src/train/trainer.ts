/**
 * The training loop: one-cycle SGD over augmented batches, a validation pass and an atomic
 * checkpoint after every epoch, exact resume (mid-epoch too), a clean stop on request
 * (Ctrl-C) or on a diverging loss, and the curves and history written as it goes.
 *
 * @module
 */

import type { ImageSet } from "../data/cifar10.ts";
import { Cifar10Loader } from "../data/loader.ts";
import { UserError } from "../errors.ts";
import type { Conv2D } from "../nn/conv2d.ts";
import { crossEntropy } from "../nn/loss.ts";
import type { Sequential } from "../nn/sequential.ts";
import { countParameters } from "../nn/state.ts";
import { Lookahead } from "../optim/lookahead.ts";
import { piecewiseLinear, type Schedule } from "../optim/schedule.ts";
import type { SGDOptions } from "../optim/sgd.ts";
import { contiguous, type Tensor } from "../tensor.ts";
import { GradientSum, microBatches, passSize } from "./accumulate.ts";
import { loadCheckpoint, readCheckpoint, saveCheckpoint } from "./checkpoint.ts";
import { argmaxRows, evaluate, ttaLabel } from "./evaluate.ts";
import { memberDir } from "./members.ts";
import { macsPerImage } from "./models.ts";
import { plotSvg } from "./plot.ts";
import { EpochProgress } from "./progress.ts";
import { recalibrateBatchNorm } from "./recalibrate.ts";
import { checkConfig, savedConfig, type TrainConfig } from "./recipes.ts";
import { trainingNetwork, trainingOptimizer } from "./setup.ts";
import { whiteningFilters } from "./whitening.ts";

/** The images a run uses; `val` and `test` may be absent. */
export interface TrainData {
  train: ImageSet;
  val: ImageSet | null;
  test: ImageSet | null;
}

/** One epoch's record. */
export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  valLoss: number | null;
  valAccuracy: number | null;
  lr: number;
  seconds: number;
  imagesPerSecond: number;
}

/** How to run {@linkcode train}. */
export interface TrainOptions {
  config: TrainConfig;
  data: TrainData;
  /** Where the checkpoint, history, curves and model go. */
  outDir: string;
  /** Continue the run saved in `outDir` instead of starting one. */
  resume?: boolean;
  /** Start afresh even if `outDir` holds a checkpoint (it is overwritten). */
  overwrite?: boolean;
  /** Where summary lines go (default `console.log`). */
  log?: (line: string) => void;
  /** Show a progress bar per epoch (default: when stderr is a terminal). */
  progress?: boolean;
  /** Polled after every batch: true stops the run after saving a checkpoint (Ctrl-C). */
  shouldStop?: () => boolean;
  /** Writes the trained model for submission (e.g. ONNX); called once at the end. */
  exportModel?: (model: Sequential, path: string) => Promise<void>;
  /**
   * Scores the file `exportModel` wrote on the test set and returns its accuracy in [0, 1]
   * (the command line runs onnxruntime, as the grader does: about three times as fast as
   * the network's own forward pass, and it reports the submitted file's accuracy). Without
   * it, or if it fails, the trainer evaluates its network itself.
   */
  scoreModel?: (path: string) => Promise<number>;
}

/** What {@linkcode train} returns. */
export interface TrainResult {
  model: Sequential;
  config: TrainConfig;
  history: EpochRecord[];
  /** True when the run stopped early on request; the checkpoint lets it resume. */
  interrupted: boolean;
  /** The test-set accuracy in [0, 1], when a test set was given and the run finished. */
  test: { accuracy: number } | null;
  /** The files written, by kind. */
  files: Record<string, string>;
}

/** How far a run got: epochs and batches done, the history, the running epoch's sums. */
export interface Progress {
  epoch: number;
  batch: number;
  history: EpochRecord[];
  partial: { lossSum: number; correct: number; seen: number; seconds: number };
}

/**
 * The run saved in `outDir`: the settings it started with and how far it got (for an ensemble
 * run, its first member's); a `UserError` where there is no checkpoint, or one the trainer did
 * not write.
 *
 * @example
 * ```ts
 * const { config } = await savedRun("runs/strong"); // what --resume will continue with
 * ```
 */
export async function savedRun(outDir: string): Promise<{ config: TrainConfig } & Progress> {
  const exists = (path: string) => Deno.stat(path).then(() => true, () => false);
  let checkpoint = `${outDir}/checkpoint.safetensors`;
  // An ensemble run (`members.ts`) has its settings in its first member's checkpoint.
  const first = `${memberDir(outDir, 1)}/checkpoint.safetensors`;
  if (!(await exists(checkpoint)) && await exists(first)) checkpoint = first;
  if (!(await exists(checkpoint))) {
    throw new UserError(
      `there is no checkpoint to resume at ${checkpoint}; run without --resume to start.`,
    );
  }
  const saved = (await readCheckpoint(checkpoint)).metadata as
    | { config: TrainConfig } & Progress
    | null;
  if (!saved?.config) {
    throw new UserError(`${checkpoint} was not written by the trainer, so it cannot be resumed.`);
  }
  return { ...saved, config: savedConfig(saved.config) };
}

/** A loss above this (10 classes start near ln 10 ≈ 2.3) means the run has blown up. */
const EXPLODED = 100;

/**
 * Trains the configured network on `data.train` and returns it with its history.
 *
 * @example
 * ```ts
 * const result = await train({
 *   config: recipe("quick"),
 *   data: { train, val, test },
 *   outDir: "runs/quick",
 * });
 * console.log(result.test?.accuracy);
 * ```
 */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const { data, outDir, log = console.log, shouldStop = () => false } = options;
  const files = {
    checkpoint: `${outDir}/checkpoint.safetensors`,
    history: `${outDir}/history.json`,
    csv: `${outDir}/history.csv`,
    curves: `${outDir}/curves.svg`,
    model: `${outDir}/model.onnx`,
  };
  await Deno.mkdir(outDir, { recursive: true }).catch((error) => {
    throw new UserError(`cannot create the output folder ${outDir} (${error.message}).`);
  });
  const exists = await Deno.stat(files.checkpoint).then(() => true, () => false);

  let config = checkConfig(structuredClone(options.config));
  let state: Progress = {
    epoch: 0,
    batch: 0,
    history: [],
    partial: { lossSum: 0, correct: 0, seen: 0, seconds: 0 },
  };
  if (options.resume) {
    const saved = await savedRun(outDir);
    config = saved.config;
    state = {
      epoch: saved.epoch,
      batch: saved.batch,
      history: saved.history,
      partial: saved.partial,
    };
  } else if (exists && !options.overwrite) {
    throw new UserError(
      `${outDir} already holds a run; pass --resume to continue it, --overwrite to replace it, ` +
        `or --out for another folder.`,
    );
  }

  const model = trainingNetwork(config);
  const train = config.trainLimit > 0 && config.trainLimit < data.train.length
    ? { ...data.train, length: config.trainLimit }
    : data.train;
  const loader = new Cifar10Loader(train, {
    batchSize: config.batchSize,
    seed: config.seed,
    dropLast: train.length > config.batchSize,
    augment: config.cropPadding > 0 || config.flip
      ? { padding: config.cropPadding, flip: config.flip }
      : false,
  });
  const perEpoch = loader.batchesPerEpoch;
  // The images of one forward pass: evaluation and recalibration take them at this size too,
  // so that every pass fits the memory a training pass uses.
  const passImages = passSize(config);
  const gradients = config.accumulate > 1 ? new GradientSum(model.parameters()) : null;
  const schedule = triangular(config, config.epochs * perEpoch);
  // Each group's rate is set before every step.
  const { sgd, setLr } = trainingOptimizer(model, config);
  if (config.whiten && !options.resume) {
    // The stem is the first layer; its fixed filters come from the data (or the checkpoint).
    const stem = model.layers[0] as Conv2D;
    const { weight, bias } = whiteningFilters(train, stem.outChannels, {
      kernel: config.stemKernel,
    });
    stem.W.data.set(weight);
    stem.b?.data.set(bias); // with a BatchNorm after it, the stem has no bias
  }
  // After the stem is frozen: lookahead's slow weights are those of the trained parameters.
  const optimizer = config.lookahead > 0 ? new Lookahead(sgd) : sgd;
  if (options.resume) {
    await loadCheckpoint(files.checkpoint, { model, optimizer });
    log(
      state.epoch >= config.epochs
        ? `${files.checkpoint} has finished its ${config.epochs} epochs; nothing is left to train.`
        : `Resuming ${files.checkpoint} at epoch ${state.epoch + 1}, batch ${state.batch + 1}.`,
    );
  }
  const save = () =>
    saveCheckpoint(files.checkpoint, { model, optimizer, metadata: { config, ...state } });

  // A finished run goes straight to the test and the export; there is nothing to announce.
  if (state.epoch < config.epochs) {
    const net = `${config.arch} ${config.widths.join("-")}` +
      (config.activation === "relu" ? "" : ` with ${config.activation.toUpperCase()}`);
    log(
      `Training ${net} (${countParameters(model)} parameters, ` +
        `${(macsPerImage(config) / 1e6).toFixed(0)}M multiply-adds per image) on ${train.length} ` +
        `images for ${config.epochs} epochs of ${perEpoch} batches of ${config.batchSize}` +
        (config.accumulate > 1 ? `, each in ${config.accumulate} passes.` : "."),
    );
  }

  const showBar = options.progress ?? Deno.stderr.isTerminal();
  let turned = performance.now();
  while (state.epoch < config.epochs) {
    const bar = showBar ? new EpochProgress(state.epoch + 1, config.epochs, perEpoch) : null;
    const p = state.partial;
    const started = performance.now() - p.seconds * 1000;
    for (const { x, y, index } of loader.batches(state.epoch, state.batch)) {
      const step = state.epoch * perEpoch + index;
      setLr(schedule(step), state.epoch);
      for (const part of microBatches(x, y, config.accumulate)) {
        const logits = contiguous(model.forward(part.x));
        const { loss, grad } = crossEntropy(logits, part.y, {
          labelSmoothing: config.labelSmoothing,
        });
        if (!Number.isFinite(loss) || loss > EXPLODED) {
          bar?.stop();
          throw new UserError(
            `the loss ${
              Number.isNaN(loss) ? "became NaN" : `exploded to ${loss.toPrecision(3)}`
            } at epoch ${state.epoch + 1}, batch ${index + 1}; the last good checkpoint is ` +
              `kept at ${files.checkpoint} — lower --lr and start again.`,
          );
        }
        model.backward(grad);
        gradients?.add(part.y.length / y.length);
        p.lossSum += loss * part.y.length;
        const predicted = argmaxRows(logits, new Uint8Array(part.y.length));
        for (let i = 0; i < part.y.length; i++) if (predicted[i] === part.y[i]) p.correct++;
      }
      gradients?.store();
      optimizer.step();
      if (optimizer instanceof Lookahead) {
        syncLookahead(optimizer, config.lookahead, step + 1, config.epochs * perEpoch);
      }

      p.seen += y.length;
      state.batch = index + 1;
      const seconds = (performance.now() - started) / 1000;
      p.seconds = seconds;
      bar?.update(index + 1, {
        loss: p.lossSum / p.seen,
        accuracy: p.correct / p.seen,
        imagesPerSecond: p.seen / seconds,
      });
      if (performance.now() - turned >= TURN_MS) {
        await timerTurn();
        turned = performance.now();
      }
      if (shouldStop() && state.batch < perEpoch) {
        bar?.stop();
        await save();
        log(
          `Stopped at epoch ${state.epoch + 1}, batch ${state.batch}; checkpoint saved to ` +
            `${files.checkpoint}. Continue with --resume.`,
        );
        return { model, config, history: state.history, interrupted: true, test: null, files };
      }
    }
    bar?.stop();
    if (config.bnRecalibrate > 0) {
      recalibrateBatchNorm(model, recalibrationBatches(train, config, state.epoch));
    }
    // At the training batch size the layers' buffers keep their shapes, so the validation pass
    // reuses the training step's memory: at another size its buffers come on top, and the
    // strong network's outgrew the fast kernels' shared memory, after which the Winograd
    // layers' scratch stayed outside it (a third slower for the rest of the run).
    const val = data.val && data.val.length > 0
      ? evaluate(model, data.val, { batchSize: passImages })
      : null;
    const record: EpochRecord = {
      epoch: state.epoch + 1,
      trainLoss: p.lossSum / p.seen,
      trainAccuracy: p.correct / p.seen,
      valLoss: val?.loss ?? null,
      valAccuracy: val?.accuracy ?? null,
      lr: schedule(Math.min((state.epoch + 1) * perEpoch, config.epochs * perEpoch) - 1),
      seconds: p.seconds,
      imagesPerSecond: p.seen / p.seconds,
    };
    state.history.push(record);
    state.partial = { lossSum: 0, correct: 0, seen: 0, seconds: 0 };
    log(formatEpoch(record, config.epochs, state.history));
    state.epoch++;
    state.batch = 0;
    await save();
    await writeHistory(files, state.history);
    if (shouldStop() && state.epoch < config.epochs) {
      log(`Stopped after epoch ${state.epoch}; continue with --resume.`);
      return { model, config, history: state.history, interrupted: true, test: null, files };
    }
  }

  if (options.exportModel) {
    await options.exportModel(model, files.model);
    // A member of an ensemble run is not submitted alone: the run's model averages them all.
    log(`${config.members > 1 ? "This member's model" : "Model for submission"}: ${files.model}`);
  }
  const test = data.test
    ? await testAccuracy(model, config, passImages, data.test, files.model, options, log)
    : null;
  return { model, config, history: state.history, interrupted: false, test, files };
}

/**
 * The test accuracy of the trained network, with the configured test-time views: the
 * exported file's as `options.scoreModel` finds it, else (or if that fails) the network's own.
 */
async function testAccuracy(
  model: Sequential,
  config: TrainConfig,
  batchSize: number,
  testSet: ImageSet,
  modelPath: string,
  options: TrainOptions,
  log: (line: string) => void,
): Promise<{ accuracy: number }> {
  const views = ttaLabel({ flip: config.ttaFlip, shift: config.ttaShift });
  const how = views ? ` (with ${views} test-time augmentation)` : "";
  let accuracy: number | null = null, what = "Test accuracy";
  if (options.exportModel && options.scoreModel) {
    try {
      accuracy = await options.scoreModel(modelPath);
      what = `Test accuracy of ${modelPath}`;
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      const why = error.message.replace(/\.$/, "");
      log(`Could not score ${modelPath} (${why}); evaluating the network instead.`);
    }
  }
  accuracy ??= evaluate(model, testSet, {
    batchSize,
    flip: config.ttaFlip,
    shift: config.ttaShift,
  }).accuracy;
  log(
    `${what}: ${(100 * accuracy).toFixed(2)}% on ${testSet.length} images${how}.`,
  );
  return { accuracy };
}

/**
 * Milliseconds of training between turns of the event loop, in which a Ctrl-C handler runs:
 * a turn through a timer costs about 2 ms (nested zero timers are clamped), so not one per
 * batch.
 */
const TURN_MS = 500;

/**
 * Resolves on a later turn of the event loop, through a timer: the runtime then polls for
 * signals. (A message to itself through a MessageChannel, used before, resolved without that
 * poll: Ctrl-C could go unseen for minutes of training.)
 */
function timerTurn(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * The images of the first `config.bnRecalibrate` batches of an unaugmented pass over the
 * training images, shuffled by epoch (so a resumed run draws the same ones), each batch in
 * its `config.accumulate` passes.
 */
function* recalibrationBatches(
  train: ImageSet,
  config: TrainConfig,
  epoch: number,
): Generator<Tensor> {
  const loader = new Cifar10Loader(train, { batchSize: config.batchSize, seed: config.seed });
  for (const { x, y, index } of loader.batches(epoch)) {
    if (index >= config.bnRecalibrate) return;
    for (const part of microBatches(x, y, config.accumulate)) yield part.x;
  }
}

/** Steps between lookahead's syncs (airbench's). */
const LOOKAHEAD_EVERY = 5;

/**
 * Lookahead as airbench schedules it after step `done` of `steps`: every
 * {@linkcode LOOKAHEAD_EVERY} steps a sync whose decay grows with the cube of the progress, so
 * that the averaging starts gently and is strongest at the end; after the last step, the
 * model is set to the slow weights.
 */
function syncLookahead(
  optimizer: Lookahead<SGDOptions>,
  decay: number,
  done: number,
  steps: number,
): void {
  if (done % LOOKAHEAD_EVERY === 0) {
    optimizer.sync(decay ** LOOKAHEAD_EVERY * (done / steps) ** 3);
  }
  if (done === steps) optimizer.sync(1);
}

/**
 * The triangular one-cycle schedule of fast CIFAR-10 recipes: linear from `lrStart` times the
 * peak (by default a tenth) up to the peak over the warm-up fraction of the steps, then linear
 * down to `lrEnd` times the peak (a hundredth) at the last step.
 */
function triangular(
  { lr, warmup, lrStart, lrEnd }: Pick<TrainConfig, "lr" | "warmup" | "lrStart" | "lrEnd">,
  steps: number,
): Schedule {
  const peak = Math.round(warmup * steps);
  return piecewiseLinear(
    peak > 0
      ? [[0, lr * lrStart], [peak, lr], [steps, lr * lrEnd]]
      : [[0, lr], [steps, lr * lrEnd]],
  );
}

function formatEpoch(r: EpochRecord, epochs: number, history: EpochRecord[]): string {
  const pct = (v: number | null) => (v === null ? "-" : `${(100 * v).toFixed(2)}%`);
  // The epochs left at the mean pace so far: a long run says when it will end.
  const mean = history.reduce((sum, h) => sum + h.seconds, 0) / history.length;
  const minutes = Math.round((epochs - r.epoch) * mean / 60);
  const left = r.epoch === epochs
    ? ""
    : minutes < 60
    ? `  about ${minutes} min left`
    : `  about ${Math.floor(minutes / 60)} h ${minutes % 60} min left`;
  return `epoch ${r.epoch}/${epochs}  train loss ${r.trainLoss.toFixed(4)} acc ${
    pct(r.trainAccuracy)
  }  val loss ${r.valLoss?.toFixed(4) ?? "-"} acc ${pct(r.valAccuracy)}  lr ${
    r.lr.toPrecision(3)
  }  ${Math.round(r.imagesPerSecond)} img/s  ${r.seconds.toFixed(1)}s${left}`;
}

async function writeHistory(files: Record<string, string>, history: EpochRecord[]): Promise<void> {
  const columns = Object.keys(history[0]) as (keyof EpochRecord)[];
  const csv = [
    columns.join(","),
    ...history.map((r) => columns.map((c) => r[c] ?? "").join(",")),
  ].join("\n") + "\n";
  const curves = plotSvg([
    {
      title: "loss",
      series: [
        { name: "train", values: history.map((r) => r.trainLoss) },
        { name: "validation", values: history.map((r) => r.valLoss) },
      ],
    },
    {
      title: "accuracy (%)",
      series: [
        { name: "train", values: history.map((r) => 100 * r.trainAccuracy) },
        {
          name: "validation",
          values: history.map((r) => (r.valAccuracy === null ? null : 100 * r.valAccuracy)),
        },
      ],
    },
  ]);
  await Promise.all([
    Deno.writeTextFile(files.history, JSON.stringify(history, null, 2) + "\n"),
    Deno.writeTextFile(files.csv, csv),
    Deno.writeTextFile(files.curves, curves),
  ]);
}
