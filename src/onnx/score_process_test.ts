import assert from "node:assert/strict";
import { FIXTURES_DIR, loadFixtures } from "../../fixtures/mod.ts";
import { IMAGE_BYTES, RECORD_BYTES, TEST_FILE } from "../data/cifar10.ts";
import type { Cifar10Location } from "../data/locate.ts";
import { UserError } from "../errors.ts";
import { ModelError } from "./model_error.ts";
import { scoreInChildProcess } from "./score_process.ts";
import { slowModel } from "./test_models.ts";
import { tempDir, tempFile } from "../testing.ts";

const fixtures = await loadFixtures("onnx");
const c = fixtures.cases.find((c) => c.name === "onnx-dynamic")!;
const expected = Array.from(fixtures.tensor(c, "predictions").data);

/** A CIFAR-10 binary folder whose test set is the fixture's images, labelled as PyTorch predicts. */
async function dataFolder(): Promise<string> {
  const dir = await tempDir({ prefix: "score_process_test_" });
  const images = fixtures.tensor(c, "images").data;
  const records = new Uint8Array(expected.length * RECORD_BYTES);
  expected.forEach((label, i) => {
    records[i * RECORD_BYTES] = label;
    records.set(images.subarray(i * IMAGE_BYTES, (i + 1) * IMAGE_BYTES), i * RECORD_BYTES + 1);
  });
  await Deno.writeFile(`${dir}/${TEST_FILE}`, records);
  return dir;
}

const data: Cifar10Location = {
  dir: await dataFolder(),
  layout: "bin",
  hasTrain: false,
  hasTest: true,
};

Deno.test("a child process scores a data folder with the same predictions", async () => {
  const report = await scoreInChildProcess(`${FIXTURES_DIR}/onnx-dynamic.onnx`, data, {
    timeLimitSeconds: 60,
    batchSize: 8,
  });
  assert.deepEqual(report.predictions, expected);
  assert.equal(report.accuracy, 1);
  assert.equal(report.perClass[0].name, "airplane");
});

Deno.test("a model slower than the time limit is killed and scores a clear sentence", async () => {
  const path = await tempFile({ suffix: ".onnx" });
  await Deno.writeFile(path, slowModel());
  const began = performance.now();
  await assert.rejects(
    () => scoreInChildProcess(path, data, { timeLimitSeconds: 1 }),
    (error: Error) => {
      assert.ok(error instanceof ModelError);
      assert.match(error.message, /took longer than the time limit of 1 s for the whole test set/);
      return true;
    },
  );
  // Killed at the limit, not left to finish (which would take minutes).
  assert.ok(performance.now() - began < 30_000);
});

Deno.test("the child's model errors are the model's, missing data the grader's", async () => {
  await assert.rejects(
    () => scoreInChildProcess(`${data.dir}/nope.onnx`, data, { timeLimitSeconds: 60 }),
    (error: Error) => error instanceof ModelError && /does not exist/.test(error.message),
  );
  await assert.rejects(
    () =>
      scoreInChildProcess(
        `${FIXTURES_DIR}/onnx-dynamic.onnx`,
        { ...data, dir: `${data.dir}/none` },
        {
          timeLimitSeconds: 60,
        },
      ),
    (error: Error) =>
      error instanceof UserError && !(error instanceof ModelError) &&
      /CIFAR-10 folder .*none does not exist/.test(error.message),
  );
});
