/**
 * `deno task train`: trains a CIFAR-10 CNN in TypeScript on the CPU and writes the
 * checkpoint, curves, history and the model for submission.
 *
 * @module
 */

import { Command, InvalidArgumentError, Option } from "commander";
import { parseCommandLine } from "../cli.ts";
import { type Cifar10Location, loadCifar10, locateCifar10 } from "../data/locate.ts";
import { trainValSplit } from "../data/split.ts";
import { runMain, UserError } from "../errors.ts";
import { useFastKernels } from "../kernels/gemm_fast.ts";
import { saveOnnx } from "../onnx/export.ts";
import type { ScoreReport } from "../onnx/score_report.ts";
import { scoreInChildProcess } from "../onnx/score_process.ts";
import { passSize } from "./accumulate.ts";
import { checkConfig, describeRecipe, recipe, RECIPES, type TrainConfig } from "./recipes.ts";
import { ttaLabel } from "./evaluate.ts";
import { exportMembers, memberDir, trainMembers } from "./members.ts";
import { savedRun, train } from "./trainer.ts";

/** A number, or a fraction such as `1/9` (handy for `--logit-scale`). */
const number = (value: string) => {
  const [p, q = "1", ...rest] = value.split("/");
  const n = Number(p) / Number(q);
  if (rest.length || !p.trim() || !q.trim() || !Number.isFinite(n)) {
    throw new InvalidArgumentError("not a number");
  }
  return n;
};
const widths = (value: string) => {
  const parts = value.split(",").map(Number);
  if (parts.length !== 4 || !parts.every((n) => Number.isInteger(n) && n > 0)) {
    throw new InvalidArgumentError("give four positive integers like 32,64,128,256");
  }
  return parts;
};
const bool = (value: string) => {
  if (!["true", "false", "on", "off", "1", "0"].includes(value)) {
    throw new InvalidArgumentError("use true or false");
  }
  return ["true", "on", "1"].includes(value);
};

/** Generous: the default model scores the test set in about 15 s. */
const SCORE_LIMIT_SECONDS = 1800;

const flipMode = (value: string) => value === "alternate" ? value : bool(value);

/** The flags that override a recipe's fields, with the field each sets. */
const OVERRIDES: [
  flag: string,
  field: keyof TrainConfig,
  help: string,
  parse: (v: string) => unknown,
][] = [
  ["--arch <name>", "arch", "architecture: vgg or resnet", String],
  [
    "--whiten <bool>",
    "whiten",
    "fix the first layer to whitening filters of the data's patches (true/false)",
    bool,
  ],
  [
    "--stem-norm <bool>",
    "stemNorm",
    "a BatchNorm after the first layer (true/false; without, a whitened stem is fixed whole)",
    bool,
  ],
  [
    "--stem-kernel <n>",
    "stemKernel",
    "the first layer's window: 3 (padded), or 2 (airbench's, unpadded)",
    number,
  ],
  [
    "--stem-bias-epochs <n>",
    "stemBiasEpochs",
    "epochs a whitened first layer without BatchNorm trains its bias (airbench: 3)",
    number,
  ],
  [
    "--identity-init <bool>",
    "identityInit",
    "start each conv after the first as the identity on its first filters (true/false)",
    bool,
  ],
  [
    "--bn-weight <bool>",
    "bnWeight",
    "BatchNorm learns its scale (true/false; false keeps it at 1)",
    bool,
  ],
  ["--bn-momentum <x>", "bnMomentum", "BatchNorm's running-statistics momentum", number],
  ["--bn-bias-lr <x>", "bnBiasLr", "factor on the learning rate of BatchNorm's biases", number],
  [
    "--bn-recalibrate <n>",
    "bnRecalibrate",
    "recompute BatchNorm's running statistics on n training batches before each evaluation",
    number,
  ],
  ["--logit-scale <x>", "logitScale", "fixed factor on the logits (airbench: 1/9)", number],
  ["--widths <list>", "widths", "stem and stage channels, e.g. 32,64,128,256", widths],
  ["--activation <name>", "activation", "activation after each BatchNorm: relu or gelu", String],
  ["--epochs <n>", "epochs", "epochs to train", number],
  ["--batch-size <n>", "batchSize", "images per optimizer step", number],
  [
    "--accumulate <n>",
    "accumulate",
    "take each batch in n passes, summing their gradients (a large batch in less memory)",
    number,
  ],
  ["--lr <x>", "lr", "peak learning rate of the one-cycle schedule", number],
  ["--warmup <x>", "warmup", "fraction of steps warming up to the peak", number],
  ["--lr-start <x>", "lrStart", "first learning rate, as a fraction of the peak", number],
  ["--lr-end <x>", "lrEnd", "last learning rate, as a fraction of the peak", number],
  ["--momentum <x>", "momentum", "SGD momentum", number],
  ["--nesterov <bool>", "nesterov", "Nesterov momentum (true/false)", bool],
  ["--weight-decay <x>", "weightDecay", "L2 weight decay on conv and linear weights", number],
  [
    "--decay-all <bool>",
    "decayAll",
    "weight decay on biases and BatchNorm too, the same fraction per step (true/false)",
    bool,
  ],
  ["--label-smoothing <x>", "labelSmoothing", "label smoothing of the cross-entropy", number],
  [
    "--lookahead <x>",
    "lookahead",
    "lookahead's per-step decay of the slow weights (0: off)",
    number,
  ],
  [
    "--crop-padding <n>",
    "cropPadding",
    "random-crop padding in pixels (0: no translation)",
    number,
  ],
  [
    "--flip <mode>",
    "flip",
    "horizontal flips: true (random), alternate (each image every other epoch) or false",
    flipMode,
  ],
  ["--val-size <n>", "valSize", "training images held out for validation", number],
  ["--train-limit <n>", "trainLimit", "train on at most this many images (0: all)", number],
  ["--tta-flip <bool>", "ttaFlip", "average test logits with the mirrored image's", bool],
  [
    "--tta-shift <n>",
    "ttaShift",
    "also average test logits of the image shifted ±n pixels (0: off)",
    number,
  ],
  ["--seed <n>", "seed", "seed of the weights, split, order and augmentation", number],
  [
    "--members <n>",
    "members",
    "train n networks (seeds seed, seed+1, …) and submit the average of their logits",
    number,
  ],
];

/** A flag's name in {@linkcode OVERRIDES}: `--batch-size` of `"--batch-size <n>"`. */
const flagName = (flag: string) => flag.slice(0, flag.indexOf(" "));

/** Runs the trainer with command-line `args`; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const started = performance.now();
  const program = new Command("deno task train")
    .description(
      "Train a CIFAR-10 CNN in TypeScript on the CPU; writes a checkpoint after every epoch, " +
        "the training curves, and the model for submission.",
    )
    .option(
      "--recipe <name>",
      `starting settings: ${Object.keys(RECIPES).join(", ")}`,
      "default",
    )
    .option("--data <dir>", "CIFAR-10 folder (default: $CIFAR10_DIR, else data/)")
    .option("--out <dir>", "where the run's files go (default: runs/<recipe>)")
    .option("--resume", "continue the run saved in --out")
    .option("--threads <n>", "threads for the matrix multiplies (default: every core)", number)
    .option("--overwrite", "start afresh even if --out holds a run")
    // Set by an ensemble run (`members.ts`) for the member it starts: train that one network.
    .addOption(new Option("--member <k>").argParser(number).hideHelp());
  for (const [flag, , help, parse] of OVERRIDES) program.option(flag, help, parse);
  const opts = parseCommandLine<Record<string, unknown>>(program, args);

  if (opts.resume && opts.overwrite) {
    throw new UserError(
      "--resume continues the run in --out and --overwrite replaces it; pass one.",
    );
  }
  let config = recipe(String(opts.recipe));
  const given: [flag: string, field: keyof TrainConfig][] = [];
  for (const [flag, field] of OVERRIDES) {
    const key = flagName(flag).slice(2).replace(/-(\w)/g, (_, c) => c.toUpperCase());
    if (opts[key] === undefined) continue;
    (config as unknown as Record<string, unknown>)[field] = opts[key];
    given.push([flagName(flag), field]);
  }
  checkConfig(config); // bad flags fail before any data is read
  const outDir = String(opts.out ?? `runs/${config.recipe}`);
  if (opts.resume) {
    // A resumed run goes on with the settings it started with (its split, schedule and test
    // views included), so that it ends as the uninterrupted run would; a flag asking for
    // something else is refused rather than ignored.
    const saved = (await savedRun(outDir)).config;
    if (program.getOptionValueSource("recipe") === "cli") given.unshift(["--recipe", "recipe"]);
    const show = (v: unknown) => Array.isArray(v) ? v.join(",") : String(v);
    const differ = given.filter(([, field]) =>
      JSON.stringify(config[field]) !== JSON.stringify(saved[field])
    );
    if (differ.length > 0) {
      const asked = differ.map(([flag, field]) => `${flag} ${show(config[field])}`);
      const had = differ.map(([, field]) => show(saved[field]));
      throw new UserError(
        `--resume continues ${outDir} with the settings it started with, but ` +
          `${asked.join(", ")} ${differ.length > 1 ? "differ" : "differs"} from its ` +
          `${had.join(", ")}; drop ${differ.length > 1 ? "them" : "it"}, or start a new run ` +
          `with --overwrite or another --out.`,
      );
    }
    config = saved;
  }

  const member = opts.member as number | undefined;
  if (
    member !== undefined && !(Number.isInteger(member) && member >= 1 && member <= config.members)
  ) {
    throw new UserError(`--member must be 1 to --members (${config.members}), got ${member}.`);
  }
  const where = await locateCifar10({ data: opts.data as string | undefined });
  const threads = opts.threads as number | undefined;
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1)) {
    throw new UserError(`--threads must be a positive integer, got ${threads}.`);
  }
  if (config.members > 1 && member === undefined) {
    return await trainEnsemble(config, outDir, where, opts, started);
  }
  const [full, test] = await Promise.all([
    loadCifar10(where, "train"),
    where.hasTest ? loadCifar10(where, "test") : Promise.resolve(null),
  ]);
  const { train: trainSet, val } = config.valSize > 0
    ? trainValSplit(full, config.valSize, config.seed)
    : { train: full, val: null };

  // Float32 matrix multiplies in WebAssembly SIMD on every core (the plain TypeScript kernel
  // remains the fallback and the oracle).
  const fast = await useFastKernels({ threads });
  fast.onArenaFull = () =>
    console.error(
      `Note: at ${
        passSize(config)
      } images a pass, this network's activations outgrow the fast kernels' shared memory, and ` +
        `the layers past it may run slower (up to half the speed); --accumulate (each batch in ` +
        `several passes) or a smaller --batch-size avoids that.`,
    );

  let stop = false;
  const onInterrupt = () => {
    if (stop) Deno.exit(130); // a second Ctrl-C stops at once
    stop = true;
    console.error("\nStopping after this batch to save a checkpoint (Ctrl-C again to quit now).");
  };
  Deno.addSignalListener("SIGINT", onInterrupt);
  try {
    const result = await train({
      config,
      data: { train: trainSet, val, test },
      outDir,
      resume: Boolean(opts.resume),
      overwrite: Boolean(opts.overwrite),
      shouldStop: () => stop,
      // model.onnx for submission, scoring what the run's test evaluation reported.
      exportModel: (model, path) =>
        saveOnnx(model, path, {
          ttaFlip: config.ttaFlip,
          ttaShift: config.ttaShift,
          docString: describeRecipe(config),
        }),
      // The test accuracy is the submitted file's, as the grader will score it.
      scoreModel: async (path) => (await scoreFile(path, where)).accuracy,
    });
    if (!result.interrupted) {
      console.log(
        `Wrote ${result.files.checkpoint}, ${result.files.curves}, ${result.files.history}, ` +
          `${result.files.csv} and ${result.files.model}; ${
            minutesAndSeconds((performance.now() - started) / 1000)
          } of wall time in all.`,
      );
    }
    return result.interrupted ? 130 : 0;
  } finally {
    Deno.removeSignalListener("SIGINT", onInterrupt);
  }
}

/** Model file `path` scored on the test set by onnxruntime in a child process. */
async function scoreFile(path: string, where: Cifar10Location): Promise<ScoreReport> {
  try {
    return await scoreInChildProcess(path, where, { timeLimitSeconds: SCORE_LIMIT_SECONDS });
  } catch (error) {
    if (!(error instanceof Deno.errors.NotCapable)) throw error;
    throw new UserError("onnxruntime runs in a child process, which needs --allow-run");
  }
}

/** The flags that set every field of `config`, as `main` reads them. */
function configFlags(config: TrainConfig): string[] {
  const flags = ["--recipe", config.recipe];
  for (const [flag, field] of OVERRIDES) {
    const value = config[field];
    flags.push(flagName(flag), Array.isArray(value) ? value.join(",") : String(value));
  }
  return flags;
}

/**
 * An ensemble run (`--members N`, `members.ts`): the members, each in a child process, then the
 * model averaging them, scored on the test set; returns the exit code.
 */
async function trainEnsemble(
  config: TrainConfig,
  outDir: string,
  where: Cifar10Location,
  opts: Record<string, unknown>,
  started: number,
): Promise<number> {
  console.log(
    `Training an ensemble of ${config.members} networks one after another, in ${
      memberDir(outDir, 1)
    } to ${memberDir(outDir, config.members)}; the model submitted averages their logits.`,
  );
  // Ctrl-C in a terminal reaches the member training, which saves its checkpoint and exits
  // 130; this process only has to outlive it.
  const onInterrupt = () => {};
  Deno.addSignalListener("SIGINT", onInterrupt);
  let code: number;
  try {
    code = await trainMembers({
      config,
      outDir,
      flags: configFlags,
      passOn: [
        ...["--data", where.dir],
        ...(opts.threads === undefined ? [] : ["--threads", String(opts.threads)]),
      ],
      resume: Boolean(opts.resume),
      overwrite: Boolean(opts.overwrite),
      log: console.log,
    });
  } finally {
    Deno.removeSignalListener("SIGINT", onInterrupt);
  }
  if (code === 130) console.log(`Stopped; continue the ensemble with --resume --out ${outDir}.`);
  if (code !== 0) return code;
  const path = `${outDir}/model.onnx`;
  await exportMembers(config, outDir, path);
  console.log(`Model for submission: ${path}`);
  if (where.hasTest) {
    const views = ttaLabel({ flip: config.ttaFlip, shift: config.ttaShift });
    const { accuracy, images } = await scoreFile(path, where);
    console.log(
      `Test accuracy of ${path} (the average of ${config.members} networks): ${
        (100 * accuracy).toFixed(2)
      }% on ${images} images${views ? ` (with ${views} test-time augmentation)` : ""}.`,
    );
  }
  console.log(
    `Wrote ${memberDir(outDir, 1)} to ${memberDir(outDir, config.members)} and ${path}; ${
      minutesAndSeconds((performance.now() - started) / 1000)
    } of wall time in all.`,
  );
  return 0;
}

/** `1234.5` seconds as `20 min 35 s`: what a run's time budget is counted in. */
function minutesAndSeconds(seconds: number): string {
  const whole = Math.round(seconds);
  return `${Math.floor(whole / 60)} min ${whole % 60} s`;
}

if (import.meta.main) await runMain(() => main(Deno.args));
