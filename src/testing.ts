/**
 * What tests across the project share: temporary folders and files that are removed, with
 * their contents, when the test process ends, so that a run of the suite leaves nothing behind
 * in the system's temporary folder.
 *
 * @module
 */

const made: string[] = [];

globalThis.addEventListener("unload", () => {
  for (const path of made) {
    try {
      Deno.removeSync(path, { recursive: true });
    } catch {
      // Removed already (by the test itself), or never written: nothing to clean.
    }
  }
});

/**
 * `Deno.makeTempDir(options)`, removed with its contents when the process ends.
 *
 * @example
 * ```ts
 * const dir = await tempDir({ prefix: "score_test_" });
 * ```
 */
export async function tempDir(options?: Deno.MakeTempOptions): Promise<string> {
  const path = await Deno.makeTempDir(options);
  made.push(path);
  return path;
}

/**
 * `Deno.makeTempFile(options)`, removed when the process ends.
 *
 * @example
 * ```ts
 * const path = await tempFile({ suffix: ".onnx" });
 * ```
 */
export async function tempFile(options?: Deno.MakeTempOptions): Promise<string> {
  const path = await Deno.makeTempFile(options);
  made.push(path);
  return path;
}
