/**
 * Batch grading: every subfolder of a folder is a submission; several are graded at once
 * (each Conv1D in its own sandbox), and the batch is summarised as CSV and JSON with a
 * leaderboard ordered by Q4 accuracy. A submission that fails in any way scores zero on
 * what it broke and never stops the others.
 *
 * @module
 */

import { UserError } from "../src/errors.ts";
import { gradeSubmission } from "./grade.ts";
import { type GradeConfig, type PartResult, passed } from "./question.ts";
import { toGradescope, totals } from "./report.ts";
import { DEFAULT_LIMITS } from "./sandbox.ts";
import { emptySubmission, loadSubmission } from "./submission.ts";

/** One graded submission of a batch. */
export interface BatchEntry {
  /** The submission's folder name. */
  name: string;
  results: PartResult[];
  /** Wall-clock seconds its grading took. */
  seconds: number;
  /** Why grading stopped before any part ran, when it did (every part then scores zero). */
  error: string | null;
}

/**
 * The Q4 accuracy (in percent, as Q4 puts it on Gradescope's leaderboard) that a
 * submission's results carry, or null when it has none.
 *
 * @example
 * ```ts
 * accuracyOf(await gradeSubmission(submission, config)); // e.g. 71.23
 * ```
 */
export function accuracyOf(results: PartResult[]): number | null {
  for (const r of results) {
    const entry = r.leaderboard?.find((e) => e.name.toLowerCase() === "accuracy");
    if (typeof entry?.value === "number") return entry.value;
  }
  return null;
}

/**
 * The subfolders of `dir`, sorted by name: the submissions of a batch.
 *
 * @example
 * ```ts
 * const names = await listSubmissions("submissions"); // ["ada", "grace", ...]
 * ```
 */
export async function listSubmissions(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isDirectory && !entry.name.startsWith(".")) names.push(entry.name);
    }
  } catch (error) {
    throw new UserError(`cannot read the submissions folder ${dir} (${(error as Error).message}).`);
  }
  if (names.length === 0) {
    throw new UserError(`${dir} has no subfolders; put each submission in a folder of its own.`);
  }
  return names.sort();
}

/** Grades one submission of a batch; whatever goes wrong becomes the entry's `error`. */
async function gradeOne(dir: string, name: string, config: GradeConfig): Promise<BatchEntry> {
  const started = performance.now();
  const seconds = () => (performance.now() - started) / 1000;
  try {
    const submission = await loadSubmission(`${dir}/${name}`, config.sandbox ?? DEFAULT_LIMITS);
    const results = await gradeSubmission(submission, config);
    return { name, results, seconds: seconds(), error: null };
  } catch (error) {
    // The grader's own problems (no CIFAR-10 test set, an unwritable file) stop the batch:
    // they would fail every submission alike. Anything else is this submission's alone.
    if (error instanceof UserError) throw error;
    const message = (error as Error).message ?? String(error);
    const results = (await gradeSubmission(emptySubmission(name), config)).map((r) => ({
      ...r,
      output: `not graded: ${message}`,
    }));
    return { name, results, seconds: seconds(), error: message };
  }
}

/**
 * Grades every submission in `dir`, `jobs` at a time, calling `onGraded` as each finishes.
 * The entries come back in the order of {@linkcode listSubmissions}.
 *
 * @example
 * ```ts
 * const entries = await gradeBatch("submissions", config, { jobs: 4 });
 * await writeBatch("out", entries);
 * ```
 */
export async function gradeBatch(
  dir: string,
  config: GradeConfig,
  options: { jobs?: number; onGraded?: (entry: BatchEntry) => void } = {},
): Promise<BatchEntry[]> {
  const names = await listSubmissions(dir);
  const jobs = Math.max(1, Math.min(options.jobs ?? navigator.hardwareConcurrency, names.length));
  const entries: BatchEntry[] = new Array(names.length);
  let next = 0;
  const worker = async () => {
    while (next < names.length) {
      const i = next++;
      entries[i] = await gradeOne(dir, names[i], config);
      options.onGraded?.(entries[i]);
    }
  };
  await Promise.all(Array.from({ length: jobs }, worker));
  return entries;
}

/** A CSV field, quoted when it holds a comma, quote or line break. */
function csvField(value: string | number | null): string {
  const text = value === null ? "" : String(value);
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function toCsv(rows: (string | number | null)[][]): string {
  return rows.map((row) => row.map(csvField).join(",")).join("\n") + "\n";
}

/**
 * The summary table: one row per submission with the points of each part, the total, the
 * Q4 accuracy, the seconds it took and any error.
 *
 * @example
 * ```ts
 * await Deno.writeTextFile("summary.csv", summaryCsv(entries));
 * ```
 */
export function summaryCsv(entries: BatchEntry[]): string {
  const parts = entries[0]?.results.map((r) => `${r.question} ${r.part}`) ?? [];
  return toCsv([
    ["submission", ...parts, "total", "max", "accuracy %", "seconds", "error"],
    ...entries.map((e) => {
      const { score, maxScore } = totals(e.results);
      return [
        e.name,
        ...e.results.map((r) => r.score),
        score,
        maxScore,
        accuracyOf(e.results),
        e.seconds.toFixed(2),
        e.error,
      ];
    }),
  ]);
}

/**
 * The entries ordered for the leaderboard: by Q4 accuracy (highest first; none last), then
 * by total points, then by name.
 *
 * @example
 * ```ts
 * const best = leaderboard(entries)[0];
 * ```
 */
export function leaderboard(entries: BatchEntry[]): BatchEntry[] {
  const key = (e: BatchEntry) => accuracyOf(e.results) ?? -Infinity;
  return entries.slice().sort((a, b) =>
    key(b) - key(a) || totals(b.results).score - totals(a.results).score ||
    a.name.localeCompare(b.name)
  );
}

/** The summary as JSON: per submission, per part, total and accuracy. */
function summaryJson(entries: BatchEntry[], seconds: number) {
  return {
    submissions: entries.length,
    seconds: Math.round(seconds * 1000) / 1000,
    entries: entries.map((e) => ({
      name: e.name,
      ...totals(e.results),
      accuracy: accuracyOf(e.results),
      seconds: Math.round(e.seconds * 1000) / 1000,
      error: e.error,
      parts: e.results.map((r) => ({
        question: r.question,
        part: r.part,
        score: r.score,
        maxScore: r.maxScore,
        output: r.output,
      })),
    })),
  };
}

/**
 * Writes a batch's outputs to `dir`: `summary.csv`, `summary.json`, `leaderboard.csv`, and
 * each submission's Gradescope `results.json` as `results/NAME.json`.
 *
 * @example
 * ```ts
 * await writeBatch("out", await gradeBatch("submissions", config), 12.5);
 * ```
 */
export async function writeBatch(dir: string, entries: BatchEntry[], seconds: number) {
  try {
    await Deno.mkdir(`${dir}/results`, { recursive: true });
    await Deno.writeTextFile(`${dir}/summary.csv`, summaryCsv(entries));
    await Deno.writeTextFile(
      `${dir}/summary.json`,
      JSON.stringify(summaryJson(entries, seconds), null, 2) + "\n",
    );
    await Deno.writeTextFile(
      `${dir}/leaderboard.csv`,
      toCsv([
        ["rank", "submission", "accuracy %", "total", "max"],
        ...leaderboard(entries).map((e, i) => {
          const { score, maxScore } = totals(e.results);
          return [i + 1, e.name, accuracyOf(e.results), score, maxScore];
        }),
      ]),
    );
    for (const e of entries) {
      await Deno.writeTextFile(
        `${dir}/results/${e.name}.json`,
        JSON.stringify(toGradescope(e.results, e.seconds), null, 2) + "\n",
      );
    }
  } catch (error) {
    throw new UserError(`cannot write the batch results to ${dir} (${(error as Error).message}).`);
  }
}

/** The first failure worth reading: a real one before the parts that were not submitted. */
function firstProblem(results: PartResult[]): string {
  const failed = results.filter((r) => !passed(r));
  const real = failed.find((r) => r.output !== "not submitted");
  if (real) {
    const message = real.output.split("\n")[0].replace(/^\d+ of \d+ cases failed; first: /, "");
    return `${real.question} ${real.part}: ${message}`;
  }
  const missing = [...new Set(failed.map((r) => r.question))];
  return missing.length ? `not submitted: ${missing.join(", ")}` : "";
}

/**
 * The batch as a terminal table: each submission's points, accuracy and seconds, best
 * first, with the first failure of each.
 *
 * @example
 * ```ts
 * console.log(formatBatch(entries));
 * ```
 */
export function formatBatch(entries: BatchEntry[]): string {
  const header = ["rank", "submission", "points", "accuracy %", "seconds", "first problem"];
  const rows = leaderboard(entries).map((e, i) => {
    const { score, maxScore } = totals(e.results);
    const accuracy = accuracyOf(e.results);
    const problem = e.error ?? firstProblem(e.results);
    return [
      String(i + 1),
      e.name,
      `${score}/${maxScore}`,
      accuracy === null ? "-" : accuracy.toFixed(2),
      e.seconds.toFixed(2),
      problem.length > 100 ? `${problem.slice(0, 97)}...` : problem,
    ];
  });
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  return all.map((r) => r.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd()).join("\n");
}
