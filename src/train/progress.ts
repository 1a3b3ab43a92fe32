/**
 * The per-epoch progress bar: loss, accuracy, images per second and time left. On a
 * terminal it redraws one line (cli-progress); in a log (not a TTY) it stays silent and
 * the trainer's summary line per epoch is the record.
 *
 * @module
 */

// @ts-types="npm:@types/cli-progress@3.11.6"
import cliProgress from "cli-progress";
import process from "node:process";

/** The numbers shown while an epoch runs. */
export interface ProgressStats {
  loss: number;
  accuracy: number;
  imagesPerSecond: number;
}

/**
 * A progress bar over the batches of one epoch.
 *
 * @example
 * ```ts
 * const bar = new EpochProgress(1, 10, 390);
 * bar.update(1, { loss: 2.1, accuracy: 0.21, imagesPerSecond: 480 });
 * bar.stop();
 * ```
 */
export class EpochProgress {
  #bar: cliProgress.SingleBar;

  constructor(epoch: number, epochs: number, batches: number) {
    this.#bar = new cliProgress.SingleBar({
      format: `epoch ${epoch}/${epochs} [{bar}] {value}/{total} | loss {loss} | acc {acc}% | ` +
        `{speed} img/s | eta {eta_formatted}`,
      barsize: 24,
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 20,
      stream: process.stderr,
    }, cliProgress.Presets.shades_classic);
    this.#bar.start(batches, 0, { loss: "-", acc: "-", speed: "-" });
  }

  /** Shows `done` batches finished, with the running statistics. */
  update(done: number, stats: ProgressStats): void {
    this.#bar.update(done, {
      loss: stats.loss.toFixed(3),
      acc: (100 * stats.accuracy).toFixed(1),
      speed: Math.round(stats.imagesPerSecond),
    });
  }

  /** Removes the bar (the trainer then prints the epoch's summary line). */
  stop(): void {
    this.#bar.stop();
  }
}
