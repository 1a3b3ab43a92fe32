/**
 * Q3: a Conv1D graded against `torch.nn.Conv1d` fixtures, part by part (forward, dx, dW,
 * db). The implementation under test is reached through a {@linkcode Conv1DRunner} that
 * receives only the inputs of each case (never the expected outputs), so the same grading
 * code serves the in-process reference and a sandboxed student submission.
 *
 * @module
 */

import { type FixtureCase, type Fixtures, loadFixtures } from "../fixtures/mod.ts";
import { Conv1D } from "../src/nn/conv1d.ts";
import { formatShape, maxAbsDiff, sameShape, type Tensor } from "../src/tensor.ts";
import {
  type GradeConfig,
  type PartResult,
  partResult,
  type Question,
  type Submission,
} from "./question.ts";

/** The inputs of one graded case: the handout's constructor arguments and the tensors. */
export interface Conv1DCase {
  inChannel: number;
  outChannel: number;
  kernelSize: number;
  stride: number;
  /** Weight `(out, in, k)` and bias `(out,)` to load into the layer. */
  W: Tensor;
  b: Tensor;
  /** Input `(batch, in, width)`, and the gradient w.r.t. the output to back-propagate. */
  x: Tensor;
  delta: Tensor;
}

/** One result of a case: the tensor the implementation returned, or why there is none. */
export type Conv1DOutput = Tensor | { error: string };

/** What the implementation returned for a case: its four results, or why it failed. */
export type Conv1DOutputs =
  | { y: Conv1DOutput; dx: Conv1DOutput; dW: Conv1DOutput; db: Conv1DOutput }
  | { error: string };

/** Runs an implementation on every case, in order. One case's failure must not stop others. */
export type Conv1DRunner = (cases: Conv1DCase[]) => Promise<Conv1DOutputs[]>;

/** The parts of Q3, each comparing one output with PyTorch's. */
export const CONV1D_PARTS = [
  { part: "forward", output: "y" },
  { part: "dx", output: "dx" },
  { part: "dW", output: "dW" },
  { part: "db", output: "db" },
] as const;

/**
 * Runs this project's reference {@linkcode Conv1D} in the grader's process.
 *
 * @example
 * ```ts
 * const results = await q3.grade({ label: "reference", conv1d: referenceConv1D, answers: null, model: null }, config);
 * ```
 */
export const referenceConv1D: Conv1DRunner = (cases) =>
  Promise.resolve(cases.map((c) => {
    try {
      const conv = new Conv1D(c.inChannel, c.outChannel, c.kernelSize, c.stride);
      conv.W = c.W;
      conv.b = c.b;
      const y = conv.forward(c.x);
      const dx = conv.backward(c.delta);
      return { y, dx, dW: conv.dW, db: conv.db! };
    } catch (error) {
      return { error: (error as Error).message };
    }
  }));

/**
 * Whether a fixture case uses only the handout's four-argument contract (no padding,
 * dilation or groups, with a bias): the cases a student's Conv1D is graded on.
 */
export function isHandoutCase(c: FixtureCase): boolean {
  const a = c.args;
  return a.padding === 0 && a.dilation === 1 && a.groups === 1 && a.bias === true;
}

/** The graded inputs of the handout-contract fixture cases. */
export function conv1dCases(fixtures: Fixtures): { name: string; input: Conv1DCase }[] {
  return fixtures.cases.filter(isHandoutCase).map((c) => {
    const a = c.args as Record<string, number>;
    return {
      name: c.name,
      input: {
        inChannel: a.in_channel,
        outChannel: a.out_channel,
        kernelSize: a.kernel_size,
        stride: a.stride,
        W: fixtures.tensor(c, "W", [a.out_channel, a.in_channel, a.kernel_size]),
        b: fixtures.tensor(c, "b", [a.out_channel]),
        x: fixtures.tensor(c, "x"),
        delta: fixtures.tensor(c, "delta"),
      },
    };
  });
}

/**
 * Grades a runner's outputs against the fixtures: a part passes when every case's largest
 * absolute difference is below `config.tolerance`, as the course grader does.
 */
export async function gradeConv1D(
  runner: Conv1DRunner | null,
  fixtures: Fixtures,
  config: GradeConfig,
): Promise<PartResult[]> {
  const points = config.points.q3 ?? {};
  const result = (part: string, fields: Partial<PartResult>): PartResult =>
    partResult("q3", part, points[part] ?? 0, fields);
  if (!runner) {
    return CONV1D_PARTS.map(({ part }) => result(part, { output: "not submitted" }));
  }

  const cases = conv1dCases(fixtures);
  const outputs = await runner(cases.map((c) => c.input));
  const expected = fixtures.cases.filter(isHandoutCase);

  return CONV1D_PARTS.map(({ part, output }) => {
    let casesPassed = 0;
    let worst = 0;
    const failures: string[] = [];
    cases.forEach((c, i) => {
      const got = outputs[i];
      if (!got || "error" in got) {
        worst = Infinity;
        failures.push(`${c.name}: ${got ? got.error : "no result returned"}`);
        return;
      }
      const value = got[output];
      if ("error" in value) {
        worst = Infinity;
        failures.push(`${c.name}: ${value.error}`);
        return;
      }
      const want = fixtures.tensor(expected[i], output);
      const diff = maxAbsDiff(value, want);
      if (!(diff <= worst)) worst = diff; // keeps NaN as the worst
      if (diff < config.tolerance) {
        casesPassed++;
      } else if (!sameShape(value.shape, want.shape)) {
        failures.push(
          `${c.name}: shape ${formatShape(value.shape)}, expected ${formatShape(want.shape)}`,
        );
      } else if (!Number.isFinite(diff)) {
        failures.push(`${c.name}: ${output} contains NaN or Infinity`);
      } else {
        failures.push(`${c.name}: max abs difference ${diff.toExponential(2)}`);
      }
    });
    const ok = casesPassed === cases.length;
    const output_ = ok
      ? `all ${cases.length} cases within ${config.tolerance}`
      : `${cases.length - casesPassed} of ${cases.length} cases failed; first: ${failures[0]}`;
    return result(part, {
      cases: cases.length,
      casesPassed,
      worst,
      score: ok ? points[part] ?? 0 : 0,
      output: output_,
    });
  });
}

/**
 * Q3 as a grader question: loads the `conv1d` fixtures and grades the submission's
 * Conv1D on them.
 */
export const q3: Question = {
  id: "q3",
  title: "Conv1D",
  async grade(submission: Submission, config: GradeConfig) {
    return gradeConv1D(submission.conv1d, await loadFixtures("conv1d"), config);
  },
};
