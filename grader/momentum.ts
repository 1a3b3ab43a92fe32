/**
 * Q1 and Q2: the momentum answers, checked against the solver's certified truncations.
 *
 * A submission's `answers.json` is a JSON object whose `"q1"` and `"q2"` are strings holding
 * w(167) truncated toward zero to exactly three decimals, e.g.
 * `{"q1": "0.123", "q2": "-4.567"}`. Other keys are ignored. Strings, not JSON numbers,
 * because a number loses its trailing zeros (`2.000` reads back as `2`). Every way the file
 * can be wrong gets one sentence and zero points for that question, never a crash.
 *
 * @module
 */

import { HANDOUT_PROBLEMS, solveMomentum, truncate, type Truncation } from "../src/momentum.ts";
import { ExactDecimal } from "../src/numeric/exact_decimal.ts";
import {
  type GradeConfig,
  type PartResult,
  partResult,
  type Question,
  type Submission,
} from "./question.ts";

/** The momentum questions and how many decimals the handout asks for. */
export const MOMENTUM_IDS = ["q1", "q2"] as const;
export const ANSWER_DECIMALS = 3;

type MomentumId = typeof MOMENTUM_IDS[number];

const EXAMPLE = `{"q1": "0.123", "q2": "-4.567"}`;
const NUMBER_LIKE = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;

const expected = new Map<MomentumId, Truncation>();

/**
 * The solver's truncation of w(167) for a handout question (computed once).
 *
 * @example
 * ```ts
 * const t = expectedAnswer("q2");
 * if (t.certified) t.value.toString(); // "-7.554"
 * ```
 */
export function expectedAnswer(id: MomentumId): Truncation {
  let t = expected.get(id);
  if (!t) {
    t = truncate(solveMomentum(HANDOUT_PROBLEMS[id], { steps: false }).w, ANSWER_DECIMALS);
    expected.set(id, t);
  }
  return t;
}

/**
 * The reference submission's `answers.json`, produced from the solver's answers.
 *
 * @example
 * ```ts
 * referenceAnswers(); // '{"q1": "2.000", "q2": "-7.554"}' (pretty-printed)
 * ```
 */
export function referenceAnswers(): string {
  const answers: Record<string, string> = {};
  for (const id of MOMENTUM_IDS) {
    const t = expectedAnswer(id);
    if (!t.certified) {
      throw new Error(`the reference answer to ${id} is not certified: ${t.reason}`);
    }
    answers[id] = t.value.toString();
  }
  return JSON.stringify(answers, null, 2) + "\n";
}

/**
 * The student's answer to question `id` from the text of answers.json, as an exact decimal,
 * or one sentence saying what is wrong with it.
 *
 * @example
 * ```ts
 * readAnswer('{"q1": "2.000"}', "q1"); // { answer: 2.000 }
 * readAnswer('{"q1": 2}', "q1"); // { problem: '"q1" is the JSON number 2; write it as a string ...' }
 * ```
 */
export function readAnswer(
  text: string,
  id: string,
): { answer: ExactDecimal } | { problem: string } {
  let parsed: unknown;
  try {
    // Some Windows editors start a UTF-8 file with a byte-order mark, which JSON forbids.
    parsed = JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch (error) {
    return {
      problem: `answers.json is not valid JSON (${
        (error as Error).message
      }); write it as ${EXAMPLE}.`,
    };
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    const kind = Array.isArray(parsed) ? "an array" : parsed === null ? "null" : typeof parsed;
    return { problem: `answers.json must be a JSON object such as ${EXAMPLE}, not ${kind}.` };
  }
  const record = parsed as Record<string, unknown>;
  if (!(id in record)) {
    const keys = Object.keys(record);
    const found = keys.length ? ` (it has ${keys.map((k) => JSON.stringify(k)).join(", ")})` : "";
    return {
      problem: `answers.json has no "${id}"${found}; add it as a string, e.g. ${EXAMPLE}.`,
    };
  }
  const value = record[id];
  if (typeof value === "number") {
    return {
      problem:
        `"${id}" is the JSON number ${value}; write it as a string with ${ANSWER_DECIMALS} decimals, e.g. "0.123", because a number loses its trailing zeros.`,
    };
  }
  if (typeof value !== "string") {
    const kind = value === null ? "null" : Array.isArray(value) ? "an array" : typeof value;
    return { problem: `"${id}" must be a string such as "0.123", not ${kind}.` };
  }
  const trimmed = value.trim();
  if (!NUMBER_LIKE.test(trimmed)) {
    return {
      problem: `"${id}" is ${
        JSON.stringify(value)
      }, which is not a decimal number such as "0.123" or "-4.567".`,
    };
  }
  const decimals = trimmed.split(".")[1]?.length ?? 0;
  if (decimals !== ANSWER_DECIMALS) {
    const more = decimals > ANSWER_DECIMALS;
    return {
      problem: `"${id}" is "${trimmed}" with ${decimals} decimal${decimals === 1 ? "" : "s"}; ${
        more ? "truncate it to" : "give"
      } exactly ${ANSWER_DECIMALS} decimals (cut toward zero, not rounded).`,
    };
  }
  return { answer: ExactDecimal.parse(trimmed)! };
}

/**
 * Grades one momentum question: full points when the answer equals the certified truncation
 * of w(167); otherwise zero, saying whether it is the floor or the rounding instead. `want`
 * is the reference truncation (the solver's, unless a test passes its own).
 *
 * @example
 * ```ts
 * gradeMomentumAnswer("q1", '{"q1": "2.000"}', config).score; // config.points.q1.answer
 * ```
 */
export function gradeMomentumAnswer(
  id: MomentumId,
  answers: string | null,
  config: GradeConfig,
  want: Truncation = expectedAnswer(id),
): PartResult {
  const maxScore = config.points[id]?.answer ?? 0;
  const result = (correct: boolean, output: string): PartResult =>
    partResult(id, "answer", maxScore, {
      cases: answers === null ? 0 : 1,
      casesPassed: correct ? 1 : 0,
      score: correct ? maxScore : 0,
      output,
    });
  if (answers === null) return result(false, "not submitted");
  if (!want.certified) {
    return result(false, `the grader could not certify the reference answer (${want.reason})`);
  }
  const read = readAnswer(answers, id);
  if ("problem" in read) return result(false, read.problem);
  const got = read.answer;
  const what = `w(167) truncated to ${ANSWER_DECIMALS} decimals`;
  if (got.equals(want.value)) return result(true, `correct: ${what}`);
  if (want.floor && !want.floor.equals(want.value) && got.equals(want.floor)) {
    return result(
      false,
      `"${id}" is w(167) rounded down (the floor); truncation cuts toward zero, so a negative value keeps its digits and drops the rest.`,
    );
  }
  if (want.rounded && !want.rounded.equals(want.value) && got.equals(want.rounded)) {
    return result(
      false,
      `"${id}" is w(167) rounded to ${ANSWER_DECIMALS} decimals; the handout asks to truncate (do not round up).`,
    );
  }
  return result(false, `"${id}" is ${got}, which is not ${what}.`);
}

function momentumQuestion(id: MomentumId, title: string): Question {
  return {
    id,
    title,
    grade(submission: Submission, config: GradeConfig) {
      return Promise.resolve([gradeMomentumAnswer(id, submission.answers, config)]);
    },
  };
}

/**
 * Q1: w(167) for ReLU with the L2 divergence, from `answers.json`.
 *
 * @example
 * ```ts
 * const [result] = await q1.grade({ label: "me", conv1d: null, answers: '{"q1": "2.000"}' }, config);
 * ```
 */
export const q1: Question = momentumQuestion("q1", "Momentum update, ReLU and L2 divergence");
/**
 * Q2: w(167) for the logistic function with cross-entropy, from `answers.json`.
 *
 * @example
 * ```ts
 * const [result] = await q2.grade({ label: "me", conv1d: null, answers: '{"q2": "-7.554"}' }, config);
 * ```
 */
export const q2: Question = momentumQuestion("q2", "Momentum update, logistic and cross-entropy");
