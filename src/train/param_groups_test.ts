import assert from "node:assert/strict";
import { crossEntropy } from "../nn/loss.ts";
import { BatchNorm2D } from "../nn/norm.ts";
import { splitWeightDecay } from "../optim/optimizer.ts";
import { SGD } from "../optim/sgd.ts";
import { Rng } from "../random.ts";
import { clone, contiguous, zeros } from "../tensor.ts";
import { buildModel } from "./models.ts";
import { trainingGroups } from "./param_groups.ts";

const model = () =>
  buildModel({ arch: "resnet", widths: [4, 6, 6, 8], rng: new Rng(0), dtype: "float32" });
const names = (group: { params: () => { name: string }[] }) => group.params().map((p) => p.name);

Deno.test("trainingGroups: with factor 1 the two groups of splitWeightDecay, as older runs had", () => {
  const net = model();
  const { groups, lrScales } = trainingGroups(net, { bnBiasLr: 1 });
  assert.deepEqual(lrScales, [1, 1]);
  assert.deepEqual(groups.map((g) => names(g as never)), splitWeightDecay(net).map(names));
});

Deno.test("trainingGroups: BatchNorm's biases (in residual blocks too) alone in a third group, all parameters once", () => {
  const net = model();
  const { groups, lrScales } = trainingGroups(net, { bnBiasLr: 64 });
  assert.deepEqual(lrScales, [1, 1, 64]);
  const [decayed, rest, biases] = groups.map((g) => names(g as never));
  assert.ok(biases.length > 0 && biases.every((n) => n.endsWith("bias")), biases.join());
  assert.ok(decayed.every((n) => n.endsWith("weight")));
  assert.ok(rest.every((n) => !biases.includes(n)));
  const all = net.parameters().filter((p) => p.requiresGrad !== false).map((p) => p.name);
  assert.deepEqual([...decayed, ...rest, ...biases].sort(), all.sort());
  // Every BatchNorm's bias, and nothing else, is in the third group.
  let count = 0;
  const visit = (m: { namedChildren(): [string, unknown][] }) => {
    if (m instanceof BatchNorm2D) count++;
    for (const [, c] of m.namedChildren()) visit(c as never);
  };
  visit(net);
  assert.equal(biases.length, count);
  assert.equal(groups[1].weightDecay, 0);
  assert.equal(groups[2].weightDecay, 0);
});

Deno.test("trainingGroups: an SGD step moves BatchNorm's biases by the factor times the rate", () => {
  const net = model(), lr = 0.01;
  const { groups, lrScales } = trainingGroups(net, { bnBiasLr: 64 });
  const sgd = new SGD(groups, { lr, momentum: 0, weightDecay: 0 });
  sgd.paramGroups.forEach((g, i) => g.lr = lr * lrScales[i]);
  const x = new Rng(1).fillNormal(zeros([4, 3, 32, 32], "float32"));
  const { grad } = crossEntropy(contiguous(net.forward(x)), new Uint8Array([0, 1, 2, 3]));
  net.backward(grad);
  const before = net.parameters().map((p) => ({ ...p, value: clone(p.value) }));
  sgd.step();
  const biasNames = new Set(names(groups[2] as never));
  for (const [i, p] of net.parameters().entries()) {
    const rate = biasNames.has(p.name) ? 64 * lr : lr;
    for (let j = 0; j < p.value.size; j++) {
      const want = before[i].value.data[j] - rate * p.grad.data[j];
      assert.ok(Math.abs(p.value.data[j] - want) <= 1e-6 * (1 + Math.abs(want)), `${p.name}[${j}]`);
    }
  }
});
