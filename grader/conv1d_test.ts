import assert from "node:assert/strict";
import { loadFixtures } from "../fixtures/mod.ts";
import { Conv1D } from "../src/nn/conv1d.ts";
import { tensor } from "../src/tensor.ts";
import { type Conv1DRunner, gradeConv1D, referenceConv1D } from "./conv1d.ts";
import { loadConfig } from "./grade.ts";
import { passed } from "./question.ts";

const fixtures = await loadFixtures("conv1d");
const config = await loadConfig();

/** A runner built on the reference that spoils one of its outputs. */
function spoiled(spoil: (out: ReturnType<typeof run>, conv: Conv1D) => void): Conv1DRunner {
  return (cases) =>
    Promise.resolve(cases.map((c) => {
      const out = run(c);
      spoil(out, out.conv);
      return out;
    }));
}
function run(c: Parameters<Conv1DRunner>[0][number]) {
  const conv = new Conv1D(c.inChannel, c.outChannel, c.kernelSize, c.stride);
  conv.W = c.W;
  conv.b = c.b;
  const y = conv.forward(c.x);
  const dx = conv.backward(c.delta);
  return { y, dx, dW: conv.dW, db: conv.db!, conv };
}

async function failedParts(runner: Conv1DRunner): Promise<string[]> {
  const results = await gradeConv1D(runner, fixtures, config);
  return results.filter((r) => !passed(r)).map((r) => r.part);
}

Deno.test("the reference passes every Q3 part on the handout-contract cases", async () => {
  const results = await gradeConv1D(referenceConv1D, fixtures, config);
  assert.deepEqual(results.map((r) => r.part), ["forward", "dx", "dW", "db"]);
  for (const r of results) {
    assert.ok(passed(r), `${r.part}: ${r.output}`);
    assert.ok(r.cases >= 30);
    assert.equal(r.score, 5);
  }
});

Deno.test("dW averaged over the batch fails exactly the dW part", async () => {
  const averaged = spoiled((out) => {
    const n = out.y.shape[0];
    out.dW = tensor(out.dW.data.map((g) => g / n), out.dW.shape);
  });
  // Cases with batch 1 still pass, so the part fails on the others only.
  assert.deepEqual(await failedParts(averaged), ["dW"]);
});

Deno.test("a wrong shape, NaN or a thrown error fails the part with a message", async () => {
  const results = await gradeConv1D(
    spoiled((out) => {
      out.dx = tensor(out.dx.data.subarray(0, out.dx.size - out.dx.shape[2]), [
        out.dx.shape[0] * out.dx.shape[1] - 1,
        out.dx.shape[2],
      ]);
      out.db = tensor(out.db.data.map(() => NaN), out.db.shape);
    }),
    fixtures,
    config,
  );
  const byPart = Object.fromEntries(results.map((r) => [r.part, r]));
  assert.ok(passed(byPart.forward) && passed(byPart.dW));
  assert.match(byPart.dx.output, /shape \(\d+, \d+\), expected \(\d+, \d+, \d+\)/);
  assert.equal(byPart.dx.score, 0);
  assert.ok(Number.isNaN(byPart.db.worst!));
  assert.equal(byPart.db.score, 0);

  const throwing: Conv1DRunner = (cases) =>
    Promise.resolve(cases.map(() => ({ error: "TypeError: oops" })));
  for (const r of await gradeConv1D(throwing, fixtures, config)) {
    assert.equal(r.score, 0);
    assert.match(r.output, /TypeError: oops/);
  }
});

Deno.test("a missing Conv1D scores zero with 'not submitted'", async () => {
  for (const r of await gradeConv1D(null, fixtures, config)) {
    assert.equal(r.score, 0);
    assert.equal(r.output, "not submitted");
  }
});
