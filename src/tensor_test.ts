import assert from "node:assert/strict";
import { clone, contiguous, dtypeOf, isContiguous, maxAbsDiff, tensor, zeros } from "./tensor.ts";

Deno.test("tensor checks that the data fits the shape", () => {
  assert.throws(() => tensor(new Float64Array(5), [2, 3]), /needs 6 elements, got 5/);
  assert.deepEqual(tensor(new Float64Array(6), [2, 3]).shape, [2, 3]);
});

Deno.test("contiguous copies strided views in row-major order and leaves dense ones alone", () => {
  const t = tensor(new Float64Array([1, 2, 3, 4, 5, 6]), [2, 3]);
  assert.equal(contiguous(t), t);
  const tt = t.transpose(1, 0);
  assert.ok(!isContiguous(tt));
  assert.deepEqual([...contiguous(tt).data], [1, 4, 2, 5, 3, 6]);
  assert.deepEqual([...contiguous(t.hi(2, 2).lo(0, 1)).data], [2, 5]);
});

Deno.test("clone converts dtype", () => {
  const t = clone(tensor(new Float64Array([1.5, 2]), [2]), "float32");
  assert.equal(dtypeOf(t), "float32");
  assert.deepEqual([...t.data], [1.5, 2]);
  assert.equal(dtypeOf(zeros([1])), "float64");
});

Deno.test("maxAbsDiff fails shape mismatches and NaN", () => {
  const a = tensor(new Float64Array([1, 2, 3]), [3]);
  assert.equal(maxAbsDiff(a, tensor(new Float64Array([1, 2.5, 2]), [3])), 1);
  assert.equal(maxAbsDiff(a, tensor(new Float64Array([1, 2, 3]), [1, 3])), Infinity);
  assert.ok(Number.isNaN(maxAbsDiff(a, tensor(new Float64Array([NaN, 2, 3]), [3]))));
  assert.ok(Number.isNaN(maxAbsDiff(a, tensor(new Float64Array([1, 2, NaN]), [3]))));
});
