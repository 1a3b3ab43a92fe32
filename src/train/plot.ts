/**
 * Training curves as a self-contained SVG: one panel per metric, one line per series.
 * Plain SVG keeps the trainer free of a plotting stack; any browser or image viewer shows it.
 *
 * @module
 */

/** One line of a panel: a name and its values per epoch (`null` where there is none). */
export interface Series {
  name: string;
  values: (number | null)[];
}

/** One panel: a title, an optional fixed y range, and its lines. */
export interface Panel {
  title: string;
  series: Series[];
  yMin?: number;
  yMax?: number;
}

const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd"];
const W = 420, H = 300, M = { left: 52, right: 16, top: 30, bottom: 40 };

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** Round tick values covering `[lo, hi]`. */
function ticks(lo: number, hi: number, count = 5): number[] {
  const raw = (hi - lo) / count || 1;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((f) => f * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
    out.push(Number(v.toPrecision(12)));
  }
  return out;
}

function panelSvg(panel: Panel, x0: number): string {
  const values = panel.series.flatMap((s) => s.values).filter((v): v is number =>
    v !== null && Number.isFinite(v)
  );
  const epochs = Math.max(1, ...panel.series.map((s) => s.values.length));
  let lo = panel.yMin ?? Math.min(...values, Infinity);
  let hi = panel.yMax ?? Math.max(...values, -Infinity);
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) [lo, hi] = [0, 1];
  if (hi === lo) [lo, hi] = [lo - 0.5, hi + 0.5];
  const pw = W - M.left - M.right, ph = H - M.top - M.bottom;
  const sx = (e: number) => x0 + M.left + (epochs === 1 ? pw / 2 : (e / (epochs - 1)) * pw);
  const sy = (v: number) => M.top + ph - ((v - lo) / (hi - lo)) * ph;
  const parts: string[] = [
    `<text x="${x0 + W / 2}" y="18" text-anchor="middle" font-weight="bold">${
      escape(panel.title)
    }</text>`,
    `<rect x="${
      x0 + M.left
    }" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`,
  ];
  for (const t of ticks(lo, hi)) {
    const y = sy(t).toFixed(1);
    parts.push(
      `<line x1="${x0 + M.left}" x2="${x0 + M.left + pw}" y1="${y}" y2="${y}" stroke="#eee"/>`,
      `<text x="${
        x0 + M.left - 6
      }" y="${y}" text-anchor="end" dominant-baseline="middle">${t}</text>`,
    );
  }
  for (const t of ticks(1, epochs, Math.min(epochs, 8)).filter(Number.isInteger)) {
    parts.push(
      `<text x="${sx(t - 1).toFixed(1)}" y="${M.top + ph + 16}" text-anchor="middle">${t}</text>`,
    );
  }
  parts.push(`<text x="${x0 + M.left + pw / 2}" y="${H - 6}" text-anchor="middle">epoch</text>`);
  panel.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const points = s.values.map((v, e) => [e, v] as const).filter(([, v]) =>
      v !== null && Number.isFinite(v)
    ).map(([e, v]) => `${sx(e).toFixed(1)},${sy(v as number).toFixed(1)}`);
    if (points.length > 1) {
      parts.push(
        `<polyline fill="none" stroke="${color}" stroke-width="2" points="${points.join(" ")}"/>`,
      );
    }
    for (const p of points) {
      const [cx, cy] = p.split(",");
      parts.push(`<circle cx="${cx}" cy="${cy}" r="2.5" fill="${color}"/>`);
    }
    const ly = M.top + 14 + i * 16;
    parts.push(
      `<line x1="${x0 + M.left + pw - 110}" x2="${
        x0 + M.left + pw - 92
      }" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"/>`,
      `<text x="${x0 + M.left + pw - 88}" y="${ly}" dominant-baseline="middle">${
        escape(s.name)
      }</text>`,
    );
  });
  return parts.join("\n");
}

/**
 * Renders panels side by side as one SVG document.
 *
 * @example
 * ```ts
 * const svg = plotSvg([
 *   { title: "loss", series: [{ name: "train", values: [2.1, 1.4, 1.1] }] },
 *   { title: "accuracy (%)", series: [{ name: "val", values: [40, 55, 61] }], yMin: 0, yMax: 100 },
 * ]);
 * await Deno.writeTextFile("curves.svg", svg);
 * ```
 */
export function plotSvg(panels: Panel[]): string {
  const width = W * panels.length;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${H}" viewBox="0 0 ${width} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...panels.map((p, i) => panelSvg(p, i * W)),
    "</svg>",
    "",
  ].join("\n");
}
