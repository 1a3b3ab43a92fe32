import assert from "node:assert/strict";
import { tempDir, tempFile } from "../src/testing.ts";

const MAIN = new URL("./main.ts", import.meta.url).pathname;
const SUBMISSIONS = new URL("./testdata/submissions", import.meta.url).pathname;

async function grade(...args: string[]) {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code, out: new TextDecoder().decode(stdout), err: new TextDecoder().decode(stderr) };
}

Deno.test("deno task grade passes the reference and writes Gradescope JSON", async () => {
  const dir = await tempDir();
  const { code, out } = await grade("--json", `${dir}/results.json`);
  assert.equal(code, 0, out);
  assert.match(out, /q3\s+forward\s+37\/37/);
  assert.match(out, /q1\s+answer\s+1\/1/);
  assert.match(out, /q2\s+answer\s+1\/1/);
  assert.match(out, /total\s+30\/30/);
  const results = JSON.parse(await Deno.readTextFile(`${dir}/results.json`));
  assert.equal(results.score, 30);
  assert.equal(typeof results.execution_time, "number");
  assert.equal(results.tests.length, 6);
  for (const t of results.tests) {
    assert.deepEqual(Object.keys(t).sort(), [
      "max_score",
      "name",
      "output",
      "score",
      "status",
      "visibility",
    ]);
    assert.equal(t.status, "passed");
  }
});

Deno.test("bad command lines end in one sentence and exit 2", async () => {
  for (
    const [args, pattern] of [
      [["--bogus"], /unknown option '--bogus'/],
      [["--json"], /argument missing/],
      [["--config", "/nonexistent.json"], /cannot read the grader config \/nonexistent\.json/],
      [["--json", "/nonexistent/dir/r.json"], /cannot write \/nonexistent\/dir\/r\.json/],
      [["--submission", "/nonexistent/ada"], /the submission \/nonexistent\/ada is not a folder/],
      [["--submissions", "/nonexistent"], /cannot read the submissions folder \/nonexistent/],
      [["--submission", "a", "--submissions", "b"], /either --submission or --submissions/],
      [["--submissions", SUBMISSIONS, "--jobs", "0"], /--jobs must be a whole number/],
      [["--submission", "a", "--model", "m.onnx"], /a submission's model is its model\.onnx/],
    ] as const
  ) {
    const { code, err } = await grade(...args);
    assert.equal(code, 2, `${args}: ${err}`);
    assert.match(err, pattern);
    assert.equal(err.trim().split("\n").length, 1, `one line, no stack trace: ${err}`);
  }
});

Deno.test("a config with bad points is refused", async () => {
  const path = await tempFile({ suffix: ".json" });
  await Deno.writeTextFile(path, JSON.stringify({ tolerance: 1e-12, points: { q3: { dW: "x" } } }));
  const { code, err } = await grade("--config", path);
  assert.equal(code, 2);
  assert.match(err, /needs a positive "tolerance" and "points"/);
});

Deno.test("--submission grades a student's folder in the sandbox, with Gradescope JSON", async () => {
  const dir = await tempDir();
  const { code, out } = await grade(
    "--submission",
    `${SUBMISSIONS}/correct`,
    "--json",
    `${dir}/results.json`,
  );
  assert.match(out, /^Grading correct$/m);
  assert.match(out, /q3\s+forward\s+37\/37/);
  const results = JSON.parse(await Deno.readTextFile(`${dir}/results.json`));
  const status = Object.fromEntries(
    results.tests.map((t: { name: string; status: string; output: string }) => [
      t.name,
      t.status === "passed" ? "passed" : t.output,
    ]),
  );
  // answers.json and layers.ts pass; the folder has no model.onnx.
  assert.deepEqual(status, {
    "q1 answer": "passed",
    "q2 answer": "passed",
    "q3 forward": "passed",
    "q3 dx": "passed",
    "q3 dW": "passed",
    "q3 db": "passed",
    "q4 accuracy": "not submitted",
  });
  const all = results.tests.every((t: { status: string }) => t.status === "passed");
  assert.equal(code, all ? 0 : 1);

  const hostile = await grade("--submission", `${SUBMISSIONS}/hostile_exit`);
  assert.equal(hostile.code, 1);
  assert.match(hostile.out, /q3\s+forward\s+0\/37\s+failed\s+0\/5\s+FAIL/);
  assert.match(hostile.out, /ended the process \(exit code 0\)/);
});

Deno.test("--submissions grades a folder of submissions and writes the summary", async () => {
  const batch = await tempDir();
  for (const name of ["correct", "mistake_dw_averaged", "syntax_error"]) {
    await Deno.mkdir(`${batch}/${name}`);
    await Deno.copyFile(`${SUBMISSIONS}/${name}/layers.ts`, `${batch}/${name}/layers.ts`);
  }
  await Deno.mkdir(`${batch}/empty`);
  const out = await tempDir();
  const { code, out: stdout } = await grade("--submissions", batch, "--json", out, "--jobs", "2");
  assert.equal(code, 0, stdout);
  assert.match(stdout, /^1\s+correct\s+20\/\d+/m);
  assert.match(stdout, /Graded 4 submissions/);
  const [header, ...rows] = (await Deno.readTextFile(`${out}/summary.csv`)).trim().split("\n")
    .map((line) => line.split(","));
  const q3 = (name: string) => {
    const row = rows.find((r) => r[0] === name)!;
    return ["forward", "dx", "dW", "db"].map((p) => row[header.indexOf(`q3 ${p}`)]).join(",");
  };
  assert.equal(q3("mistake_dw_averaged"), "5,5,0,5");
  assert.equal(q3("empty"), "0,0,0,0");
  for (const name of ["correct", "empty", "mistake_dw_averaged", "syntax_error"]) {
    assert.ok((await Deno.stat(`${out}/results/${name}.json`)).isFile);
  }
});

Deno.test("--model adds Q4; a broken model costs only Q4's points", async () => {
  const dir = await tempDir();
  await Deno.writeTextFile(`${dir}/model.onnx`, "not a model");
  await Deno.writeFile(`${dir}/test_batch.bin`, new Uint8Array(3073 * 2));
  const { code, out } = await grade("--model", `${dir}/model.onnx`, "--data", dir);
  assert.equal(code, 1, out);
  assert.match(out, /q3\s+db\s+37\/37 .* pass/);
  assert.match(out, /q4\s+accuracy\s+-\s+-\s+0\/20\s+FAIL/);
  assert.match(out, /q4 accuracy: .*model\.onnx is not an ONNX model/);
  assert.match(out, /total\s+30\/50/);
});

Deno.test("Q4 flags without --model, or no test set, end in one sentence", async () => {
  const empty = await tempDir();
  for (
    const [args, pattern] of [
      [["--confusion", "c.svg"], /--confusion and --time-limit need --model/],
      [["--model", "m.onnx", "--time-limit", "soon"], /--time-limit must be a positive number/],
      [["--model", "m.onnx", "--data", empty], /no CIFAR-10 found in .* \(from --data\)/],
    ] as const
  ) {
    const { code, err } = await grade(...args);
    assert.equal(code, 2, `${args}: ${err}`);
    assert.match(err, pattern);
    assert.equal(err.trim().split("\n").length, 1, `one line, no stack trace: ${err}`);
  }
});
