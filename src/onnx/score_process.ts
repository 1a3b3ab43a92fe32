/**
 * Scoring in a child process that a time limit can stop. onnxruntime's `run` cannot be
 * interrupted from JavaScript, and a hostile or broken model can spin or crash the native
 * code, so the grader never runs a submitted model in its own process: it starts this
 * module as a child (`deno run`), which loads the test set and the model, says `ready`,
 * scores, and prints its report; the parent kills it (SIGKILL) when the model takes longer
 * than the limit.
 *
 * The protocol is one JSON object per stdout line: `{"ready": true}`, then
 * `{"report": ScoreReport}` or `{"error": sentence, "cause": "model" | "grader"}`.
 *
 * @module
 */

import { type Cifar10Location, loadCifar10, loadCifar10Classes } from "../data/locate.ts";
import { UserError } from "../errors.ts";
import { ModelError } from "./model_error.ts";
import type { ScoreOptions, ScoreReport } from "./score_report.ts";

/** Limits and settings of a scoring run in a child process. */
export interface ProcessScoreOptions extends ScoreOptions {
  /** Seconds the model may spend on the whole test set once loaded. */
  timeLimitSeconds: number;
  /** Seconds the child may take to start and load the data and the model (default 120). */
  loadLimitSeconds?: number;
}

const CONFIG = new URL("../../deno.json", import.meta.url).pathname;
const SELF = new URL(import.meta.url).pathname;

/**
 * Scores `modelPath` on the test set of the located CIFAR-10 `data`, in a child process
 * that is killed when the model runs past `options.timeLimitSeconds`.
 *
 * @throws {ModelError} for anything wrong with the model (including too slow, or crashing
 * onnxruntime); {@linkcode UserError} for a problem of the grader's own (missing data).
 *
 * @example
 * ```ts
 * const data = await locateCifar10({ data: "data" });
 * const report = await scoreInChildProcess("model.onnx", data, { timeLimitSeconds: 600 });
 * console.log(report.accuracy, report.imagesPerSecond);
 * ```
 */
export async function scoreInChildProcess(
  modelPath: string,
  data: Cifar10Location,
  options: ProcessScoreOptions,
): Promise<ScoreReport> {
  const request = JSON.stringify({
    modelPath,
    data,
    batchSize: options.batchSize,
    threads: options.threads,
  });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--no-prompt",
      `--config=${CONFIG}`,
      "--allow-read",
      "--allow-env",
      "--allow-ffi",
      "--allow-sys",
      SELF,
      request,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();

  let phase: "loading" | "scoring" = "loading";
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timedOut = false;
  const arm = (seconds: number) => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, seconds * 1000);
  };
  arm(options.loadLimitSeconds ?? 120);

  let result: { report?: ScoreReport; error?: string; cause?: string } | null = null;
  let buffered = "";
  for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
    buffered += chunk;
    let newline;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      let message;
      try {
        message = JSON.parse(line);
      } catch {
        continue; // not the protocol's: something the native code printed
      }
      if (message.ready) {
        phase = "scoring";
        arm(options.timeLimitSeconds);
      } else {
        result = message;
      }
    }
  }
  const status = await child.status;
  clearTimeout(timer);
  const errors = (await stderr).trim();

  if (timedOut) {
    throw new ModelError(
      phase === "loading"
        ? `onnxruntime did not finish loading ${modelPath} within ${
          options.loadLimitSeconds ?? 120
        } s; submit a smaller model.`
        : `scoring ${modelPath} took longer than the time limit of ${options.timeLimitSeconds} s for the whole test set; submit a faster model.`,
    );
  }
  if (result?.report) return result.report;
  if (result?.error) {
    throw result.cause === "model" ? new ModelError(result.error) : new UserError(result.error);
  }
  const last = errors.split("\n").at(-1) ?? "";
  throw new ModelError(
    `onnxruntime crashed while ${phase} ${modelPath} (${
      status.signal ? `signal ${status.signal}` : `exit code ${status.code}`
    }${last ? `: ${last.slice(0, 200)}` : ""}).`,
  );
}

/** The child: scores the model the request names and prints the protocol's lines. */
async function child(request: {
  modelPath: string;
  data: Cifar10Location;
  batchSize?: number;
  threads?: number;
}): Promise<void> {
  const say = (message: unknown) => console.log(JSON.stringify(message));
  // Only the child loads onnxruntime (its native code needs --allow-ffi).
  const { loadModel, scoreSession } = await import("./score.ts");
  try {
    const testSet = await loadCifar10(request.data, "test");
    const classes = await loadCifar10Classes(request.data);
    const { session, contract } = await loadModel(request.modelPath, request);
    say({ ready: true });
    say({ report: await scoreSession(session, contract, testSet, classes, request) });
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    say({ error: error.message, cause: error instanceof ModelError ? "model" : "grader" });
  }
}

if (import.meta.main) await child(JSON.parse(Deno.args[0]));
