import assert from "node:assert/strict";
import { UserError } from "../src/errors.ts";
import { emptySubmission, loadSubmission } from "./submission.ts";
import { tempDir, tempFile } from "../src/testing.ts";

Deno.test("a submission folder's parts: layers.ts runs later, answers.json as text, model.onnx as a path", async () => {
  const dir = await tempDir();
  await Deno.writeTextFile(`${dir}/answers.json`, '{"q1": 0.123}');
  await Deno.writeFile(`${dir}/model.onnx`, new Uint8Array([8, 7]));
  await Deno.writeTextFile(`${dir}/layers.ts`, "throw new Error('never run in the grader');");
  const s = await loadSubmission(dir);
  assert.equal(s.label, dir.slice(dir.lastIndexOf("/") + 1));
  assert.equal(s.answers, '{"q1": 0.123}');
  assert.equal(s.model, `${await Deno.realPath(dir)}/model.onnx`);
  assert.equal(typeof s.conv1d, "function");
});

Deno.test("missing parts are null; files wrapped in one folder are found", async () => {
  const dir = await tempDir();
  assert.deepEqual(await loadSubmission(dir), emptySubmission(dir.slice(dir.lastIndexOf("/") + 1)));
  await Deno.mkdir(`${dir}/hw3`);
  await Deno.writeTextFile(`${dir}/hw3/answers.json`, "[]");
  const wrapped = await loadSubmission(dir);
  assert.equal(wrapped.answers, "[]");
  assert.equal(wrapped.conv1d, null);
  assert.equal(wrapped.model, null);
});

Deno.test("a submission that is not a folder is a UserError", async () => {
  await assert.rejects(loadSubmission("/nonexistent/ada"), UserError);
  const file = await tempFile();
  await assert.rejects(loadSubmission(file), /is not a folder/);
});
