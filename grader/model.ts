/**
 * Q4: the CIFAR-10 competition. The submitted `model.onnx` is scored on the whole test set
 * in a child process under a time limit ({@linkcode scoreInChildProcess}), and its accuracy
 * earns points by the rule in `grader/config.json`: linear between a floor and a ceiling
 * accuracy, or the course's cut-offs. Anything wrong with the model is one sentence and
 * zero points for Q4 while the rest of the grade goes on; a grader without the test set is
 * an error of the grader's (exit 2), never zero points for the student.
 *
 * @module
 */

import { locateCifar10 } from "../src/data/locate.ts";
import { UserError } from "../src/errors.ts";
import { confusionSvg, formatConfusion, percent } from "../src/onnx/confusion.ts";
import { ModelError } from "../src/onnx/model_error.ts";
import type { ScoreReport } from "../src/onnx/score_report.ts";
import { scoreInChildProcess } from "../src/onnx/score_process.ts";
import {
  type GradeConfig,
  type PartResult,
  partResult,
  type Question,
  type Submission,
} from "./question.ts";

/**
 * How accuracy becomes points: `linear` gives nothing at or below `floor`, full points at or
 * above `ceiling` and a straight line between; `cutoffs` gives the `fraction` of the points
 * of the highest cut-off whose `accuracy` is reached (nothing below them all).
 */
export type PointsRule =
  | { kind: "linear"; floor: number; ceiling: number }
  | { kind: "cutoffs"; cutoffs: { accuracy: number; fraction: number }[] };

/** Q4's settings: `"q4"` in `grader/config.json`; the command line may override them. */
export interface CompetitionConfig {
  rule: PointsRule;
  /** Seconds the model may take for the whole test set once loaded. */
  timeLimitSeconds: number;
  /** Images per run for a dynamic-batch model. */
  batchSize: number;
  /** onnxruntime's threads (absent: one per core). */
  threads?: number;
  /** Where CIFAR-10 is (`--data`; absent: `CIFAR10_DIR`, then `data/`). */
  data?: string;
  /** Where to write the confusion matrix as SVG (`--confusion`; absent: nowhere). */
  confusionImage?: string;
}

/** The settings used where `grader/config.json` has no `"q4"`. */
export const DEFAULT_COMPETITION: CompetitionConfig = {
  rule: { kind: "linear", floor: 0.4, ceiling: 0.75 },
  timeLimitSeconds: 600,
  batchSize: 256,
};

/**
 * The points a model of `accuracy` earns out of `maxPoints` under `rule`.
 *
 * @example
 * ```ts
 * competitionPoints(0.6, { kind: "linear", floor: 0.4, ceiling: 0.8 }, 20); // 10
 * ```
 */
export function competitionPoints(accuracy: number, rule: PointsRule, maxPoints: number): number {
  if (rule.kind === "linear") {
    const t = (accuracy - rule.floor) / (rule.ceiling - rule.floor);
    return Math.round(maxPoints * Math.min(1, Math.max(0, t)) * 100) / 100;
  }
  const reached = rule.cutoffs.filter((c) => accuracy >= c.accuracy);
  const fraction = Math.max(0, ...reached.map((c) => c.fraction));
  return Math.round(maxPoints * fraction * 100) / 100;
}

/** The rule in words, for the report. */
function describeRule(rule: PointsRule): string {
  if (rule.kind === "linear") {
    return `points linear from ${percent(rule.floor)} (none) to ${percent(rule.ceiling)} (all)`;
  }
  const steps = [...rule.cutoffs].sort((a, b) => b.accuracy - a.accuracy)
    .map((c) => `${percent(c.accuracy)}: ${c.fraction * 100}%`);
  return `points by cut-offs (${steps.join(", ")})`;
}

/**
 * Checks the `"q4"` section of a grader config and fills in defaults.
 *
 * @throws {UserError} naming the file and the field that is wrong.
 *
 * @example
 * ```ts
 * const q4 = checkCompetitionConfig({ rule: { kind: "linear", floor: 0.3, ceiling: 0.7 } }, "config.json");
 * ```
 */
export function checkCompetitionConfig(value: unknown, path: string): CompetitionConfig {
  if (value === undefined) return { ...DEFAULT_COMPETITION };
  const bad = (what: string) => new UserError(`the grader config ${path} has a bad "q4": ${what}.`);
  if (typeof value !== "object" || value === null) throw bad("it must be an object");
  const q4 = { ...DEFAULT_COMPETITION, ...value } as CompetitionConfig;
  const fraction = (x: unknown) => typeof x === "number" && x >= 0 && x <= 1;
  const rule = q4.rule as PointsRule;
  if (rule?.kind === "linear") {
    if (!fraction(rule.floor) || !fraction(rule.ceiling) || !(rule.floor < rule.ceiling)) {
      throw bad(`a linear rule needs accuracies 0 <= "floor" < "ceiling" <= 1`);
    }
  } else if (rule?.kind === "cutoffs") {
    if (
      !Array.isArray(rule.cutoffs) || rule.cutoffs.length === 0 ||
      !rule.cutoffs.every((c) => fraction(c?.accuracy) && fraction(c?.fraction))
    ) {
      throw bad(
        `a cutoffs rule needs "cutoffs": [{"accuracy": 0.7, "fraction": 1}, ...] in [0, 1]`,
      );
    }
  } else {
    throw bad(`"rule" must have "kind": "linear" or "cutoffs"`);
  }
  const positive = (x: unknown) => typeof x === "number" && x > 0;
  if (!positive(q4.timeLimitSeconds)) throw bad(`"timeLimitSeconds" must be a positive number`);
  if (!(Number.isInteger(q4.batchSize) && q4.batchSize > 0)) {
    throw bad(`"batchSize" must be a positive integer`);
  }
  if (q4.threads !== undefined && !(Number.isInteger(q4.threads) && q4.threads > 0)) {
    throw bad(`"threads" must be a positive integer`);
  }
  return q4;
}

/**
 * Grades a submitted model: one part, `accuracy`, whose points follow the config's rule.
 *
 * @throws {UserError} only for the grader's own problems (no test set, an unwritable
 * confusion image); everything about the model becomes the part's output.
 *
 * @example
 * ```ts
 * const [accuracy] = await gradeModel("model.onnx", await loadConfig());
 * console.log(accuracy.output); // "accuracy 71.23% (7123 of 10000 test images), ..."
 * ```
 */
export async function gradeModel(model: string | null, config: GradeConfig): Promise<PartResult[]> {
  const q4 = config.q4 ?? DEFAULT_COMPETITION;
  const maxScore = config.points.q4?.accuracy ?? 0;
  const result = (fields: Partial<PartResult>): PartResult[] => [
    partResult("q4", "accuracy", maxScore, { pass: false, ...fields }),
  ];
  if (model === null) return result({ output: "not submitted" });

  // The grader never downloads: a missing test set is for the person running it to place.
  const data = await locateCifar10({ data: q4.data, download: false });
  if (!data.hasTest) {
    throw new UserError(`the CIFAR-10 folder ${data.dir} has no test set; Q4 needs it.`);
  }
  let report: ScoreReport;
  try {
    report = await scoreInChildProcess(model, data, q4);
  } catch (error) {
    if (error instanceof ModelError) return result({ output: error.message });
    throw error;
  }
  if (q4.confusionImage) {
    try {
      await Deno.writeTextFile(q4.confusionImage, confusionSvg(report, model));
    } catch (error) {
      throw new UserError(`cannot write ${q4.confusionImage} (${(error as Error).message}).`);
    }
  }
  const score = competitionPoints(report.accuracy, q4.rule, maxScore);
  return result({
    cases: report.images,
    casesPassed: report.correct,
    score,
    pass: true,
    output:
      `accuracy ${percent(report.accuracy)} (${report.correct} of ${report.images} test images), ` +
      `${Math.round(report.imagesPerSecond)} images/s at batch ${report.batchSize} ` +
      `(${report.fixedBatch ? "fixed by the model" : "dynamic"}); ${describeRule(q4.rule)}.`,
    details: formatConfusion(report),
    leaderboard: [
      { name: "Accuracy", value: Math.round(report.accuracy * 10000) / 100, order: "desc" },
      { name: "Images/s", value: Math.round(report.imagesPerSecond), order: "desc" },
    ],
  });
}

/** Q4 as a grader question: scores `submission.model` on the CIFAR-10 test set. */
export const q4: Question = {
  id: "q4",
  title: "CIFAR-10 competition",
  grade(submission: Submission, config: GradeConfig) {
    return gradeModel(submission.model, config);
  },
};
