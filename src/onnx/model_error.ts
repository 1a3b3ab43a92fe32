/**
 * The error for anything wrong with a submitted model, in a module of its own so that the
 * grader can tell it apart without loading onnxruntime's native code.
 *
 * @module
 */

import { UserError } from "../errors.ts";

/**
 * Something wrong with the submitted model (not with the grader): one sentence for the
 * student, worth zero points.
 *
 * @example
 * ```ts
 * throw new ModelError("the model has 2 inputs (a, b); the contract is one float32 input of shape (N, 3, 32, 32).");
 * ```
 */
export class ModelError extends UserError {
  /** `ModelError`, as error reports print it. */
  override name = "ModelError";
}
