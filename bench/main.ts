/**
 * `deno task bench`: times this project and PyTorch on the same cases in the same run and
 * prints a table of both and their ratio (project ÷ PyTorch, in time: below 1 is faster).
 * The two sides alternate case by case, so a load that comes and goes on a shared machine
 * hits both alike; the table's header gives the machine, the thread counts and the load.
 *
 * Options: `--only TEXT` runs the cases whose name contains TEXT; `--no-torch` skips
 * PyTorch; `--python PATH` picks the interpreter (default /usr/bin/python3).
 *
 * @module
 */

import { Command } from "commander";
import { loadavg } from "node:os";
import { cpuUsage } from "node:process";
import { runMain, UserError } from "../src/errors.ts";
import { FastGemm, hasRelaxedSimd } from "../src/kernels/gemm_fast.ts";
import { type BenchCase, CASES, type Run, SETUP } from "./cases.ts";

/** A case's time on one side: median seconds per run, and the cores it kept busy. */
export interface Timing {
  seconds: number;
  /** CPU seconds the process used per wall-clock second over the timed runs. */
  cores: number;
}

/**
 * Median seconds of `run()` after a warm-up run, repeated for about `budget` seconds (the
 * warm-up is the only run when it alone takes longer), and the process's CPU time over
 * those runs per wall second: on a loaded machine a 2-thread case that gets 1.0 core did
 * not get its second core, whatever its code does.
 */
export async function timeIt(run: Run, budget: number): Promise<Timing> {
  let t = performance.now();
  let cpu = cpuUsage();
  await run();
  const first = (performance.now() - t) / 1000;
  if (first > budget) return { seconds: first, cores: cpuSeconds(cpu) / first };
  const times: number[] = [];
  const start = performance.now();
  cpu = cpuUsage();
  while (times.length < 3 || (performance.now() - start < budget * 1000 && times.length < 50)) {
    t = performance.now();
    await run();
    times.push((performance.now() - t) / 1000);
  }
  const cores = cpuSeconds(cpu) / ((performance.now() - start) / 1000);
  times.sort((a, b) => a - b);
  return { seconds: times[times.length >> 1], cores };
}

const cpuSeconds = (since: ReturnType<typeof cpuUsage>) => {
  const { user, system } = cpuUsage(since);
  return (user + system) / 1e6;
};

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

/** A running `torch_bench.py`, asked one case at a time. */
class TorchSide {
  readonly version: string;
  readonly blas: string;
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #lines: AsyncIterator<string>;

  private constructor(
    child: Deno.ChildProcess,
    lines: AsyncIterator<string>,
    hello: { torch: string; blas: string },
  ) {
    this.#child = child;
    this.#writer = child.stdin.getWriter();
    this.#lines = lines;
    this.version = hello.torch;
    this.blas = hello.blas;
  }

  /** Starts PyTorch's side; null (with the reason printed) where it cannot run. */
  static async start(python: string): Promise<TorchSide | null> {
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
    const lines = child.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(lineSplitter())
      [Symbol.asyncIterator]();
    const first = await lines.next();
    if (first.done) {
      const { stderr } = await child.output().catch(() => ({ stderr: new Uint8Array() }));
      const why = new TextDecoder().decode(stderr).trim().split("\n").at(-1) || "no output";
      console.log(`PyTorch: not run (${why}); printing this project's numbers only`);
      return null;
    }
    return new TorchSide(child, lines, JSON.parse(first.value));
  }

  /** PyTorch's timing of one case at the case's thread count (undefined for an unknown kind). */
  async time(c: BenchCase): Promise<Timing | undefined> {
    await this.#writer.write(new TextEncoder().encode(JSON.stringify(c) + "\n"));
    const line = await this.#lines.next();
    if (line.done) throw new Error("PyTorch's side of the benchmark stopped");
    const { seconds, cores } = JSON.parse(line.value);
    return seconds === null ? undefined : { seconds, cores };
  }

  async close(): Promise<void> {
    await this.#writer.close();
    await this.#child.status;
  }
}

function lineSplitter(): TransformStream<string, string> {
  let rest = "";
  return new TransformStream({
    transform(chunk, controller) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop()!;
      for (const part of parts) controller.enqueue(part);
    },
  });
}

function show(c: BenchCase, seconds: number | undefined): string {
  if (seconds === undefined) return "—";
  if (c.unit === "ms") return (seconds * 1000).toPrecision(4);
  const rate = (c.work ?? 1) / seconds;
  return (c.unit === "GFLOP/s" ? rate / 1e9 : rate).toPrecision(4);
}

async function bench(
  options: { only?: string; torch: boolean; python: string; progress?: boolean },
) {
  const cases = CASES.filter((c) => !options.only || c.name.includes(options.only));
  if (cases.length === 0) throw new UserError(`no benchmark case name contains "${options.only}"`);
  const load = loadavg().map((l) => l.toFixed(2)).join(" ");
  console.log(
    `CPU: ${cpuModel()}, ${navigator.hardwareConcurrency} hardware threads; load average ${load}`,
  );
  console.log(
    `this project: Deno ${Deno.version.deno}, V8 ${Deno.version.v8}, WebAssembly ${
      hasRelaxedSimd ? "relaxed SIMD" : "SIMD"
    }`,
  );
  const torch = options.torch ? await TorchSide.start(options.python) : null;
  if (torch) {
    console.log(
      `PyTorch ${torch.version}, BLAS ${torch.blas}; torch.set_num_threads(threads) per case`,
    );
  }
  const maxThreads = Math.max(...cases.map((c) => c.threads));
  const fast = await FastGemm.start({ threads: maxThreads });
  const rows = [["case", "threads", "unit", "project", "cores", "PyTorch", "cores", "time ratio"]];
  try {
    for (const c of cases) {
      const run = await SETUP[c.kind](c, fast);
      await fast.ready(); // Workers that left while PyTorch ran come back before the timing
      const ours = await timeIt(run, c.budget);
      const theirs = await torch?.time(c);
      const ratio = theirs === undefined ? "—" : (ours.seconds / theirs.seconds).toFixed(2);
      rows.push([
        c.name,
        String(c.threads),
        c.unit,
        show(c, ours.seconds),
        ours.cores.toFixed(2),
        show(c, theirs?.seconds),
        theirs?.cores.toFixed(2) ?? "—",
        ratio,
      ]);
      if (options.progress) console.error(rows.at(-1)!.join("  "));
    }
  } finally {
    fast.close();
    await torch?.close();
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const [i, row] of rows.entries()) {
    const cells = row.map((cell, j) => j === 0 ? cell.padEnd(widths[j]) : cell.padStart(widths[j]));
    console.log(cells.join("  "));
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
      .option("--progress", "print each row on stderr as soon as it is measured")
      .action(bench)
      .parseAsync(["deno", "bench", ...Deno.args]);
  });
}
