/**
 * The grade's two outputs: a score table for the terminal and Gradescope's `results.json`.
 *
 * @module
 */

import { type LeaderboardEntry, type PartResult, passed } from "./question.ts";

/** Gradescope's autograder `results.json` (the fields this grader fills in). */
export interface GradescopeResults {
  score: number;
  execution_time: number;
  output?: string;
  tests: {
    name: string;
    score: number;
    max_score: number;
    status: "passed" | "failed";
    output: string;
    visibility: "visible";
  }[];
  leaderboard?: LeaderboardEntry[];
}

/** Sums of a list of results. */
export function totals(results: PartResult[]): { score: number; maxScore: number } {
  return {
    score: results.reduce((s, r) => s + r.score, 0),
    maxScore: results.reduce((s, r) => s + r.maxScore, 0),
  };
}

function formatWorst(worst: number | null): string {
  if (worst === null) return "-";
  if (Number.isNaN(worst)) return "NaN";
  if (worst === Infinity) return "failed";
  return worst.toExponential(2);
}

function formatPoints(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}

/**
 * The score table: one row per part with the cases passed, the worst difference and the
 * points, then the total; failed parts' messages follow the table.
 *
 * @example
 * ```ts
 * console.log(formatTable("reference", results));
 * ```
 */
export function formatTable(label: string, results: PartResult[]): string {
  const header = ["question", "part", "cases", "worst diff", "points", "result"];
  const rows = results.map((r) => [
    r.question,
    r.part,
    r.cases ? `${r.casesPassed}/${r.cases}` : "-",
    formatWorst(r.worst),
    `${formatPoints(r.score)}/${formatPoints(r.maxScore)}`,
    passed(r) ? "pass" : "FAIL",
  ]);
  const { score, maxScore } = totals(results);
  const footer = ["total", "", "", "", `${formatPoints(score)}/${formatPoints(maxScore)}`, ""];
  const all = [header, ...rows, footer];
  const widths = header.map((_, i) => Math.max(...all.map((row) => row[i].length)));
  const line = (row: string[]) =>
    row.map((cell, i) => (i >= 2 && i <= 4 ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join("  ").trimEnd();
  const rule = widths.map((w) => "-".repeat(w)).join("  ");
  const notes = results.filter((r) => !passed(r)).map((r) =>
    `  ${r.question} ${r.part}: ${r.output}`
  );
  const details = results.filter((r) => r.details).flatMap((r) => [
    "",
    `${r.question} ${r.part}: ${r.output}`,
    "",
    r.details!,
  ]);
  return [
    `Grading ${label}`,
    "",
    line(header),
    rule,
    ...rows.map(line),
    rule,
    line(footer),
    ...(notes.length ? ["", "Failed parts:", ...notes] : []),
    ...details,
  ].join("\n");
}

/**
 * The results in Gradescope's `results.json` schema. The leaderboard is `leaderboard` when
 * given, else the entries the parts contribute (none: no leaderboard).
 *
 * @example
 * ```ts
 * await Deno.writeTextFile("results.json", JSON.stringify(toGradescope(results, 1.5), null, 2));
 * ```
 */
export function toGradescope(
  results: PartResult[],
  executionTime: number,
  leaderboard: LeaderboardEntry[] = results.flatMap((r) => r.leaderboard ?? []),
): GradescopeResults {
  return {
    score: totals(results).score,
    execution_time: Math.round(executionTime * 1000) / 1000,
    tests: results.map((r) => ({
      name: `${r.question} ${r.part}`,
      score: r.score,
      max_score: r.maxScore,
      status: passed(r) ? "passed" : "failed",
      output: r.details ? `${r.output}\n\n${r.details}` : r.output,
      visibility: "visible",
    })),
    ...(leaderboard.length ? { leaderboard } : {}),
  };
}
