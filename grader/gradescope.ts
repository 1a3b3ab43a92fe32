/**
 * `deno task gradescope`: builds the autograder package Gradescope expects, a zip with
 * `setup.sh` and `run_autograder` at its root beside the project's sources (see
 * `gradescope/`). Gradescope unpacks it in `/autograder/source`, runs `setup.sh` once
 * (Deno and the dependencies), then `run_autograder` for each submission.
 *
 * @module
 */

import { Command } from "commander";
import { parseCommandLine } from "../src/cli.ts";
import { type Zippable, zipSync } from "fflate";
import { runMain, UserError } from "../src/errors.ts";

/** The repository root: the package's contents are read relative to it. */
const ROOT = new URL("..", import.meta.url).pathname;

/** The scripts Gradescope runs, placed at the zip's root, with their executable bit. */
const SCRIPTS = ["setup.sh", "run_autograder"];
/** Top-level files and folders the grader needs at run time. */
const INCLUDE = ["deno.json", "deno.lock", "mod.ts", "README.md", "src", "grader", "fixtures"];
/** Never packaged: tests and their data (the hostile submissions among them). */
const EXCLUDE = /(_test\.ts$|(^|\/)testdata(\/|$)|\.py$)/;

/** Unix file modes, as zip's "external attributes" (mode in the high 16 bits). */
const EXECUTABLE = { os: 3, attrs: (0o100755 << 16) >>> 0 };
const REGULAR = { os: 3, attrs: (0o100644 << 16) >>> 0 };

async function addTree(files: Zippable, path: string): Promise<void> {
  const full = `${ROOT}${path}`;
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(full);
  } catch {
    return; // an optional file (e.g. no README yet)
  }
  if (EXCLUDE.test(path)) return;
  if (info.isDirectory) {
    for await (const entry of Deno.readDir(full)) await addTree(files, `${path}/${entry.name}`);
  } else if (info.isFile) {
    files[path] = [await Deno.readFile(full), REGULAR];
  }
}

/**
 * The autograder package as zip bytes.
 *
 * @example
 * ```ts
 * await Deno.writeFile("autograder.zip", await buildAutograder());
 * ```
 */
export async function buildAutograder(): Promise<Uint8Array> {
  const files: Zippable = {};
  for (const script of SCRIPTS) {
    files[script] = [await Deno.readFile(`${ROOT}gradescope/${script}`), EXECUTABLE];
  }
  for (const path of INCLUDE) await addTree(files, path);
  return zipSync(files, { level: 9 });
}

/** Runs `deno task gradescope` with command-line `args`; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const program = new Command("deno task gradescope")
    .description("Build the Gradescope autograder zip (setup.sh, run_autograder and the grader).")
    .option("--out <file>", "where to write the zip", "out/autograder.zip");
  const { out } = parseCommandLine<{ out: string }>(program, args);
  const zip = await buildAutograder();
  try {
    const slash = out.lastIndexOf("/");
    if (slash > 0) await Deno.mkdir(out.slice(0, slash), { recursive: true });
    await Deno.writeFile(out, zip);
  } catch (error) {
    throw new UserError(`cannot write ${out} (${(error as Error).message}).`);
  }
  console.log(
    `Wrote ${out} (${(zip.length / 2 ** 20).toFixed(1)} MiB). Upload it as the assignment's ` +
      `autograder on Gradescope ("Zip file upload"); the leaderboard needs "Enable leaderboard".`,
  );
  return 0;
}

if (import.meta.main) await runMain(() => main(Deno.args));
