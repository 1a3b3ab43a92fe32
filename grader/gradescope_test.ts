import assert from "node:assert/strict";
import { unzipSync } from "fflate";
import { buildAutograder } from "./gradescope.ts";
import { tempDir } from "../src/testing.ts";

const SUBMISSIONS = new URL("./testdata/submissions", import.meta.url).pathname;

Deno.test("the Gradescope package grades a submission the way Gradescope runs it", async () => {
  const zip = await buildAutograder();
  const files = unzipSync(zip);
  const names = Object.keys(files);
  for (
    const name of [
      "setup.sh",
      "run_autograder",
      "deno.json",
      "grader/main.ts",
      "fixtures/conv1d.bin",
      "grader/sandbox/harness.ts",
    ]
  ) {
    assert.ok(names.includes(name), `${name} is packaged`);
  }
  assert.ok(!names.some((n) => n.includes("testdata") || n.endsWith("_test.ts")), "no tests");

  // Lay it out as Gradescope does: the zip in source/, the student's files in submission/.
  const root = await tempDir();
  for (const [name, bytes] of Object.entries(files)) {
    const path = `${root}/source/${name}`;
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    await Deno.writeFile(path, bytes);
  }
  await Deno.mkdir(`${root}/submission`);
  await Deno.copyFile(`${SUBMISSIONS}/correct/layers.ts`, `${root}/submission/layers.ts`);
  const { code, stderr } = await new Deno.Command("bash", {
    args: [`${root}/source/run_autograder`],
    env: { AUTOGRADER_ROOT: root },
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  const results = JSON.parse(await Deno.readTextFile(`${root}/results/results.json`));
  const q3 = results.tests.filter((t: { name: string }) => t.name.startsWith("q3 "));
  assert.deepEqual(q3.map((t: { status: string }) => t.status), Array(4).fill("passed"));
  assert.equal(typeof results.execution_time, "number");
});
