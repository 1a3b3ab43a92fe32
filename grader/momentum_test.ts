import assert from "node:assert/strict";
import { gradeSubmission, loadConfig } from "./grade.ts";
import { truncate, type Truncation } from "../src/momentum.ts";
import { ExactDecimal } from "../src/numeric/exact_decimal.ts";
import { gradeMomentumAnswer, q1, q2, referenceAnswers } from "./momentum.ts";

const config = await loadConfig();

/** Grades `text` as answers.json on one question: its score and message. */
function grade(id: "q1" | "q2", text: string | null) {
  const r = gradeMomentumAnswer(id, text, config);
  return { score: r.score, output: r.output, passed: r.casesPassed };
}

Deno.test("the reference answers.json comes from the solver and earns every point", async () => {
  const text = referenceAnswers();
  assert.deepEqual(JSON.parse(text), { q1: "2.000", q2: "-7.554" });
  const results = await gradeSubmission(
    { label: "reference", conv1d: null, answers: text, model: null },
    config,
    [q1, q2],
  );
  assert.deepEqual(results.map((r) => [r.question, r.part, r.score, r.maxScore]), [
    ["q1", "answer", 5, 5],
    ["q2", "answer", 5, 5],
  ]);
  assert.match(results[0].output, /^correct/);
});

Deno.test("equal numbers are accepted whatever their spelling: leading zeros, spaces, other keys", () => {
  assert.equal(grade("q1", `{"q1": "02.000"}`).score, 5);
  assert.equal(grade("q2", `{"q2": " -7.554 ", "notes": "other keys are ignored"}`).score, 5);
  assert.equal(grade("q1", `\uFEFF{"q1": "+2.000"}`).score, 5, "a byte-order mark and a plus sign");
  assert.equal(
    grade("q1", `{"q1": "2."}`).output,
    `"q1" is "2." with 0 decimals; give exactly 3 decimals (cut toward zero, not rounded).`,
  );
});

Deno.test("every bad answers.json gets one sentence and zero points, never a crash", () => {
  const cases: [string | null, "q1" | "q2", RegExp][] = [
    [null, "q1", /^not submitted$/],
    ["", "q1", /^answers\.json is not valid JSON \(.*\); write it as \{"q1"/],
    [`{"q1": "2.000",}`, "q1", /is not valid JSON/],
    [`["2.000", "-7.554"]`, "q1", /must be a JSON object .*, not an array\.$/],
    [`"2.000"`, "q1", /must be a JSON object .*, not string\.$/],
    [`null`, "q2", /must be a JSON object .*, not null\.$/],
    [`{}`, "q1", /^answers\.json has no "q1"; add it/],
    [`{"Q1": "2.000"}`, "q1", /has no "q1" \(it has "Q1"\)/],
    [`{"q1": 2.0}`, "q1", /"q1" is the JSON number 2; write it as a string with 3 decimals/],
    [`{"q1": null}`, "q1", /"q1" must be a string such as "0\.123", not null\./],
    [`{"q1": ["2.000"]}`, "q1", /not an array\./],
    [`{"q1": true}`, "q1", /not boolean\./],
    [`{"q1": "two"}`, "q1", /"q1" is "two", which is not a decimal number/],
    [`{"q1": ""}`, "q1", /is "", which is not a decimal number/],
    [`{"q1": "2,000"}`, "q1", /not a decimal number/],
    [`{"q1": "2e0"}`, "q1", /not a decimal number/],
    [`{"q1": "NaN"}`, "q1", /not a decimal number/],
    [`{"q1": "2"}`, "q1", /"q1" is "2" with 0 decimals; give exactly 3 decimals/],
    [`{"q1": "2.0"}`, "q1", /with 1 decimal; give exactly 3/],
    [`{"q1": "2.0000"}`, "q1", /"q1" is "2\.0000" with 4 decimals; truncate it to exactly 3/],
    [`{"q2": "-7.5548"}`, "q2", /with 4 decimals; truncate it to exactly 3/],
    [
      `{"q2": "-7.555"}`,
      "q2",
      /"q2" is w\(167\) rounded down \(the floor\); truncation cuts toward zero/,
    ],
    [`{"q2": "7.554"}`, "q2", /"q2" is 7\.554, which is not w\(167\) truncated to 3 decimals\.$/],
    [`{"q1": "2.001"}`, "q1", /"q1" is 2\.001, which is not w\(167\)/],
    [`{"q1": "1.999"}`, "q1", /is 1\.999, which is not/],
  ];
  for (const [text, id, pattern] of cases) {
    const r = grade(id, text);
    assert.equal(r.score, 0, `${text}`);
    assert.equal(r.passed, 0, `${text}`);
    assert.match(r.output, pattern, `${text} → ${r.output}`);
    assert.ok(!r.output.includes("\n"), "one line");
    assert.ok(!r.output.includes("7.554") || text?.includes("7.554"), "never reveals Q2's answer");
  }
});

Deno.test("rounding, floor, negative zero and an uncertified reference each get their message", () => {
  const ref = (v: string) => {
    const d = ExactDecimal.parse(v)!;
    return truncate({ lo: d, hi: d }, 3);
  };
  const at = (text: string, want: Truncation) => gradeMomentumAnswer("q1", text, config, want);
  // 1.9996 truncates to 1.999 and rounds to 2.000.
  assert.equal(at(`{"q1": "1.999"}`, ref("1.9996")).score, 5);
  assert.match(
    at(`{"q1": "2.000"}`, ref("1.9996")).output,
    /rounded to 3 decimals; the handout asks to truncate/,
  );
  // -0.0004 truncates to 0.000 (written either way) and floors to -0.001.
  assert.equal(at(`{"q1": "-0.000"}`, ref("-0.0004")).score, 5);
  assert.equal(at(`{"q1": "0.000"}`, ref("-0.0004")).score, 5);
  assert.match(at(`{"q1": "-0.001"}`, ref("-0.0004")).output, /rounded down \(the floor\)/);
  const straddling = truncate({
    lo: ExactDecimal.parse("1.9999")!,
    hi: ExactDecimal.parse("2.0001")!,
  }, 3);
  const r = at(`{"q1": "2.000"}`, straddling);
  assert.equal(r.score, 0);
  assert.match(r.output, /the grader could not certify the reference answer/);
});
