/**
 * Training recipes: every setting of a run in one object, so that a run is reproducible from
 * its recipe and seed alone (the checkpoint stores it). Flags override single fields.
 *
 * @module
 */

import { UserError } from "../errors.ts";
import { type Activation, ACTIVATIONS, type Architecture, ARCHITECTURES } from "./models.ts";

/** Every setting of a training run. */
export interface TrainConfig {
  /** The recipe this started from. */
  recipe: string;
  arch: Architecture;
  /**
   * Whether the stem's filters are fixed to whitening filters of the training images' patches
   * (`whitening.ts`) instead of learned. Absent in checkpoints of older runs: false.
   */
  whiten: boolean;
  /**
   * A BatchNorm after the stem's conv (else the conv has a bias). The whitened stem can do
   * without: its filters and bias already give each channel mean 0 and variance 1, and then
   * nothing before the first stage learns, which spares that stage's input gradient.
   * Absent in checkpoints of older runs: true.
   */
  stemNorm: boolean;
  /**
   * The stem's window: 3 (padded by 1), or airbench's 2 (not padded: the maps are then 31, 15,
   * 7 and 3 pixels wide, which saves a fifth of the work). The whitening filters, with
   * `whiten`, are those of the data's patches of this size. Absent in checkpoints of older
   * runs: 3.
   */
  stemKernel: number;
  /**
   * Epochs in which a whitened stem without BatchNorm still learns its bias, over the fixed
   * filters (airbench: 3); after them the bias stays. 0 for none. Absent in checkpoints of
   * older runs: 0.
   */
  stemBiasEpochs: number;
  /**
   * The stages' convs start as the identity on their first `min(in, out)` filters (airbench's
   * `dirac_` initialisation; `models.ts`). Absent in checkpoints of older runs: false.
   */
  identityInit: boolean;
  /**
   * BatchNorm layers learn their scale γ; false keeps it at 1, as airbench does. Absent in
   * checkpoints of older runs: true.
   */
  bnWeight: boolean;
  /**
   * BatchNorm's running-statistics momentum, PyTorch's convention (`running = (1 − m)·running
   * + m·batch`; airbench's is 0.4: the 0.6 in its code is the old statistics' weight, and it
   * hands PyTorch `1 − 0.6`). Absent in checkpoints of older runs: 0.1.
   */
  bnMomentum: number;
  /**
   * The factor on the learning rate of BatchNorm's biases (airbench's bias scaler, 64: its
   * ablations credit it with reaching 94% in 13.5 epochs instead of 18; it is tuned with
   * `logitScale` 1/9, without which it gave 83.97% on the default recipe against about 85%).
   * Absent in checkpoints of older runs: 1.
   */
  bnBiasLr: number;
  /**
   * Batches of training images (unaugmented) BatchNorm's running statistics are recomputed
   * on before each evaluation (`recalibrate.ts`), 0 to keep those training left. Absent in
   * checkpoints of older runs: 0.
   */
  bnRecalibrate: number;
  /**
   * A fixed factor on the logits (`Scale` after the last `Linear`; airbench's 1/9): the
   * classifier's logits then move factor² as fast and it passes back a gradient `factor` times
   * the size, which, with BatchNorm after every conv, mostly slows the BatchNorm biases
   * (airbench's `bnBiasLr` 64 is tuned with it). Absent in checkpoints of older runs: 1.
   */
  logitScale: number;
  /** Channels of the stem and the three stages. */
  widths: [number, number, number, number];
  /**
   * The activation after each BatchNorm, `relu` or `gelu` (airbench's; its float32 kernels cost
   * more than ReLU's mask). Absent in checkpoints of older runs: `relu`.
   */
  activation: Activation;
  epochs: number;
  /** Images per optimizer step (the learning rate and schedule are the batch's). */
  batchSize: number;
  /**
   * Forward/backward passes each batch is taken in (`accumulate.ts`): the step is the whole
   * batch's, at the memory and speed of a batch `accumulate` times smaller; BatchNorm's
   * statistics are then each pass's. 1 for one pass. Absent in checkpoints of older runs: 1.
   */
  accumulate: number;
  /** The peak learning rate of the one-cycle schedule. */
  lr: number;
  /** The fraction of the steps spent warming up to the peak. */
  warmup: number;
  /**
   * The schedule's first learning rate as a fraction of the peak (airbench: 0.2). Absent in
   * checkpoints of older runs: 0.1.
   */
  lrStart: number;
  /**
   * The schedule's last learning rate as a fraction of the peak (airbench: 0.07). Absent in
   * checkpoints of older runs: 0.01.
   */
  lrEnd: number;
  momentum: number;
  nesterov: boolean;
  /** L2 weight decay on conv/linear weights (and, with `decayAll`, on the rest). */
  weightDecay: number;
  /**
   * Weight decay on every trained parameter, as PyTorch's SGD applies it and airbench does, the
   * same fraction off each per step (BatchNorm's biases, at `bnBiasLr` times the rate, get
   * `weightDecay / bnBiasLr`); false spares biases and BatchNorm's parameters. Absent in
   * checkpoints of older runs: false.
   */
  decayAll: boolean;
  labelSmoothing: number;
  /**
   * Lookahead's per-step decay (`optim/lookahead.ts`), 0 for none: every 5 steps the weights
   * are pulled back to a slow copy that follows them with decay `lookahead⁵·(step/steps)³`,
   * and the run ends on the slow weights (airbench). Absent in checkpoints of older runs: 0.
   */
  lookahead: number;
  /** Random-crop padding in pixels (0 for no translation). */
  cropPadding: number;
  /** Random horizontal flips; `"alternate"` mirrors each image every other epoch (airbench). */
  flip: boolean | "alternate";
  /** Images held out of the training set for validation. */
  valSize: number;
  /** Train on at most this many images (0 for all); for smoke runs. */
  trainLimit: number;
  /**
   * Networks trained one after another with seeds `seed`, `seed + 1`, … (each its own
   * validation split, order and augmentation), each a run of its own in the folder `member-k`
   * of the run's (`members.ts`); the model submitted averages their logits. 1 for a single
   * network. Absent in checkpoints of older runs: 1.
   */
  members: number;
  /** Average each test image's logits with its mirror's at evaluation. */
  ttaFlip: boolean;
  /**
   * Also average the logits of each test image shifted by this many pixels down-right and
   * up-left, the gap filled by reflection (and their mirrors', with `ttaFlip`); the unshifted
   * views count half (`ttaViews` in `evaluate.ts`). 0 for none. Absent in checkpoints of older
   * runs: 0.
   */
  ttaShift: number;
  seed: number;
}

const BASE: Omit<TrainConfig, "recipe"> = {
  arch: "vgg",
  whiten: true,
  // Without it the step is ~5% faster, but a full default run reached 83.60% against 84.27%.
  stemNorm: true,
  stemKernel: 3,
  stemBiasEpochs: 0,
  identityInit: false,
  bnWeight: true,
  bnMomentum: 0.1,
  bnBiasLr: 1,
  bnRecalibrate: 0,
  logitScale: 1,
  widths: [16, 32, 64, 128],
  activation: "relu",
  epochs: 2,
  batchSize: 128,
  accumulate: 1,
  lr: 0.2,
  warmup: 0.25,
  lrStart: 0.1,
  lrEnd: 0.01,
  momentum: 0.9,
  nesterov: true,
  weightDecay: 5e-4,
  decayAll: false,
  labelSmoothing: 0.1,
  lookahead: 0,
  cropPadding: 2,
  flip: "alternate",
  valSize: 2000,
  trainLimit: 40000,
  members: 1,
  ttaFlip: true,
  ttaShift: 1,
  seed: 0,
};

/**
 * The recipes `--recipe` picks from. Their sizes follow the measured speed of a training step
 * on a 2-core CPU (about 450–500 images/s for the default network in a training run).
 *
 * - `quick`: a smoke run of a minute or two: one epoch on 3,000 images, no test-time
 *   augmentation.
 * - `default`: what fits in 20 minutes on 2 cores, with room for the machine's slower phases:
 *   eight epochs on the 48,000 training images left after the validation split, with the
 *   whitened stem, GELU (airbench's activation), alternating flips, and flipped and shifted test
 *   views: 86.72% with seed 0 and 86.13% in 14 min 40 s with seed 1 (measured on 2026-12-05 on
 *   a 2-core AMD EPYC). With ReLU instead it reached 86.16% and 85.49% on the same seeds (14 min
 *   30 s and 14 min 12 s on a 2-core Intel Xeon, 2026-11-29), and 86.05% with seed 2; GELU's
 *   kernels make a step 5% longer.
 * - `strong`: a wider network (airbench's widths: 64 and then 256 channels, with GELU) on every
 *   image for longer, with airbench's optimisation: identity-initialised convs, BatchNorm without
 *   a learned scale and with running momentum 0.6 (recomputed before each evaluation), its biases
 *   at 64 times the learning rate, logits scaled by 1/9, momentum 0.85, label smoothing 0.2,
 *   lookahead, and airbench's weight decay per image (1.25e-3 at this batch and learning rate,
 *   2.5 times the default's). For people with time: 91.17% with seed 0 (2026-12-05, a 2-core
 *   AMD EPYC: epochs of 6–7 min at 120–130 images/s, about 80 min in all); with ReLU 90.70%
 *   (2026-11-30), and 90.91% in sixteen epochs; with ReLU and the default's weight decay 90.41%.
 *   With the default recipe's optimisation instead it reached 89.64% (and 89.13% on the network
 *   `32,64,128,256`, in two thirds of the time). airbench94's own recipe, 94% on the published
 *   CIFAR-10, reaches 90.69% on the JPEG-compressed copy these figures come from
 *   (`bench/airbench94.py`).
 */
export const RECIPES: Record<string, TrainConfig> = {
  quick: {
    ...BASE,
    recipe: "quick",
    epochs: 1,
    lr: 0.05,
    valSize: 500,
    trainLimit: 3000,
    ttaFlip: false,
    ttaShift: 0,
  },
  default: { ...BASE, recipe: "default", epochs: 8, trainLimit: 0, activation: "gelu" },
  strong: {
    ...BASE,
    recipe: "strong",
    widths: [32, 64, 256, 256],
    epochs: 12,
    batchSize: 256,
    lr: 0.4,
    trainLimit: 0,
    activation: "gelu",
    identityInit: true,
    bnWeight: false,
    bnMomentum: 0.6,
    bnRecalibrate: 8,
    bnBiasLr: 64,
    logitScale: 1 / 9,
    momentum: 0.85,
    labelSmoothing: 0.2,
    lookahead: 0.95,
    // airbench's decay per image: at batch 256 it takes 0.0153 · 256 / (1024 · (1 + 1/0.15))
    // = 4.99e-4 off the weights per step at the peak, as lr 0.4 · 1.25e-3 does here (airbench
    // decays BatchNorm's biases too; this trainer decays conv and linear weights only).
    weightDecay: 1.25e-3,
  },
};

/**
 * The recipe named `name`, or a `UserError` listing the known ones.
 *
 * @example
 * ```ts
 * const config = { ...recipe("default"), epochs: 12 };
 * ```
 */
export function recipe(name: string): TrainConfig {
  const found = RECIPES[name];
  if (!found) {
    throw new UserError(
      `unknown recipe "${name}"; choose one of ${Object.keys(RECIPES).join(", ")}.`,
    );
  }
  return structuredClone(found);
}

/**
 * A run's recipe and network in a few words, as the models it exports describe themselves.
 *
 * @example
 * ```ts
 * describeRecipe(recipe("strong")); // "strong recipe (vgg 32-64-256-256)"
 * ```
 */
export function describeRecipe(config: TrainConfig): string {
  return `${config.recipe} recipe (${config.arch} ${config.widths.join("-")})`;
}

/**
 * The config a checkpoint recorded, with the fields that older runs' checkpoints lack set as
 * those runs had them (no whitened stem, no shifted test views), then checked.
 *
 * @example
 * ```ts
 * const config = savedConfig(checkpoint.metadata.config);
 * ```
 */
export function savedConfig(saved: Partial<TrainConfig>): TrainConfig {
  return checkConfig(
    {
      whiten: false,
      stemNorm: true,
      stemKernel: 3,
      stemBiasEpochs: 0,
      lrStart: 0.1,
      lrEnd: 0.01,
      decayAll: false,
      identityInit: false,
      bnWeight: true,
      bnMomentum: 0.1,
      bnBiasLr: 1,
      bnRecalibrate: 0,
      logitScale: 1,
      activation: "relu",
      ttaShift: 0,
      lookahead: 0,
      members: 1,
      accumulate: 1,
      ...structuredClone(saved),
    } as TrainConfig,
  );
}

/** Checks every field a person can set, with one sentence for the first bad one. */
export function checkConfig(c: TrainConfig): TrainConfig {
  const need = (ok: boolean, what: string) => {
    if (!ok) throw new UserError(`${what}.`);
  };
  const int = (v: number, min: number) => Number.isInteger(v) && v >= min;
  need(
    ARCHITECTURES.includes(c.arch),
    `--arch must be one of ${ARCHITECTURES.join(", ")}, got "${c.arch}"`,
  );
  need(typeof c.whiten === "boolean", `--whiten must be true or false, got ${c.whiten}`);
  need(typeof c.stemNorm === "boolean", `--stem-norm must be true or false, got ${c.stemNorm}`);
  need(
    int(c.stemKernel, 1) && c.stemKernel <= 7,
    `--stem-kernel must be 1 to 7, got ${c.stemKernel}`,
  );
  need(
    int(c.stemBiasEpochs, 0),
    `--stem-bias-epochs must be a non-negative integer, got ${c.stemBiasEpochs}`,
  );
  need(
    typeof c.identityInit === "boolean",
    `--identity-init must be true or false, got ${c.identityInit}`,
  );
  need(typeof c.bnWeight === "boolean", `--bn-weight must be true or false, got ${c.bnWeight}`);
  need(
    c.bnMomentum > 0 && c.bnMomentum <= 1,
    `--bn-momentum must be in (0, 1], got ${c.bnMomentum}`,
  );
  need(
    c.bnBiasLr > 0 && Number.isFinite(c.bnBiasLr),
    `--bn-bias-lr must be a positive number, got ${c.bnBiasLr}`,
  );
  need(
    int(c.bnRecalibrate, 0),
    `--bn-recalibrate must be a non-negative integer, got ${c.bnRecalibrate}`,
  );
  need(
    c.logitScale > 0 && Number.isFinite(c.logitScale),
    `--logit-scale must be a positive number, got ${c.logitScale}`,
  );
  need(
    ACTIVATIONS.includes(c.activation),
    `--activation must be one of ${ACTIVATIONS.join(", ")}, got "${c.activation}"`,
  );
  need(
    c.widths.length === 4 && c.widths.every((w) => int(w, 1)),
    `--widths must be four positive integers like 32,64,128,256, got ${c.widths.join(",")}`,
  );
  need(int(c.epochs, 1), `--epochs must be a positive integer, got ${c.epochs}`);
  need(int(c.batchSize, 1), `--batch-size must be a positive integer, got ${c.batchSize}`);
  need(
    int(c.accumulate, 1) && c.accumulate <= c.batchSize,
    `--accumulate must be a positive integer no larger than --batch-size, got ${c.accumulate}`,
  );
  need(c.lr > 0 && Number.isFinite(c.lr), `--lr must be a positive number, got ${c.lr}`);
  need(c.warmup >= 0 && c.warmup < 1, `--warmup must be in [0, 1), got ${c.warmup}`);
  need(c.lrStart > 0 && c.lrStart <= 1, `--lr-start must be in (0, 1], got ${c.lrStart}`);
  need(c.lrEnd >= 0 && c.lrEnd <= 1, `--lr-end must be in [0, 1], got ${c.lrEnd}`);
  need(c.momentum >= 0 && c.momentum < 1, `--momentum must be in [0, 1), got ${c.momentum}`);
  need(c.weightDecay >= 0, `--weight-decay must be >= 0, got ${c.weightDecay}`);
  need(typeof c.decayAll === "boolean", `--decay-all must be true or false, got ${c.decayAll}`);
  need(
    c.labelSmoothing >= 0 && c.labelSmoothing < 1,
    `--label-smoothing must be in [0, 1), got ${c.labelSmoothing}`,
  );
  need(
    c.lookahead >= 0 && c.lookahead < 1,
    `--lookahead must be in [0, 1) (0: off), got ${c.lookahead}`,
  );
  need(
    int(c.cropPadding, 0) && c.cropPadding < 32,
    `--crop-padding must be 0 to 31, got ${c.cropPadding}`,
  );
  need(
    c.flip === true || c.flip === false || c.flip === "alternate",
    `--flip must be true, false or alternate, got ${c.flip}`,
  );
  need(int(c.ttaShift, 0) && c.ttaShift < 32, `--tta-shift must be 0 to 31, got ${c.ttaShift}`);
  need(int(c.valSize, 0), `--val-size must be a non-negative integer, got ${c.valSize}`);
  need(int(c.trainLimit, 0), `--train-limit must be a non-negative integer, got ${c.trainLimit}`);
  need(int(c.seed, 0), `--seed must be a non-negative integer, got ${c.seed}`);
  need(int(c.members, 1), `--members must be a positive integer, got ${c.members}`);
  return c;
}
