import assert from "node:assert/strict";
import { loadFixtures } from "../../fixtures/mod.ts";
import { clone, maxAbsDiff, tensor } from "../tensor.ts";
import { crossEntropy, CrossEntropyLoss } from "./loss.ts";
import { ShapeError } from "./module.ts";

const fixtures = await loadFixtures("optim");
const ceCases = fixtures.cases.filter((c) => c.name.startsWith("ce-"));

function options(args: Record<string, unknown>) {
  return {
    labelSmoothing: args.label_smoothing as number,
    reduction: args.reduction as "mean" | "sum",
  };
}

Deno.test("CrossEntropyLoss matches torch.nn.CrossEntropyLoss loss and gradient to 1e-10", () => {
  assert.ok(ceCases.length >= 15);
  for (const c of ceCases) {
    const logits = fixtures.tensor(c, "logits");
    const targets = Array.from(fixtures.tensor(c, "target").data);
    const criterion = new CrossEntropyLoss(options(c.args));
    const loss = criterion.forward(logits, targets);
    const expected = fixtures.tensor(c, "loss").data[0];
    // Relative for the huge-logits case, whose loss is in the hundreds.
    const lossDiff = Math.abs(loss - expected) / Math.max(1, Math.abs(expected));
    assert.ok(lossDiff < 1e-10, `${c.name} loss: ${loss} vs ${expected}`);
    const gradDiff = maxAbsDiff(criterion.backward(), fixtures.tensor(c, "grad"));
    assert.ok(gradDiff < 1e-10, `${c.name} grad: max abs difference ${gradDiff}`);
  }
});

Deno.test("crossEntropy in float32 gives a float32 gradient close to PyTorch's", () => {
  for (const c of ceCases) {
    const logits = clone(fixtures.tensor(c, "logits"), "float32");
    const targets = Array.from(fixtures.tensor(c, "target").data);
    const { loss, grad } = crossEntropy(logits, targets, options(c.args));
    assert.ok(grad.data instanceof Float32Array);
    const expected = fixtures.tensor(c, "loss").data[0];
    assert.ok(Math.abs(loss - expected) <= 1e-5 * Math.max(1, Math.abs(expected)), c.name);
    assert.ok(maxAbsDiff(grad, fixtures.tensor(c, "grad")) < 1e-6, c.name);
  }
});

Deno.test("crossEntropy is finite for logits of ±1e4 and exact for a confident right answer", () => {
  const { loss, grad } = crossEntropy(tensor(new Float64Array([1e4, -1e4, 0]), [1, 3]), [0]);
  assert.equal(loss, 0);
  assert.deepEqual(Array.from(grad.data), [0, 0, 0]);
  const wrong = crossEntropy(tensor(new Float64Array([1e4, -1e4]), [1, 2]), [1]);
  assert.equal(wrong.loss, 2e4);
  assert.deepEqual(Array.from(wrong.grad.data), [1, -1]);
});

Deno.test("crossEntropy rejects bad shapes, targets and settings with clear messages", () => {
  const logits = tensor(new Float64Array(6), [2, 3]);
  assert.throws(() => crossEntropy(tensor(new Float64Array(6), [6]), [0]), ShapeError);
  assert.throws(
    () => crossEntropy(logits, [0]),
    (e: Error) => e instanceof ShapeError && /expected 2 targets .* got 1/.test(e.message),
  );
  assert.throws(() => crossEntropy(logits, [0, 3]), /target 1 is 3.*\[0, 3\)/);
  assert.throws(() => crossEntropy(logits, [0, 1.5]), /target 1 is 1.5/);
  assert.throws(() => crossEntropy(logits, [0, 1], { labelSmoothing: 1.5 }), /labelSmoothing/);
  assert.throws(() => new CrossEntropyLoss().backward(), /before forward/);
});
