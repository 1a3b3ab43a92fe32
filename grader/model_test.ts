import assert from "node:assert/strict";
import { FIXTURES_DIR, loadFixtures } from "../fixtures/mod.ts";
import { IMAGE_BYTES, RECORD_BYTES, TEST_FILE } from "../src/data/cifar10.ts";
import { linearModel } from "../src/onnx/test_models.ts";
import { referenceConv1D } from "./conv1d.ts";
import { gradeSubmission, loadConfig, QUESTIONS } from "./grade.ts";
import { checkCompetitionConfig, competitionPoints, gradeModel, type PointsRule } from "./model.ts";
import { passed } from "./question.ts";
import { toGradescope } from "./report.ts";
import { tempDir } from "../src/testing.ts";

const fixtures = await loadFixtures("onnx");
const c = fixtures.cases.find((c) => c.name === "onnx-dynamic")!;
const predictions = Array.from(fixtures.tensor(c, "predictions").data);

/** A test set of the fixture's 23 images; the first 13 labelled as PyTorch predicts them. */
async function dataFolder(): Promise<string> {
  const dir = await tempDir({ prefix: "model_test_" });
  const images = fixtures.tensor(c, "images").data;
  const records = new Uint8Array(predictions.length * RECORD_BYTES);
  predictions.forEach((p, i) => {
    records[i * RECORD_BYTES] = i < 13 ? p : (p + 3) % 10;
    records.set(images.subarray(i * IMAGE_BYTES, (i + 1) * IMAGE_BYTES), i * RECORD_BYTES + 1);
  });
  await Deno.writeFile(`${dir}/${TEST_FILE}`, records);
  return dir;
}

const data = await dataFolder();
const config = await loadConfig();

Deno.test("points are linear between floor and ceiling, or follow the cut-offs", () => {
  const linear = { kind: "linear", floor: 0.4, ceiling: 0.8 } as const;
  assert.equal(competitionPoints(0.3, linear, 20), 0);
  assert.equal(competitionPoints(0.4, linear, 20), 0);
  assert.equal(competitionPoints(0.6, linear, 20), 10);
  assert.equal(competitionPoints(0.8, linear, 20), 20);
  assert.equal(competitionPoints(0.95, linear, 20), 20);
  const cutoffs: PointsRule = {
    kind: "cutoffs",
    cutoffs: [{ accuracy: 0.5, fraction: 0.5 }, { accuracy: 0.7, fraction: 1 }],
  };
  assert.equal(competitionPoints(0.49, cutoffs, 20), 0);
  assert.equal(competitionPoints(0.5, cutoffs, 20), 10);
  assert.equal(competitionPoints(0.69, cutoffs, 20), 10);
  assert.equal(competitionPoints(0.7, cutoffs, 20), 20);
});

Deno.test("a bad q4 config section is refused with the field named", () => {
  for (
    const [q4, pattern] of [
      [{ rule: { kind: "linear", floor: 0.8, ceiling: 0.4 } }, /"floor" < "ceiling"/],
      [{ rule: { kind: "cutoffs", cutoffs: [] } }, /a cutoffs rule needs "cutoffs"/],
      [{ rule: { kind: "steps" } }, /"kind": "linear" or "cutoffs"/],
      [{ timeLimitSeconds: 0 }, /"timeLimitSeconds" must be a positive number/],
      [{ batchSize: 2.5 }, /"batchSize" must be a positive integer/],
      [7, /it must be an object/],
    ] as const
  ) {
    assert.throws(() => checkCompetitionConfig(q4, "c.json"), pattern);
  }
  assert.equal(checkCompetitionConfig(undefined, "c.json").timeLimitSeconds, 600);
});

Deno.test("a missing model scores zero with 'not submitted'", async () => {
  const [r] = await gradeModel(null, config);
  assert.equal(r.output, "not submitted");
  assert.equal(r.score, 0);
  assert.equal(r.maxScore, 20);
  assert.ok(!passed(r));
});

Deno.test("a PyTorch model is graded: accuracy, points, leaderboard, confusion image", async () => {
  const svg = `${data}/confusion.svg`;
  const q4 = {
    ...config.q4!,
    data,
    confusionImage: svg,
    rule: { kind: "linear" as const, floor: 0.5, ceiling: 0.6 },
  };
  const [r] = await gradeModel(`${FIXTURES_DIR}/onnx-dynamic.onnx`, { ...config, q4 });
  assert.equal(r.casesPassed, 13);
  assert.equal(r.cases, 23);
  // 13/23 = 56.5%: 65.2% of the way from 50% to 60%.
  assert.equal(r.score, Math.round(20 * (13 / 23 - 0.5) / 0.1 * 100) / 100);
  assert.ok(passed(r), "a scored model passes even without full points");
  assert.match(
    r.output,
    /^accuracy 56\.52% \(13 of 23 test images\), \d+ images\/s at batch 256 \(dynamic\)/,
  );
  assert.match(r.details!, /^true \\ predicted {2}air {2}aut/);
  assert.equal(r.details!.split("\n").length, 11);
  const json = toGradescope([r], 1);
  assert.deepEqual(json.leaderboard![0], { name: "Accuracy", value: 56.52, order: "desc" });
  assert.match(json.tests[0].output, /airplane/);
  const picture = await Deno.readTextFile(svg);
  assert.match(picture, /^<svg /);
  assert.match(picture, /accuracy 56\.52% on 23 images/);
});

Deno.test("a bad model scores zero for Q4 while Q3 is graded as usual", async () => {
  const path = `${data}/nhwc.onnx`;
  await Deno.writeFile(path, linearModel({ inputShape: ["N", 32, 32, 3] }));
  const results = await gradeSubmission(
    { label: "student", conv1d: referenceConv1D, answers: null, model: path },
    { ...config, q4: { ...config.q4!, data } },
    QUESTIONS,
  );
  const q4 = results.find((r) => r.question === "q4")!;
  assert.equal(q4.score, 0);
  assert.ok(!passed(q4));
  assert.match(q4.output, /channels last \(NHWC\)/);
  assert.ok(results.filter((r) => r.question === "q3").every(passed));
});
