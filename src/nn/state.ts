/**
 * A model's state by name, as PyTorch's `state_dict`: its parameters (trained) and its
 * buffers (saved but not trained, such as BatchNorm's running statistics), counting them,
 * and loading a saved state back in place.
 *
 * @module
 */

import { UserError } from "../errors.ts";
import { contiguous, formatShape, isContiguous, sameShape, type Tensor } from "../tensor.ts";
import type { Module } from "./module.ts";

/**
 * The number of trainable scalars: `sum(p.numel() for p in model.parameters())`.
 *
 * @example
 * ```ts
 * countParameters(new Conv1D(8, 12, 3)); // 12·8·3 + 12 = 300
 * ```
 */
export function countParameters(model: Module): number {
  return model.parameters().reduce((n, p) => n + p.value.size, 0);
}

/**
 * The model's state by PyTorch `state_dict` key: parameters, then buffers. The tensors are
 * the model's own (not copies), as in PyTorch; clone them to keep a snapshot.
 *
 * @example
 * ```ts
 * const state = stateDict(new Conv1D(8, 12, 3));
 * state.get("weight")!.shape; // [12, 8, 3]
 * ```
 */
export function stateDict(model: Module): Map<string, Tensor> {
  const state = new Map<string, Tensor>();
  for (const t of [...model.parameters(), ...model.buffers()]) state.set(t.name, t.value);
  return state;
}

/** What {@linkcode loadStateDict} did not match, as PyTorch's `load_state_dict` reports. */
export interface LoadResult {
  /** Keys of the model that the state lacked (left unchanged). */
  missingKeys: string[];
  /** Keys of the state that the model lacks (ignored). */
  unexpectedKeys: string[];
}

/**
 * Copies a saved state into the model's own tensors, in place (so an optimizer holding them
 * keeps working), converting float64 ↔ float32 as needed. Everything is checked first (see
 * {@linkcode checkStateDict}): a mismatch throws a `UserError` and leaves the model untouched.
 *
 * @example
 * ```ts
 * const a = new Conv1D(8, 12, 3), b = new Conv1D(8, 12, 3);
 * loadStateDict(b, stateDict(a)); // b now computes what a does
 * ```
 */
export function loadStateDict(
  model: Module,
  state: ReadonlyMap<string, Tensor>,
  options: { strict?: boolean } = {},
): LoadResult {
  const result = checkStateDict(model, state, options);
  for (const [key, target] of stateDict(model)) {
    const source = state.get(key);
    if (source) target.data.set(contiguous(source).data);
  }
  return result;
}

/**
 * Checks, without changing anything, that {@linkcode loadStateDict} can load `state` into
 * `model`: every shared key has the same shape, and with `strict` (the default) the keys are
 * exactly the model's. Throws a `UserError` otherwise.
 *
 * @example
 * ```ts
 * checkStateDict(new Conv1D(8, 12, 3), stateDict(new Conv1D(8, 6, 3))); // throws: weight's shape differs
 * ```
 */
export function checkStateDict(
  model: Module,
  state: ReadonlyMap<string, Tensor>,
  { strict = true }: { strict?: boolean } = {},
): LoadResult {
  const targets = stateDict(model);
  const missingKeys = [...targets.keys()].filter((k) => !state.has(k));
  const unexpectedKeys = [...state.keys()].filter((k) => !targets.has(k));
  if (strict && (missingKeys.length > 0 || unexpectedKeys.length > 0)) {
    const parts = [];
    if (missingKeys.length > 0) parts.push(`lacks ${listKeys(missingKeys)}`);
    if (unexpectedKeys.length > 0) parts.push(`has extra ${listKeys(unexpectedKeys)}`);
    throw new UserError(
      `the saved state does not fit this model: it ${parts.join(" and ")}, so it was saved ` +
        `from a different network`,
    );
  }
  for (const [key, target] of targets) {
    const source = state.get(key);
    if (!isContiguous(target)) {
      throw new TypeError(
        `loadStateDict: the model's ${key} is not contiguous, so it cannot be filled in place`,
      );
    }
    if (source && !sameShape(source.shape, target.shape)) {
      throw new UserError(
        `the saved state does not fit this model: ${key} has shape ${
          formatShape(source.shape)
        } but the model's is ${formatShape(target.shape)}`,
      );
    }
  }
  return { missingKeys, unexpectedKeys };
}

function listKeys(keys: string[]): string {
  const shown = keys.slice(0, 3).join(", ");
  return keys.length > 3 ? `${shown} and ${keys.length - 3} more` : shown;
}
