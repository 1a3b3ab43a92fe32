/**
 * `deno task bench`: times this project and PyTorch on the same cases in the same run and
 * prints a table of both and their ratio (project ÷ PyTorch, in time: below 1 is faster).
 *
 * Options: `--only TEXT` runs the cases whose name contains TEXT; `--no-torch` skips
 * PyTorch; `--python PATH` picks the interpreter (default /usr/bin/python3).
 *
 * @module
 */

import { Command } from "commander";
import { runMain, UserError } from "../src/errors.ts";
import { type BenchCase, CASES, SETUP } from "./cases.ts";

/** Median seconds of `run()` after a warm-up run, repeated for about `budget` seconds. */
export function timeIt(run: () => void, budget: number): number {
  let t = performance.now();
  run();
  const first = (performance.now() - t) / 1000;
  if (first > budget) return first;
  const times: number[] = [];
  const start = performance.now();
  while (times.length < 3 || (performance.now() - start < budget * 1000 && times.length < 50)) {
    t = performance.now();
    run();
    times.push((performance.now() - t) / 1000);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

/** The CPU's model name from `lscpu` (Deno will not read /proc/cpuinfo without --allow-all). */
function cpuModel(): string {
  try {
    const out = new Deno.Command("lscpu", { env: { LC_ALL: "C" } }).outputSync();
    const text = new TextDecoder().decode(out.stdout);
    return text.match(/^Model name:\s*(.*)$/m)?.[1] ?? "unknown CPU";
  } catch {
    return `${Deno.build.arch} (model unknown)`;
  }
}

interface TorchResult {
  torch: string;
  threads: number;
  seconds: Record<string, number>;
}

/** Runs `torch_bench.py`; null (with the reason printed) where PyTorch is not available. */
async function runTorch(python: string, threads: number, cases: BenchCase[]) {
  const script = new URL("./torch_bench.py", import.meta.url).pathname;
  let child;
  try {
    child = new Deno.Command(python, {
      args: [script],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch {
    console.log(`PyTorch: not run (${python} not found); printing this project's numbers only`);
    return null;
  }
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify({ threads, cases })));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  if (code !== 0) {
    const why = new TextDecoder().decode(stderr).trim().split("\n").at(-1);
    console.log(`PyTorch: not run (${why}); printing this project's numbers only`);
    return null;
  }
  return JSON.parse(new TextDecoder().decode(stdout)) as TorchResult;
}

function show(c: BenchCase, seconds: number | undefined): string {
  if (seconds === undefined) return "—";
  if (c.unit === "ms") return (seconds * 1000).toPrecision(4);
  const rate = (c.work ?? 1) / seconds;
  return (c.unit === "GFLOP/s" ? rate / 1e9 : rate).toPrecision(4);
}

async function bench(options: { only?: string; torch: boolean; python: string }) {
  const cases = CASES.filter((c) => !options.only || c.name.includes(options.only));
  if (cases.length === 0) throw new UserError(`no benchmark case name contains "${options.only}"`);
  const threads = 1;
  console.log(`CPU: ${cpuModel()}, ${navigator.hardwareConcurrency} hardware threads`);
  console.log(
    `this project: ${threads} thread(s); Deno ${Deno.version.deno}, V8 ${Deno.version.v8}`,
  );
  const torch = options.torch ? await runTorch(options.python, threads, cases) : null;
  if (torch) console.log(`PyTorch ${torch.torch}: ${torch.threads} thread(s)`);
  const rows = [["case", "unit", "project", "PyTorch", "time ratio"]];
  for (const c of cases) {
    const ours = timeIt(SETUP[c.kind](c), c.budget);
    const theirs = torch?.seconds[c.name];
    const ratio = theirs === undefined ? "—" : (ours / theirs).toFixed(2);
    rows.push([c.name, c.unit, show(c, ours), show(c, theirs), ratio]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const [i, row] of rows.entries()) {
    console.log(
      row.map((cell, j) => j === 0 ? cell.padEnd(widths[j]) : cell.padStart(widths[j])).join("  "),
    );
    if (i === 0) console.log(widths.map((w) => "-".repeat(w)).join("  "));
  }
}

if (import.meta.main) {
  await runMain(async () => {
    await new Command("bench")
      .description("time this project against PyTorch on the same cases")
      .option("--only <text>", "run only the cases whose name contains this text")
      .option("--no-torch", "skip PyTorch")
      .option("--python <path>", "the Python with torch installed", "/usr/bin/python3")
      .action(bench)
      .parseAsync(["deno", "bench", ...Deno.args]);
  });
}
