/**
 * Runs a student's `layers.ts` in a separate, locked-down Deno process and returns what its
 * `Conv1D` computed, for the grader to compare (Q3).
 *
 * The child runs the trusted `sandbox/harness.ts`, which imports the student's module.
 * What the child may do:
 *
 * - read only a private copy of the submission's code files (`--allow-read=<copy>`), and
 *   load the cached npm packages the import map names (`ndarray`); no network
 *   (`--deny-net`, `--no-remote`, `--cached-only`), no environment (the child's is also
 *   cleared), no subprocesses, no FFI, no writes, no system information;
 * - use a V8 heap of half of `memoryMb`; the whole process's writable memory is capped at
 *   `memoryMb` with `prlimit --data` where `prlimit` exists, and a watchdog kills it if its
 *   resident memory passes `memoryMb` (typed arrays live outside the V8 heap);
 * - take `startSeconds` to start and import the module, and `caseSeconds` per case; past
 *   either it is killed (and `prlimit --cpu` ends a child that outlives a killed grader).
 *
 * The child receives only the cases' inputs; the expected outputs stay in this process. It
 * answers in frames marked with a random token it read from stdin before the student's code
 * was loaded (see `sandbox/protocol.ts`), so anything the student prints is shown to them
 * but never parsed as a result. Whatever goes wrong (a crash, an exit, a timeout, garbage)
 * becomes an error on the cases without results, and grading carries on.
 *
 * @module
 */

import { UserError } from "../src/errors.ts";
import { contiguous, type Tensor, tensor } from "../src/tensor.ts";
import type { Conv1DCase, Conv1DOutput, Conv1DOutputs, Conv1DRunner } from "./conv1d.ts";
import {
  decodeCaseFrame,
  decodeMessage,
  encodeInputs,
  FRAME,
  type Frame,
  FrameReader,
  TOKEN_BYTES,
  type WireCase,
  type WireOutput,
} from "./sandbox/protocol.ts";

/** The sandbox's time and memory limits. */
export interface SandboxLimits {
  /** Seconds the child may take to start and import the student's module. */
  startSeconds: number;
  /** Seconds each case (constructor, forward, backward) may take. */
  caseSeconds: number;
  /** The child's memory cap in MiB (at least 768: Deno itself reserves about 600). */
  memoryMb: number;
}

/** The limits used when `grader/config.json` does not set `sandbox`. */
export const DEFAULT_LIMITS: SandboxLimits = { startSeconds: 10, caseSeconds: 2, memoryMb: 1024 };

const HARNESS = new URL("./sandbox/harness.ts", import.meta.url).pathname;
const IMPORT_MAP = new URL("./sandbox/import_map.json", import.meta.url).pathname;

/** Files copied into the sandbox: code and small data the student's module may import. */
const CODE_FILE = /\.(ts|mts|cts|tsx|js|mjs|cjs|jsx|json|txt|csv)$/;
/** Files never copied: they would configure the child Deno (imports, unstable features). */
const CONFIG_FILE = /^(deno\.jsonc?|package\.json|deno\.lock|tsconfig\.json|import_map\.json)$/;
const MAX_FILE_BYTES = 4 * 2 ** 20;
const MAX_COPY_BYTES = 16 * 2 ** 20;

/**
 * A {@linkcode Conv1DRunner} that runs the `Conv1D` exported by `layersPath` in a sandbox.
 *
 * @example
 * ```ts
 * const results = await gradeConv1D(sandboxConv1D("submissions/ada/layers.ts"), fixtures, config);
 * ```
 */
export function sandboxConv1D(
  layersPath: string,
  limits: SandboxLimits = DEFAULT_LIMITS,
): Conv1DRunner {
  return async (cases) => {
    await cacheHarness();
    const copy = await Deno.makeTempDir({ prefix: "grader-sandbox-" });
    try {
      const name = layersPath.slice(layersPath.lastIndexOf("/") + 1);
      await copyCode(layersPath.slice(0, layersPath.lastIndexOf("/") + 1) || ".", copy, 0, {
        bytes: 0,
      });
      return await runChild(`${copy}/${name}`, copy, cases, limits);
    } finally {
      await Deno.remove(copy, { recursive: true }).catch(() => {});
    }
  };
}

/**
 * Caches the harness's dependencies exactly as the child resolves them (no config, no lock
 * file, the sandbox's import map), once per grader process. The child runs `--cached-only`
 * with no network, and a fresh Deno cache holds the project's packages but not the registry
 * metadata that resolution without a lock file needs. This runs trusted code only.
 */
let harnessCached: Promise<void> | null = null;
function cacheHarness(): Promise<void> {
  harnessCached ??= new Deno.Command(Deno.execPath(), {
    args: ["cache", "--quiet", "--no-config", "--no-lock", `--import-map=${IMPORT_MAP}`, HARNESS],
    stdout: "null",
    stderr: "piped",
  }).output().then(({ success, stderr }) => {
    if (!success) {
      const why = new TextDecoder().decode(stderr).trim().split("\n")[0];
      throw new UserError(
        `cannot cache the sandbox's dependencies (${why}); run the grader once with network access.`,
      );
    }
  });
  return harnessCached;
}

/** Copies the code files under `from` to `to` (no links, no hidden folders, no config). */
async function copyCode(
  from: string,
  to: string,
  depth: number,
  total: { bytes: number },
): Promise<void> {
  for await (const entry of Deno.readDir(from)) {
    const source = `${from}/${entry.name}`;
    if (entry.isSymlink || entry.name.startsWith(".") || entry.name === "node_modules") continue;
    if (entry.isDirectory && depth < 4) {
      await Deno.mkdir(`${to}/${entry.name}`);
      await copyCode(source, `${to}/${entry.name}`, depth + 1, total);
    } else if (entry.isFile && CODE_FILE.test(entry.name) && !CONFIG_FILE.test(entry.name)) {
      const { size } = await Deno.stat(source);
      if (size > MAX_FILE_BYTES || total.bytes + size > MAX_COPY_BYTES) continue;
      total.bytes += size;
      await Deno.copyFile(source, `${to}/${entry.name}`);
    }
  }
}

/** Whether `prlimit` can be run here (util-linux; absent on macOS). */
let prlimitWorks: Promise<boolean> | null = null;
function hasPrlimit(): Promise<boolean> {
  prlimitWorks ??= new Deno.Command("prlimit", {
    args: ["--version"],
    stdout: "null",
    stderr: "null",
  })
    .output().then((o) => o.success, () => false);
  return prlimitWorks;
}

/** The environment the child gets: only what Deno needs to find its module cache. */
function childEnv(): Record<string, string> {
  const env: Record<string, string> = { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" };
  for (const name of ["DENO_DIR", "HOME", "XDG_CACHE_HOME"]) {
    const value = Deno.env.get(name);
    if (value) env[name] = value;
  }
  return env;
}

function toWire(c: Conv1DCase): WireCase {
  const data = (t: Tensor) => ({
    shape: t.shape.slice(),
    data: Float64Array.from(contiguous(t).data),
  });
  return {
    inChannel: c.inChannel,
    outChannel: c.outChannel,
    kernelSize: c.kernelSize,
    stride: c.stride,
    tensors: { W: data(c.W), b: data(c.b), x: data(c.x), delta: data(c.delta) },
  };
}

/**
 * A message from the child as the student should read it: paths inside the private copy
 * shown relative to the submission, and Deno's "run again with --allow-..." advice replaced
 * by what it means here.
 */
function clean(message: string, copy: string): string {
  return message
    .replaceAll(`file://${copy}/`, "")
    .replaceAll(`${copy}/`, "")
    .replace(
      /, run again with the --allow-\w+ flag/g,
      " (the grader's sandbox does not allow this)",
    )
    .replace(/TypeError: (SyntaxError: )/, "$1")
    .slice(0, 1000);
}

function toOutput(o: WireOutput, copy: string): Conv1DOutput {
  return "error" in o ? { error: clean(o.error, copy) } : tensor(o.data, o.shape);
}

/** The resident memory of process `pid` in MiB, or null where `/proc` cannot tell. */
async function residentMb(pid: number): Promise<number | null> {
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    const kb = status.match(/^VmRSS:\s+(\d+) kB/m);
    return kb ? Number(kb[1]) / 1024 : null;
  } catch {
    return null;
  }
}

async function runChild(
  layers: string,
  folder: string,
  cases: Conv1DCase[],
  limits: SandboxLimits,
): Promise<Conv1DOutputs[]> {
  const token = crypto.getRandomValues(new Uint8Array(TOKEN_BYTES));
  const denoArgs = [
    "run",
    "--quiet",
    "--no-config",
    "--no-lock",
    "--no-remote",
    "--cached-only",
    "--no-prompt",
    `--import-map=${IMPORT_MAP}`,
    `--allow-read=${folder}`,
    "--deny-net",
    "--deny-env",
    "--deny-run",
    "--deny-ffi",
    "--deny-write",
    "--deny-sys",
    "--deny-import",
    `--v8-flags=--max-old-space-size=${Math.floor(limits.memoryMb / 2)}`,
    HARNESS,
    new URL(`file://${layers}`).href,
  ];
  // RLIMIT_CPU is a backstop for a child the grader can no longer kill (the grader itself
  // was killed): generous, since V8's helper threads also spend CPU time.
  const cpuSeconds = Math.ceil(2 * (limits.startSeconds + limits.caseSeconds * cases.length));
  const [command, args] = await hasPrlimit()
    ? [
      "prlimit",
      [
        `--data=${limits.memoryMb * 2 ** 20}`,
        `--cpu=${cpuSeconds}`,
        "--",
        Deno.execPath(),
        ...denoArgs,
      ],
    ]
    : [Deno.execPath(), denoArgs];
  const child = new Deno.Command(command, {
    args,
    cwd: folder,
    clearEnv: true,
    env: childEnv(),
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();

  let killedFor: string | null = null;
  const kill = (reason: string) => {
    killedFor ??= reason;
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  };
  let timer = setTimeout(
    () => kill(`layers.ts took more than ${limits.startSeconds} s to load`),
    limits.startSeconds * 1000,
  );
  const memory = setInterval(async () => {
    const mb = await residentMb(child.pid);
    if (mb !== null && mb > limits.memoryMb) kill(`used more than ${limits.memoryMb} MB of memory`);
  }, 100);

  const writer = child.stdin.getWriter();
  writer.write(encodeInputs(token, cases.map(toWire))).then(() => writer.close()).catch(() => {});

  const results: Conv1DOutputs[] = [];
  let loadError: string | null = null;
  let done = false;
  let garbled = false;
  const reader = new FrameReader(token);
  const handle = (frame: Frame) => {
    if (frame.kind === FRAME.loadFailed) {
      loadError = clean(decodeMessage(frame), folder);
    } else if (frame.kind === FRAME.case) {
      const { index, outputs } = decodeCaseFrame(frame);
      if (index !== results.length) throw new RangeError("case frames out of order");
      const [y, dx, dW, db] = outputs.map((o) => toOutput(o, folder));
      results.push({ y, dx, dW, db });
    } else if (frame.kind === FRAME.done) {
      done = true;
    }
    // Each frame starts the clock for the next case (1-based in the message).
    clearTimeout(timer);
    const running = results.length + 1;
    timer = setTimeout(
      () => kill(`timed out after ${limits.caseSeconds} s (case ${running})`),
      limits.caseSeconds * 1000,
    );
  };
  const stderr = tail(child.stderr, 4096);
  try {
    for await (const chunk of child.stdout) {
      for (const frame of reader.push(chunk)) handle(frame);
      if (reader.garbled) throw new RangeError("garbled frame");
    }
  } catch {
    garbled = true;
    kill("garbled");
  }
  const status = await child.status;
  clearTimeout(timer);
  clearInterval(memory);
  const errorText = await stderr;

  if (done && results.length === cases.length) return results;
  const why = loadError !== null
    ? `layers.ts could not be used: ${loadError}`
    : killedFor && !garbled
    ? killedFor
    : garbled
    ? "the sandbox's output was garbled (was stdout written from a Worker?)"
    : clean(describeExit(status, errorText, limits, reader.printed()), folder);
  const missing = cases.slice(results.length).map((_, i) => ({
    error: i === 0 ? why : `not run: ${why}`,
  }));
  return [...results, ...missing];
}

/** Why the child ended without sending every result, from its exit status and stderr. */
function describeExit(
  status: Deno.CommandStatus,
  stderr: string,
  limits: SandboxLimits,
  printed: string,
): string {
  if (/out of memory|heap limit|allocation failed/i.test(stderr)) {
    return `ran out of memory (the cap is ${limits.memoryMb} MB)`;
  }
  if (status.code === 0) {
    const fake = printed.trim() ? " (what it printed was ignored)" : "";
    return `layers.ts ended the process (exit code 0) before returning every result${fake}`;
  }
  const line = stderr.split("\n").map((l) => l.trim()).find((l) => l.startsWith("error:")) ??
    stderr.trim().split("\n").at(-1) ?? "";
  const how = status.signal ? `was killed by ${status.signal}` : `exited with code ${status.code}`;
  return `the sandbox ${how}${line ? `: ${line.slice(0, 300)}` : ""}`;
}

/** The last `limit` bytes of a stream, as text. */
async function tail(stream: ReadableStream<Uint8Array>, limit: number): Promise<string> {
  let kept = new Uint8Array(0);
  for await (const chunk of stream) {
    const joined = new Uint8Array(kept.length + chunk.length);
    joined.set(kept);
    joined.set(chunk, kept.length);
    kept = joined.slice(Math.max(0, joined.length - limit));
  }
  return new TextDecoder().decode(kept);
}
