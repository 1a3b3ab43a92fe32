/**
 * Errors a person can cause (a bad path, a corrupt file, a wrong flag) are `UserError`s:
 * their message is one sentence that says what was wrong and how to fix it, and the
 * command-line entry points print it alone, without a stack trace, and exit non-zero.
 *
 * @module
 */

/**
 * An error caused by the user's input rather than a bug; its message is shown as is.
 *
 * @example
 * ```ts
 * throw new UserError("fixtures/conv1d.bin is missing; run `deno task fixtures` to write it.");
 * ```
 */
export class UserError extends Error {
  override name = "UserError";
}

/**
 * Runs a command-line `main`, turning a `UserError` into its message on stderr and exit
 * code 2; anything else is a bug and keeps its stack trace (exit code 1).
 *
 * @example
 * ```ts
 * if (import.meta.main) await runMain(() => main(Deno.args));
 * ```
 */
export async function runMain(main: () => Promise<number | void>): Promise<never> {
  try {
    const code = await main();
    Deno.exit(code ?? 0);
  } catch (error) {
    if (error instanceof UserError) {
      console.error(`error: ${error.message}`);
      Deno.exit(2);
    }
    throw error;
  }
}
