/**
 * The confusion matrix of a {@linkcode ScoreReport}, as a text table with each class's
 * accuracy and as an SVG picture (a heat map that any browser shows).
 *
 * @module
 */

import type { ScoreReport } from "./score_report.ts";

/**
 * The confusion matrix as a text table: one row per true class, one column per predicted
 * class (by the first three letters of its name), then the class's image count and accuracy.
 *
 * @example
 * ```ts
 * console.log(formatConfusion(report));
 * // true \ predicted  air  aut  bir ...  images  accuracy
 * // airplane          812   12   35 ...    1000    81.20%
 * ```
 */
export function formatConfusion(report: ScoreReport): string {
  const names = report.perClass.map((c) => c.name);
  const header = ["true \\ predicted", ...names.map((n) => n.slice(0, 3)), "images", "accuracy"];
  const rows = report.confusion.map((row, c) => [
    names[c],
    ...row.map(String),
    String(report.perClass[c].images),
    percent(report.perClass[c].accuracy),
  ]);
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  return all.map((r) =>
    r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join("  ")
  ).join("\n");
}

/** A fraction as a percentage with two decimals, e.g. `71.23%`. */
export function percent(fraction: number): string {
  return `${(fraction * 100).toFixed(2)}%`;
}

/**
 * The confusion matrix as an SVG heat map: each cell is shaded by the fraction of its true
 * class that got that prediction, and labelled with its count; the title gives the accuracy.
 *
 * @example
 * ```ts
 * await Deno.writeTextFile("confusion.svg", confusionSvg(report, "model.onnx"));
 * ```
 */
export function confusionSvg(report: ScoreReport, title: string): string {
  const names = report.perClass.map((c) => c.name);
  const n = names.length;
  const cell = 48;
  const left = 110;
  const top = 120;
  const size = left + n * cell + 20;
  const cells: string[] = [];
  report.confusion.forEach((row, t) => {
    const total = report.perClass[t].images || 1;
    row.forEach((count, p) => {
      const share = count / total;
      // White for none, deep blue for all of the class; the text flips to white on dark cells.
      const shade = Math.round(255 * (1 - share));
      const x = left + p * cell;
      const y = top + t * cell;
      cells.push(
        `<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="rgb(${shade},${shade},255)" stroke="#ccc"/>`,
        `<text x="${x + cell / 2}" y="${
          y + cell / 2 + 4
        }" text-anchor="middle" font-size="12" fill="${
          share > 0.5 ? "white" : "black"
        }">${count}</text>`,
      );
    });
  });
  const labels = names.flatMap((name, i) => [
    `<text x="${left - 6}" y="${top + i * cell + cell / 2 + 4}" text-anchor="end" font-size="12">${
      escape(name)
    }</text>`,
    `<text transform="translate(${left + i * cell + cell / 2 + 4},${
      top - 6
    }) rotate(-60)" font-size="12">${escape(name)}</text>`,
  ]);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${
      top + n * cell + 40
    }" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${escape(title)}: accuracy ${
      percent(report.accuracy)
    } on ${report.images} images</text>`,
    `<text x="10" y="${
      top + n * cell + 28
    }" font-size="12">rows: true class; columns: predicted class</text>`,
    ...labels,
    ...cells,
    `</svg>`,
    "",
  ].join("\n");
}

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
