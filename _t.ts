import { solveMomentum, truncate, HANDOUT_PROBLEMS, formatEnclosure } from "./src/momentum.ts";
for (const q of ["q1", "q2"] as const) {
  const t0 = performance.now();
  const s = solveMomentum(HANDOUT_PROBLEMS[q]);
  const t = truncate(s.w, 3);
  console.log(q, s.arithmetic, formatEnclosure(s.w, 45), t.certified ? [t.value.toString(), t.floor?.toString(), t.rounded?.toString()] : t.reason, (performance.now()-t0).toFixed(1), "ms", s.w.lo.scale);
}
const s = solveMomentum(HANDOUT_PROBLEMS.q1, { arithmetic: "interval" });
console.log(formatEnclosure(s.w, 45));
