/**
 * The project's way of reading a command line with commander: `-h, --help` prints the help
 * and exits 0, and any bad flag or value becomes a one-sentence `UserError` (which
 * `runMain` prints without a stack trace, exit 2) instead of commander's own output.
 *
 * @module
 */

import { type Command, CommanderError, type OptionValues } from "commander";
import { UserError } from "./errors.ts";

/**
 * Parses `args` (without the program name) with `program` and returns its options.
 *
 * @example
 * ```ts
 * const program = new Command("deno task grade").option("--json <file>", "write results.json");
 * const { json } = parseCommandLine<{ json?: string }>(program, Deno.args);
 * ```
 */
export function parseCommandLine<T extends OptionValues>(program: Command, args: string[]): T {
  program
    .helpOption("-h, --help", "show this help")
    .exitOverride()
    .configureOutput({ writeErr: () => {} })
    .showSuggestionAfterError(false)
    .allowExcessArguments(false);
  try {
    program.parse(args, { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) Deno.exit(0); // --help
      const message = error.message.replace(/^error: /, "").replace(/\.$/, "");
      throw new UserError(`${message} (see --help).`);
    }
    throw error;
  }
  return program.opts<T>();
}
