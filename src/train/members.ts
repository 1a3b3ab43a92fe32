/**
 * Ensemble runs (`--members N`): N networks of one recipe trained one after another with seeds
 * `seed`, `seed + 1`, …, each a whole run of its own (checkpoint, curves, model, test score) in
 * the folder `member-k` of the run's, then one model for submission that averages their logits
 * (`nn/ensemble.ts`). Networks trained from different seeds err on different images, so the
 * average errs less often than either: the way to spend more time once more epochs stop paying.
 *
 * Each member trains in a child process running the trainer's command line: the fast kernels
 * keep the memory a network's activations took for as long as their process lives (the strong
 * network's take two thirds of it), so a second network in the same process would run several
 * times slower. A terminal's Ctrl-C reaches the child, which saves its checkpoint as any run
 * does; `--resume` then skips the members that finished and continues the one that did not.
 *
 * @module
 */

import denoConfig from "../../deno.json" with { type: "json" };
import { Ensemble } from "../nn/ensemble.ts";
import { saveOnnx } from "../onnx/export.ts";
import { describeRecipe, type TrainConfig } from "./recipes.ts";
import { readTrainedNetwork } from "./trained.ts";
import { savedRun } from "./trainer.ts";

/** The trainer's command line, which each member runs. */
const CLI = new URL("./cli.ts", import.meta.url).href;

/** The permissions `deno task train` has, which a member needs as well: read from its task. */
const PERMISSIONS = denoConfig.tasks.train.split(" ").filter((arg) => arg.startsWith("--allow-"));

/**
 * The folder of member `k` (from 1) of the run in `outDir`.
 *
 * @example
 * ```ts
 * memberDir("runs/strong", 2); // "runs/strong/member-2"
 * ```
 */
export function memberDir(outDir: string, k: number): string {
  return `${outDir}/member-${k}`;
}

/** How to run {@linkcode trainMembers}. */
export interface MembersOptions {
  /** The run's settings (`members` of them); member k trains with seed `seed + k − 1`. */
  config: TrainConfig;
  outDir: string;
  /** The command-line flags that set every field of a config (`cli.ts`). */
  flags: (config: TrainConfig) => string[];
  /** Flags every member gets as they are (`--data`, `--threads`). */
  passOn: string[];
  /** Continue: members that finished are skipped, a stopped one resumes. */
  resume: boolean;
  /** Replace the members' runs. */
  overwrite: boolean;
  log: (line: string) => void;
}

/**
 * Trains the members one after another, each in a child process; returns the first exit code
 * that is not 0 (2 for a refused setting, 130 for Ctrl-C), else 0.
 *
 * @example
 * ```ts
 * const code = await trainMembers({ config, outDir, flags, passOn: [], resume: false, overwrite: false, log: console.log });
 * ```
 */
export async function trainMembers(options: MembersOptions): Promise<number> {
  const { config, outDir, log } = options;
  for (let k = 1; k <= config.members; k++) {
    const dir = memberDir(outDir, k), seed = config.seed + k - 1;
    const exists = await Deno.stat(`${dir}/checkpoint.safetensors`).then(() => true, () => false);
    let args: string[];
    if (exists && options.resume) {
      const saved = await savedRun(dir);
      if (saved.epoch >= saved.config.epochs) {
        log(
          `Member ${k} of ${config.members} (${dir}) has finished; it is not trained again.`,
        );
        continue;
      }
      args = ["--resume"];
    } else {
      args = [...options.flags({ ...config, seed }), ...(options.overwrite ? ["--overwrite"] : [])];
    }
    log(`Member ${k} of ${config.members}, seed ${seed}, in ${dir}:`);
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        ...PERMISSIONS,
        CLI,
        ...args,
        "--member",
        String(k),
        "--out",
        dir,
        ...options.passOn,
      ],
      stdin: "null",
    }).spawn();
    const { code } = await child.status;
    if (code !== 0) return code;
  }
  return 0;
}

/**
 * Writes the members' networks, read back from their checkpoints, to `path` as one ONNX model
 * that averages their logits, with the run's test-time views around the whole.
 *
 * @example
 * ```ts
 * await exportMembers(config, "runs/strong", "runs/strong/model.onnx");
 * ```
 */
export async function exportMembers(
  config: TrainConfig,
  outDir: string,
  path: string,
): Promise<void> {
  const nets = [];
  for (let k = 1; k <= config.members; k++) {
    nets.push((await readTrainedNetwork(`${memberDir(outDir, k)}/checkpoint.safetensors`)).net);
  }
  await saveOnnx(new Ensemble(nets), path, {
    ttaFlip: config.ttaFlip,
    ttaShift: config.ttaShift,
    docString: `${describeRecipe(config)}, the mean of ${config.members} networks' logits ` +
      `(seeds ${config.seed}–${config.seed + config.members - 1})`,
  });
}
