import assert from "node:assert/strict";
import { loadFixtures } from "../fixtures/mod.ts";
import { type Conv1DRunner, gradeConv1D } from "./conv1d.ts";
import { loadConfig } from "./grade.ts";
import { passed } from "./question.ts";
import { sandboxConv1D } from "./sandbox.ts";
import { tempDir } from "../src/testing.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const SUBMISSIONS = `${ROOT}/grader/testdata/submissions`;
const LIMITS = { startSeconds: 10, caseSeconds: 2, memoryMb: 768 };
const fixtures = await loadFixtures("conv1d");
const config = await loadConfig();

/** Runs a module's `Conv1D` in this process: what a grader without a sandbox would do. */
function inProcess(Conv1D: new (...args: number[]) => Record<string, unknown>): Conv1DRunner {
  return (cases) =>
    Promise.resolve(cases.map((c) => {
      const conv = new Conv1D(c.inChannel, c.outChannel, c.kernelSize, c.stride) as never as {
        W: unknown;
        b: unknown;
        dW: never;
        db: never;
        forward(x: unknown): never;
        backward(d: unknown): never;
      };
      conv.W = c.W;
      conv.b = c.b;
      const y = conv.forward(c.x);
      const dx = conv.backward(c.delta);
      return { y, dx, dW: conv.dW, db: conv.db };
    }));
}

/** A shipped hostile submission, pointed at this checkout instead of /autograder/source. */
async function aimedHere(name: string): Promise<string> {
  const dir = await tempDir();
  const text = await Deno.readTextFile(`${SUBMISSIONS}/${name}/layers.ts`);
  await Deno.writeTextFile(`${dir}/layers.ts`, text.replaceAll("/autograder/source", ROOT));
  return `${dir}/layers.ts`;
}

Deno.test("copying the fixtures or the reference would score full marks unsandboxed, zero sandboxed", async () => {
  for (const name of ["hostile_read_fixtures", "hostile_import_reference"]) {
    const layers = await aimedHere(name);
    const { Conv1D } = await import(`file://${layers}`);
    const unsandboxed = await gradeConv1D(inProcess(Conv1D), fixtures, config);
    assert.ok(unsandboxed.every(passed), `${name} cheats successfully without the sandbox`);
    const sandboxed = await gradeConv1D(sandboxConv1D(layers, LIMITS), fixtures, config);
    for (const r of sandboxed) {
      assert.equal(r.score, 0, `${name} ${r.part}`);
      assert.match(r.output, new RegExp(`Requires read access to "${ROOT}/(fixtures|src)/`));
    }
  }
});

Deno.test("a submission may import its own modules and ndarray by bare name, and read its own files", async () => {
  const dir = await tempDir();
  await Deno.mkdir(`${dir}/impl`);
  const correct = await Deno.readTextFile(`${SUBMISSIONS}/correct/layers.ts`);
  await Deno.writeTextFile(
    `${dir}/impl/conv.ts`,
    correct.replace('from "npm:ndarray@1.0.19"', 'from "ndarray"'),
  );
  await Deno.writeTextFile(`${dir}/settings.json`, '{"ready": true}');
  await Deno.writeTextFile(
    `${dir}/layers.ts`,
    `if (!JSON.parse(Deno.readTextFileSync(new URL("./settings.json", import.meta.url))).ready) {
  throw new Error("settings not read");
}
export { Conv1D } from "./impl/conv.ts";
`,
  );
  // A link out of the folder is not copied into the sandbox, so it leads nowhere.
  await Deno.symlink(`${ROOT}/fixtures`, `${dir}/fx`);
  const results = await gradeConv1D(sandboxConv1D(`${dir}/layers.ts`, LIMITS), fixtures, config);
  for (const r of results) assert.ok(passed(r), `${r.part}: ${r.output}`);

  await Deno.writeTextFile(
    `${dir}/layers.ts`,
    `Deno.readTextFileSync(new URL("./fx/conv1d.json", import.meta.url));\nexport { Conv1D } from "./impl/conv.ts";\n`,
  );
  for (const r of await gradeConv1D(sandboxConv1D(`${dir}/layers.ts`, LIMITS), fixtures, config)) {
    assert.equal(r.score, 0);
    assert.match(r.output, /importing layers\.ts threw NotFound/);
  }
});

Deno.test("the time limit is per case: earlier cases keep their results, later ones say why", async () => {
  const dir = await tempDir();
  const correct = await Deno.readTextFile(`${SUBMISSIONS}/correct/layers.ts`);
  const looping = correct.replace(
    "  forward(x: Arr): Arr {\n",
    "  forward(x: Arr): Arr {\n    if (++calls === 3) for (;;);\n",
  ) + "let calls = 0;\n";
  assert.notEqual(looping, correct + "let calls = 0;\n");
  await Deno.writeTextFile(`${dir}/layers.ts`, looping);
  const limits = { ...LIMITS, caseSeconds: 1 };
  const [forward] = await gradeConv1D(sandboxConv1D(`${dir}/layers.ts`, limits), fixtures, config);
  assert.equal(forward.casesPassed, 2);
  assert.match(
    forward.output,
    /^35 of 37 cases failed; first: random-01: timed out after 1 s \(case 3\)$/,
  );
});
