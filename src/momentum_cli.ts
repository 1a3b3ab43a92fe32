/**
 * `deno task momentum`: solves a one-parameter momentum problem and prints w(K), its
 * certified truncation and the assumptions behind it; `--table` adds every step. The
 * defaults are the handout's Q1, and `--question q2` starts from Q2 instead; any other
 * flag then overrides that question's value.
 *
 * @example
 * ```sh
 * deno task momentum --question q2 --table
 * deno task momentum --activation tanh --divergence squared --rule nesterov --x 0.8 --d 0.3
 * ```
 *
 * @module
 */

import { Command, InvalidArgumentError, Option } from "commander";
import { parseCommandLine } from "./cli.ts";
import { runMain } from "./errors.ts";
import { ExactDecimal } from "./numeric/exact_decimal.ts";
import {
  ACTIVATIONS,
  DIVERGENCES,
  type Enclosure,
  formatEnclosure,
  HANDOUT_PROBLEMS,
  MAX_STEP,
  type MomentumProblem,
  type MomentumSolution,
  solveMomentum,
  truncate,
  UPDATE_RULES,
} from "./momentum.ts";

interface Options {
  question: "q1" | "q2";
  activation?: MomentumProblem["activation"];
  divergence?: MomentumProblem["divergence"];
  rule?: MomentumProblem["rule"];
  x?: string;
  d?: string;
  w1?: string;
  dw1?: string;
  beta?: string;
  eta?: string;
  step?: number;
  reluGradAtZero?: 0 | 1;
  decimals: number;
  digits: number;
  arithmetic: "auto" | "exact" | "interval";
  table?: boolean;
}

function decimal(value: string): string {
  if (ExactDecimal.parse(value) === null) {
    throw new InvalidArgumentError("it must be a decimal number such as 0.5 or -1e-3.");
  }
  return value.trim();
}

function wholeNumber(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\s*\d+\s*$/.test(value) || n < min || n > max) {
      throw new InvalidArgumentError(`it must be a whole number from ${min} to ${max}.`);
    }
    return n;
  };
}

function parseArgs(args: string[]): Options {
  const q1 = HANDOUT_PROBLEMS.q1;
  const program = new Command("deno task momentum")
    .description(
      "Solve y = f(w·x) with one training pair (x, d) under momentum updates, exactly where " +
        "every step is rational and with certified interval arithmetic elsewhere, and print " +
        "w(K) truncated toward zero. Defaults are the handout's Q1; --question q2 starts from " +
        "Q2, and any other flag overrides the chosen question's value.",
    )
    .addOption(
      new Option("--question <id>", "start from a handout question").choices(["q1", "q2"])
        .default("q1"),
    )
    .addOption(
      new Option("--activation <f>", `output function f (Q1: ${q1.activation})`).choices(
        ACTIVATIONS,
      ),
    )
    .addOption(
      new Option(
        "--divergence <div>",
        "l2 = ½(y−d)², the L2 divergence as defined in class; squared = (y−d)²; " +
          `bce = binary cross-entropy (Q1: ${q1.divergence})`,
      ).choices(DIVERGENCES),
    )
    .addOption(
      new Option(
        "--rule <rule>",
        `momentum, nesterov (gradient at w + β·Δw) or gd (plain) (Q1: ${q1.rule})`,
      ).choices(UPDATE_RULES),
    )
    .option("--x <number>", `training input x (Q1: ${q1.x})`, decimal)
    .option("--d <number>", `target output d (Q1: ${q1.d})`, decimal)
    .option("--w1 <number>", `current estimate w(1) (Q1: ${q1.w1})`, decimal)
    .option("--dw1 <number>", `last step taken, Δw(1) (Q1: ${q1.dw1})`, decimal)
    .option("--beta <number>", `momentum β (Q1: ${q1.beta})`, decimal)
    .option("--eta <number>", `learning rate η (Q1: ${q1.eta})`, decimal)
    .option("--step <K>", `print w(K) (Q1: ${q1.step})`, wholeNumber(1, MAX_STEP))
    .addOption(
      new Option("--relu-grad-at-zero <g>", "ReLU'(0), 0 (PyTorch's choice) or 1 (default: 0)")
        .choices(["0", "1"]).argParser((v) => Number(v) as 0 | 1),
    )
    .option(
      "--decimals <N>",
      "truncate w(K) toward zero to N decimals",
      wholeNumber(0, 1000),
      3,
    )
    .addOption(
      new Option(
        "--arithmetic <mode>",
        "exact (ReLU or identity with l2/squared only), interval, or auto: exact where possible",
      ).choices(["auto", "exact", "interval"]).default("auto"),
    )
    .option(
      "--digits <P>",
      "significant digits of interval arithmetic",
      wholeNumber(10, 1000),
      50,
    )
    .option("--table", "print every step: k, w(k), y, the gradient in Δw(k), Δw(k)")
    .addHelpText(
      "after",
      "\nExit status: 0 with a certified truncation, 1 when the bounds straddle a\n" +
        "truncation boundary (raise --digits), 2 for a bad flag or an undefined step.",
    );
  return parseCommandLine<Options>(program, args);
}

/** The chosen handout question with every given flag applied. */
function problemFrom(o: Options): MomentumProblem {
  const base = HANDOUT_PROBLEMS[o.question];
  const given = Object.fromEntries(
    (["activation", "divergence", "rule", "x", "d", "w1", "dw1", "beta", "eta", "step"] as const)
      .filter((k) => o[k] !== undefined).map((k) => [k, o[k]]),
  );
  return { ...base, ...given, reluGradAtZero: o.reluGradAtZero ?? 0 };
}

function table(s: MomentumSolution): string {
  const num = (e: Enclosure | null) => {
    if (!e) return "-";
    const v = (e.lo.toNumber() + e.hi.toNumber()) / 2;
    return v.toPrecision(12).replace(/(\.\d*?)0+(e|$)/, "$1$2").replace(/\.(e|$)/, "$1");
  };
  const rows = [["k", "w(k)", "y(k)", "∇Div in Δw(k)", "Δw(k)"]];
  for (const st of s.steps) {
    rows.push([String(st.k), num(st.w), num(st.y), num(st.grad), num(st.dw)]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => c.padStart(widths[i])).join("  ")).join("\n");
}

/**
 * Runs the CLI with command-line `args`; returns the exit code (0 certified, 1 not certain).
 *
 * @example
 * ```ts
 * main(["--question", "q2", "--table"]); // prints the table and w(167), returns 0
 * ```
 */
export function main(args: string[]): number {
  const o = parseArgs(args);
  const problem = problemFrom(o);
  const s = solveMomentum(problem, {
    arithmetic: o.arithmetic,
    digits: o.digits,
    steps: o.table ?? false,
  });
  const K = problem.step;
  const out: string[] = [];
  const q2 = HANDOUT_PROBLEMS.q2;
  if (problem.activation === q2.activation && problem.x === q2.x && o.question === "q2") {
    out.push(
      "Q2: the handout's y = 1/(1 + exp(0.5w)) is the logistic function of w·x with x = −0.5.",
    );
  }
  out.push(...s.assumptions);
  if (o.table) out.push("", table(s), "(table values rounded to 12 significant digits)");
  out.push(
    "",
    s.arithmetic === "exact"
      ? `w(${K}) = ${formatEnclosure(s.w)} (exact, ${s.w.lo.scale} decimals)`
      : `w(${K}) lies in ${formatEnclosure(s.w, 60)}`,
  );
  const t = truncate(s.w, o.decimals);
  if (!t.certified) {
    out.push(`w(${K}) truncated to ${o.decimals} decimals: not certain: ${t.reason}`);
    console.log(out.join("\n"));
    return 1;
  }
  out.push(
    `w(${K}) truncated to ${o.decimals} decimals (toward zero, digits dropped): ${t.value}`,
  );
  if (t.floor && !t.floor.equals(t.value)) {
    out.push(`(rounded down toward −∞ it would be ${t.floor}; that is not the truncation)`);
  }
  console.log(out.join("\n"));
  return 0;
}

if (import.meta.main) await runMain(() => Promise.resolve(main(Deno.args)));
