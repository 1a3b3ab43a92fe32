/**
 * What every optimizer shares: parameter groups, per-parameter state, `step`, `zeroGrad`,
 * and a `stateDict` / `loadStateDict` pair that lets a checkpoint resume a run exactly.
 *
 * @module
 */

import { UserError } from "../errors.ts";
import type { Module, Parameter } from "../nn/module.ts";
import { clone, dtypeOf, formatShape, isContiguous, sameShape, type Tensor } from "../tensor.ts";

/**
 * Where an optimizer gets its parameters, read again at every `step` and `zeroGrad` (frozen
 * ones, with `requiresGrad: false`, left out):
 *
 * - a `Module`: its `parameters()` are called each time, so a layer that replaces its
 *   gradient tensor in `backward` (as `Conv1D` does, `this.dW = …`) is still seen;
 * - a function returning parameters (e.g. a filtered subset of a module's, for a group);
 * - a fixed `Parameter[]`: only for layers that update `value` and `grad` in place.
 */
export type ParamSource = Module | readonly Parameter[] | (() => readonly Parameter[]);

/** A parameter group: its parameters and the settings that differ from the defaults. */
export type ParamGroup<H> = { params: ParamSource } & Partial<H>;

/** The hyper-parameters every optimizer has. */
export interface BaseOptions {
  /** The learning rate; schedules change it between steps with {@linkcode Optimizer.setLr}. */
  lr: number;
}

/** One parameter's optimizer state: named buffers (same shape as the parameter) and counters. */
export type ParamState = Record<string, Tensor | number>;

/**
 * An optimizer's whole state, as PyTorch's `optimizer.state_dict()`: the settings of each
 * group with the indices of its parameters (numbered across groups in order), and the state
 * of each parameter that has one, by index. The checkpoint format stores it.
 */
export interface OptimizerState {
  /** The optimizer's class name, e.g. `"SGD"`; loading into another class is refused. */
  type: string;
  /** Each group's settings, and the indices of its parameters. */
  paramGroups: (Record<string, unknown> & { params: number[] })[];
  /** Each parameter's state by index; parameters not yet stepped have none. */
  state: Record<number, ParamState>;
}

/**
 * The parameters of `source` now (see {@linkcode ParamSource}).
 *
 * @example
 * ```ts
 * resolveParams(new Conv1D(2, 3, 3)).map((p) => p.name); // ["weight", "bias"]
 * ```
 */
export function resolveParams(source: ParamSource): readonly Parameter[] {
  const params = typeof source === "function"
    ? source()
    : Array.isArray(source)
    ? source
    : (source as Module).parameters();
  return params.some((p) => p.requiresGrad === false)
    ? params.filter((p) => p.requiresGrad !== false)
    : params;
}

/**
 * Two parameter groups for the common recipe "no weight decay on biases and normalisation
 * parameters": tensors of rank ≥ 2 (conv and linear weights) keep the optimizer's
 * `weightDecay`; rank-1 tensors (biases, BatchNorm's weight and bias) get `weightDecay: 0`.
 *
 * @example
 * ```ts
 * const opt = new SGD(splitWeightDecay(model), { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 });
 * ```
 */
export function splitWeightDecay(
  source: ParamSource,
): [{ params: () => Parameter[] }, { params: () => Parameter[]; weightDecay: number }] {
  return [
    { params: () => resolveParams(source).filter((p) => p.value.shape.length > 1) },
    {
      params: () => resolveParams(source).filter((p) => p.value.shape.length <= 1),
      weightDecay: 0,
    },
  ];
}

function isGroupList<H>(params: ParamSource | ParamGroup<H>[]): params is ParamGroup<H>[] {
  return Array.isArray(params) && params.length > 0 && "params" in params[0];
}

/**
 * The base of {@linkcode SGD}, {@linkcode Adam} and {@linkcode AdamW}. Subclasses give the
 * per-parameter update; this class walks the groups, keeps the state and saves/loads it.
 *
 * @example
 * ```ts
 * const opt: Optimizer<SGDOptions> = new SGD(model, { lr: 0.1, momentum: 0.9 });
 * opt.zeroGrad();
 * model.backward(criterion.backward());
 * opt.step();
 * ```
 */
export abstract class Optimizer<H extends BaseOptions> {
  /** The groups, each its parameters and its full settings; settings may be changed. */
  readonly paramGroups: (H & { params: ParamSource })[];
  #state = new Map<number, ParamState>();

  /** Groups from `params` (one group unless a list of groups), filled in from `defaults`. */
  constructor(params: ParamSource | ParamGroup<H>[], defaults: H) {
    const groups: ParamGroup<H>[] = isGroupList(params) ? params : [{ params } as ParamGroup<H>];
    this.paramGroups = groups.map((group) => {
      const merged = { ...defaults, ...stripUndefined(group) } as H & { params: ParamSource };
      this.validate(merged);
      return merged;
    });
  }

  /** The class name stored in the state dict. */
  protected abstract get type(): string;

  /** Throws a `RangeError` for settings the update cannot use. */
  protected abstract validate(group: H): void;

  /** Updates one parameter in place from its gradient, with its group's settings and state. */
  protected abstract update(p: Parameter, group: H, state: ParamState): void;

  /** One optimization step over every parameter, from the gradients they hold now. */
  step(): void {
    let index = 0;
    for (const group of this.paramGroups) {
      for (const p of resolveParams(group.params)) {
        checkParameter(p, index);
        let state = this.#state.get(index);
        if (!state) this.#state.set(index, state = {});
        for (const [key, value] of Object.entries(state)) {
          if (typeof value !== "number" && !sameShape(value.shape, p.value.shape)) {
            throw new Error(
              `${this.type}: parameter ${index} (${p.name}) has shape ${
                formatShape(p.value.shape)
              } but its ${key} has ${formatShape(value.shape)}; the model's parameters changed`,
            );
          }
        }
        this.update(p, group, state);
        index++;
      }
    }
  }

  /** Sets every parameter's gradient to zero, in place (PyTorch's `zero_grad(set_to_none=False)`). */
  zeroGrad(): void {
    let index = 0;
    for (const group of this.paramGroups) {
      for (const p of resolveParams(group.params)) {
        checkParameter(p, index++);
        p.grad.data.fill(0);
      }
    }
  }

  /** Sets the learning rate of every group, e.g. to `schedule(step)` before each step. */
  setLr(lr: number): void {
    for (const group of this.paramGroups) group.lr = lr;
  }

  /** A copy of the optimizer's state and settings, to save (see {@linkcode OptimizerState}). */
  stateDict(): OptimizerState {
    let index = 0;
    const paramGroups = this.paramGroups.map(({ params, ...settings }) => {
      const indices = resolveParams(params).map(() => index++);
      return { ...structuredClone(settings), params: indices };
    });
    const state: Record<number, ParamState> = {};
    for (const [i, s] of this.#state) {
      state[i] = Object.fromEntries(
        Object.entries(s).map(([k, v]) => [k, typeof v === "number" ? v : clone(v)]),
      );
    }
    return { type: this.type, paramGroups, state };
  }

  /**
   * Restores a state from {@linkcode Optimizer.stateDict}: every group's settings (the
   * learning rate included, as PyTorch does) and every parameter's buffers, copied. The
   * whole state is checked against the current parameters first, and a mismatch throws a
   * `UserError` without changing anything.
   */
  loadStateDict(saved: OptimizerState): void {
    const fail = (why: string): never => {
      throw new UserError(`the saved ${saved?.type ?? "optimizer"} state ${why}`);
    };
    if (saved?.type !== this.type) fail(`is not for ${this.type}`);
    if (!Array.isArray(saved.paramGroups) || saved.paramGroups.length !== this.paramGroups.length) {
      fail(
        `has ${saved.paramGroups?.length} parameter groups but this optimizer has ${this.paramGroups.length}`,
      );
    }
    const params: Parameter[] = [];
    const settings = this.paramGroups.map((group, g) => {
      const current = resolveParams(group.params);
      const { params: indices, ...rest } = saved.paramGroups[g];
      if (!Array.isArray(indices) || indices.length !== current.length) {
        fail(
          `has ${indices?.length} parameters in group ${g} but the model has ${current.length}`,
        );
      }
      params.push(...current);
      const merged = { ...group, ...structuredClone(rest) };
      try {
        this.validate(merged);
      } catch (error) {
        fail(`has invalid settings in group ${g} (${(error as Error).message})`);
      }
      return merged;
    });
    const state = new Map<number, ParamState>();
    for (const [key, s] of Object.entries(saved.state ?? {})) {
      const i = Number(key);
      const p = params[i];
      if (!p) fail(`has state for parameter ${key} but the model has ${params.length}`);
      const copy: ParamState = {};
      for (const [name, value] of Object.entries(s)) {
        if (typeof value === "number") {
          copy[name] = value;
        } else if (!value?.shape || !sameShape(value.shape, p.value.shape)) {
          fail(
            `has ${name} of shape ${
              formatShape(value?.shape ?? [])
            } for parameter ${i} (${p.name}) ` +
              `but the model's is ${formatShape(p.value.shape)}`,
          );
        } else {
          copy[name] = clone(value, dtypeOf(p.value));
        }
      }
      state.set(i, copy);
    }
    this.paramGroups.forEach((group, g) => Object.assign(group, settings[g]));
    this.#state = state;
  }
}

/** The update loops index `.data` directly, so both tensors must be dense and alike. */
function checkParameter(p: Parameter, index: number): void {
  if (!isContiguous(p.value) || !isContiguous(p.grad)) {
    throw new TypeError(`parameter ${index} (${p.name}): value and grad must be contiguous`);
  }
  if (!sameShape(p.value.shape, p.grad.shape)) {
    throw new TypeError(
      `parameter ${index} (${p.name}): grad has shape ${formatShape(p.grad.shape)} but value has ${
        formatShape(p.value.shape)
      }`,
    );
  }
}

/**
 * The buffer `key` of a parameter's state, created full of zeros in the parameter's shape and
 * dtype the first time.
 *
 * @example
 * ```ts
 * const m = stateBuffer(state, "exp_avg", p.value);
 * ```
 */
export function stateBuffer(state: ParamState, key: string, like: Tensor): Tensor {
  let buffer = state[key];
  if (typeof buffer !== "object") {
    buffer = clone(like);
    buffer.data.fill(0);
    state[key] = buffer;
  }
  return buffer;
}

/**
 * A copy of `options` without the keys set to `undefined`, so that they keep their defaults.
 *
 * @example
 * ```ts
 * stripUndefined({ lr: 0.1, momentum: undefined }); // { lr: 0.1 }
 * ```
 */
export function stripUndefined<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(options).filter(([, v]) => v !== undefined),
  ) as Partial<T>;
}
