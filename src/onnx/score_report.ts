/**
 * What scoring a model finds ({@linkcode ScoreReport}) and the settings of a run, apart from
 * `score.ts` so that they can be used without loading onnxruntime's native code.
 *
 * @module
 */

/** Settings of a scoring run. */
export interface ScoreOptions {
  /** Images per `run` call for a dynamic-batch model (default 256). */
  batchSize?: number;
  /** onnxruntime's intra-op threads (default: its own choice, one per core). */
  threads?: number;
}

/** What scoring found. */
export interface ScoreReport {
  /** Test images scored. */
  images: number;
  /** How many of them the model predicted right. */
  correct: number;
  /** `correct / images`, in [0, 1]. */
  accuracy: number;
  /** Per class (label order): images of that class, and the fraction predicted right. */
  perClass: { name: string; images: number; correct: number; accuracy: number }[];
  /** `confusion[label][predicted]`: how many images of class `label` got `predicted`. */
  confusion: number[][];
  /** The predicted class of every test image, in order. */
  predictions: number[];
  /** Seconds spent inside onnxruntime's `run`. */
  seconds: number;
  /** Test images per second of `run`. */
  imagesPerSecond: number;
  /** Images per `run` call. */
  batchSize: number;
  /** Whether the model fixed that number (else it was the grader's choice). */
  fixedBatch: boolean;
}

/** The number of classes the contract demands. */
export const NUM_CLASSES = 10;

/**
 * Accuracy, per-class accuracy and the confusion matrix of `predictions` against `labels`.
 *
 * @example
 * ```ts
 * const r = summarise([0, 1], new Uint8Array([0, 0]), CIFAR10_CLASSES, { seconds: 1, batchSize: 2, fixedBatch: false });
 * r.accuracy; // 0.5
 * ```
 */
export function summarise(
  predictions: number[],
  labels: Uint8Array,
  classes: readonly string[],
  timing: { seconds: number; batchSize: number; fixedBatch: boolean },
): ScoreReport {
  const confusion = classes.map(() => new Array<number>(classes.length).fill(0));
  predictions.forEach((p, i) => confusion[labels[i]][p]++);
  const correct = confusion.reduce((s, row, c) => s + row[c], 0);
  const images = predictions.length;
  return {
    images,
    correct,
    accuracy: images ? correct / images : 0,
    perClass: classes.map((name, c) => {
      const total = confusion[c].reduce((a, b) => a + b, 0);
      return {
        name,
        images: total,
        correct: confusion[c][c],
        accuracy: total ? confusion[c][c] / total : 0,
      };
    }),
    confusion,
    predictions,
    seconds: timing.seconds,
    imagesPerSecond: timing.seconds > 0 ? images / timing.seconds : 0,
    batchSize: timing.batchSize,
    fixedBatch: timing.fixedBatch,
  };
}
