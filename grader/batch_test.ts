import assert from "node:assert/strict";
import { FIXTURES_DIR, loadFixtures } from "../fixtures/mod.ts";
import { IMAGE_BYTES, RECORD_BYTES, TEST_FILE } from "../src/data/cifar10.ts";
import { accuracyOf, type BatchEntry, gradeBatch, leaderboard, writeBatch } from "./batch.ts";
import { loadConfig } from "./grade.ts";
import { passed } from "./question.ts";
import { tempDir } from "../src/testing.ts";

/** The shipped submissions: one correct, classic mistakes, hostile and broken ones. */
const SUBMISSIONS = new URL("./testdata/submissions", import.meta.url).pathname;
const SIDE_EFFECTS = [
  "/tmp/grader-sandbox-pwned.txt",
  "/tmp/grader-sandbox-spawned",
  `${SUBMISSIONS}/hostile_write_file/pwned.txt`,
];

const exists = (path: string) => Deno.stat(path).then(() => true, () => false);

// Short limits keep the suite fast: a loop or a heap hog costs two seconds, not ten.
const config = {
  ...await loadConfig(),
  sandbox: { startSeconds: 10, caseSeconds: 2, memoryMb: 768 },
};

for (const path of SIDE_EFFECTS) await Deno.remove(path).catch(() => {});
const started = performance.now();
const entries = await gradeBatch(SUBMISSIONS, config, { jobs: 3 });
const seconds = (performance.now() - started) / 1000;
const byName = new Map(entries.map((e) => [e.name, e]));

function q3(name: string): Record<string, { score: number; output: string; ok: boolean }> {
  const entry = byName.get(name);
  assert.ok(entry, `${name} was graded`);
  return Object.fromEntries(
    entry.results.filter((r) => r.question === "q3").map((r) => [
      r.part,
      { score: r.score, output: r.output, ok: passed(r) },
    ]),
  );
}

function failedParts(name: string): string[] {
  return Object.entries(q3(name)).filter(([, r]) => !r.ok).map(([part]) => part);
}

Deno.test("a batch of 20+ submissions, many broken or hostile, grades completely", () => {
  assert.ok(entries.length >= 20, `${entries.length} submissions`);
  for (const e of entries) {
    assert.equal(e.error, null, `${e.name}: ${e.error}`);
    assert.deepEqual(Object.keys(q3(e.name)), ["forward", "dx", "dW", "db"], e.name);
  }
  console.log(`graded ${entries.length} submissions in ${seconds.toFixed(1)} s`);
});

Deno.test("a student-style correct layers.ts earns every Q3 point in the sandbox", () => {
  for (const [part, r] of Object.entries(q3("correct"))) assert.ok(r.ok, `${part}: ${r.output}`);
});

Deno.test("each classic mistake fails the parts it breaks", () => {
  const expected: Record<string, string[]> = {
    mistake_dw_averaged: ["dW"],
    mistake_kernel_flipped: ["forward", "dx", "dW"],
    mistake_stride_ignored: ["dx", "dW"],
    mistake_db_wrong_axis: ["db"],
    mistake_dx_last_window: ["dx"],
    mistake_width_off_by_one: ["forward"],
  };
  for (const [name, parts] of Object.entries(expected)) {
    assert.deepEqual(failedParts(name), parts, name);
  }
  assert.match(q3("mistake_db_wrong_axis").db.output, /shape \(\d+,\), expected \(\d+,\)/);
  assert.match(q3("mistake_width_off_by_one").forward.output, /shape \(3, 12, 8\), expected/);
});

Deno.test("every hostile submission is contained and scores zero on every Q3 part", async () => {
  const expected: Record<string, RegExp> = {
    hostile_read_hostname: /forward threw NotCapable: Requires read access to "\/etc\/hostname"/,
    hostile_read_fixtures: /Requires read access to "\/autograder\/source\/fixtures\/conv1d\.json"/,
    hostile_import_reference: /Requires read access to "\/autograder\/source\/src\/nn\/conv1d\.ts"/,
    hostile_env: /Requires env access to "HOME"/,
    hostile_fetch: /importing layers\.ts threw NotCapable: Requires net access to "example\.com/,
    hostile_write_file: /Requires write access to "pwned\.txt" \(the grader's sandbox/,
    hostile_spawn: /Requires run access to "\/bin\/sh"/,
    hostile_infinite_loop: /handout: timed out after 2 s \(case 1\)/,
    hostile_alloc_heap: /timed out after 2 s|ran out of memory|used more than 768 MB/,
    hostile_alloc_buffers: /allocation failed|ran out of memory|used more than 768 MB/,
    hostile_exit: /ended the process \(exit code 0\) before returning every result/,
    // Both compute nothing; the point is that what they print or patch changes nothing,
    // and that the harness still delivered their (wrong) numbers despite the patches.
    hostile_fake_results: /max abs difference/,
    hostile_patch_globals: /max abs difference/,
  };
  for (const [name, pattern] of Object.entries(expected)) {
    for (const [part, r] of Object.entries(q3(name))) {
      assert.equal(r.score, 0, `${name} ${part}`);
      assert.match(r.output, pattern, `${name} ${part}`);
    }
  }
  for (const path of SIDE_EFFECTS) assert.ok(!(await exists(path)), `${path} was not created`);
});

Deno.test("broken outputs fail with a message that says what is wrong", () => {
  const bad = q3("bad_outputs");
  assert.match(bad.forward.output, /y contains NaN or Infinity/);
  assert.match(bad.dx.output, /backward's result is string, not an ndarray/);
  assert.match(bad.dW.output, /self\.dW is number, not an ndarray/);
  assert.match(bad.db.output, /shape \(13,\), expected \(12,\)/);
  assert.match(q3("no_export").forward.output, /does not export a class Conv1D/);
  assert.match(
    q3("syntax_error").forward.output,
    /SyntaxError: Expression expected[^]*layers\.ts:4/,
  );
  for (const name of ["bad_outputs", "no_export", "syntax_error"]) {
    assert.deepEqual(failedParts(name), ["forward", "dx", "dW", "db"], name);
  }
});

Deno.test("the batch writes a summary, a leaderboard and one results.json each", async () => {
  const out = await tempDir();
  await writeBatch(out, entries, seconds);
  const csv = (await Deno.readTextFile(`${out}/summary.csv`)).trim().split("\n");
  assert.equal(csv.length, entries.length + 1);
  assert.match(
    csv[0],
    /^submission,.*q3 forward,q3 dx,q3 dW,q3 db,.*total,max,accuracy %,seconds,error$/,
  );
  const header = csv[0].split(",");
  const correctRow = csv.find((l) => l.startsWith("correct,"))!.split(",");
  assert.deepEqual(
    ["q3 forward", "q3 dx", "q3 dW", "q3 db"].map((p) => correctRow[header.indexOf(p)]),
    ["5", "5", "5", "5"],
  );
  const summary = JSON.parse(await Deno.readTextFile(`${out}/summary.json`));
  assert.equal(summary.entries.length, entries.length);
  const correct = summary.entries.find((e: { name: string }) => e.name === "correct");
  assert.equal(correct.parts.length, entries[0].results.length);
  const board = (await Deno.readTextFile(`${out}/leaderboard.csv`)).trim().split("\n");
  assert.equal(board[0], "rank,submission,accuracy %,total,max");
  assert.match(board[1], /^1,correct,/); // no accuracies yet: the most points lead
  const results = JSON.parse(await Deno.readTextFile(`${out}/results/hostile_exit.json`));
  assert.equal(results.score, 0);
  assert.equal(results.tests.find((t: { name: string }) => t.name === "q3 dx").status, "failed");
});

Deno.test("the leaderboard orders by Q4 accuracy, then points, then name", () => {
  const entry = (name: string, score: number, accuracy: number | null): BatchEntry => ({
    name,
    seconds: 0,
    error: null,
    results: [
      {
        question: "q3",
        part: "dx",
        cases: 1,
        casesPassed: 1,
        worst: 0,
        score,
        maxScore: 5,
        output: "",
      },
      {
        question: "q4",
        part: "accuracy",
        cases: 0,
        casesPassed: 0,
        worst: null,
        score: 0,
        maxScore: 0,
        output: "",
        ...(accuracy === null ? {} : {
          leaderboard: [{ name: "Images/s", value: 9 }, { name: "Accuracy", value: accuracy }],
        }),
      },
    ],
  });
  const order = leaderboard([
    entry("a", 5, null),
    entry("b", 0, 61),
    entry("c", 5, 72.5),
    entry("d", 5, 61),
  ]).map((e) => e.name);
  assert.deepEqual(order, ["c", "d", "b", "a"]);
});

Deno.test("models' accuracies reach the summary, the leaderboard and results.json", async () => {
  const fixtures = await loadFixtures("onnx");
  const models = ["onnx-dynamic", "onnx-fixed-batch-1"];
  const cases = models.map((name) => fixtures.cases.find((c) => c.name === name)!);
  const predictions = cases.map((c) => Array.from(fixtures.tensor(c, "predictions").data));
  // A test set of the fixture's 23 images, the first 13 labelled as the first model predicts.
  const labels = predictions[0].map((p, i) => i < 13 ? p : (p + 3) % 10);
  const data = await tempDir();
  const images = fixtures.tensor(cases[0], "images").data;
  const records = new Uint8Array(labels.length * RECORD_BYTES);
  labels.forEach((label, i) => {
    records[i * RECORD_BYTES] = label;
    records.set(images.subarray(i * IMAGE_BYTES, (i + 1) * IMAGE_BYTES), i * RECORD_BYTES + 1);
  });
  await Deno.writeFile(`${data}/${TEST_FILE}`, records);
  const percent = (p: number[]) =>
    Math.round(p.filter((v, i) => v === labels[i]).length / labels.length * 10000) / 100;

  const batch = await tempDir();
  for (const [i, name] of ["ada", "grace"].entries()) {
    await Deno.mkdir(`${batch}/${name}`);
    await Deno.copyFile(`${FIXTURES_DIR}/${models[i]}.onnx`, `${batch}/${name}/model.onnx`);
  }
  await Deno.mkdir(`${batch}/linus`);
  await Deno.writeTextFile(`${batch}/linus/model.onnx`, "not a model");
  await Deno.mkdir(`${batch}/margaret`);
  await Deno.copyFile(`${SUBMISSIONS}/correct/layers.ts`, `${batch}/margaret/layers.ts`);

  const withData = { ...config, q4: { ...config.q4!, data } };
  const graded = await gradeBatch(batch, withData, { jobs: 2 });
  const accuracy: Record<string, number | null> = Object.fromEntries(
    graded.map((e) => [e.name, accuracyOf(e.results)]),
  );
  assert.deepEqual({ ...accuracy }, {
    ada: percent(predictions[0]),
    grace: percent(predictions[1]),
    linus: null,
    margaret: null,
  });
  const ranked = ["ada", "grace"].sort((a, b) => accuracy[b]! - accuracy[a]! || a.localeCompare(b));
  // Without an accuracy, margaret's 20 Q3 points rank her above linus's broken model.
  assert.deepEqual(leaderboard(graded).map((e) => e.name), [...ranked, "margaret", "linus"]);
  const out = await tempDir();
  await writeBatch(out, graded, 1);
  const board = (await Deno.readTextFile(`${out}/leaderboard.csv`)).trim().split("\n");
  assert.ok(board[1].startsWith(`1,${ranked[0]},${accuracy[ranked[0]]},`), board[1]);
  assert.ok(board[4].startsWith("4,linus,,"), board[4]);
  const results = JSON.parse(await Deno.readTextFile(`${out}/results/ada.json`));
  assert.deepEqual(results.leaderboard[0], {
    name: "Accuracy",
    value: accuracy.ada,
    order: "desc",
  });
  assert.match(
    graded.find((e) => e.name === "linus")!.results.find((r) => r.question === "q4")!.output,
    /not an ONNX model/,
  );
});
