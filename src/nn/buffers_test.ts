import assert from "node:assert/strict";
import { setOutputArena } from "../kernels/arena.ts";
import { Rng } from "../random.ts";
import { clone, maxAbsDiff, zeros } from "../tensor.ts";
import { OutputBuffer } from "./buffers.ts";
import { Conv2D } from "./conv2d.ts";
import { MaxPool2D } from "./pool.ts";
import { Sequential } from "./sequential.ts";

Deno.test("layers reuse their output buffers: valid until the layer's next call, then overwritten", () => {
  const rng = new Rng(4);
  const conv = new Conv2D(2, 3, 3, 1, { padding: 1, rng });
  const x1 = rng.fillNormal(zeros([2, 2, 5, 5])), x2 = rng.fillNormal(zeros([2, 2, 5, 5]));
  const y1 = conv.forward(x1);
  const kept = clone(y1);
  const y2 = conv.forward(x2);
  assert.equal(y2, y1, "the same shape reuses the same tensor");
  assert.ok(maxAbsDiff(y2, kept) > 0, "so the first output is overwritten");
  assert.notEqual(conv.forward(zeros([1, 2, 5, 5])), y1, "a new shape gets a new tensor");
  // Reused backward buffers start from zero again: the same delta gives the same gradient.
  const net = new Sequential(new Conv2D(2, 3, 3, 1, { padding: 1, rng }), new MaxPool2D(2));
  const delta = rng.fillNormal(zeros([2, 3, 2, 2]));
  net.forward(x1);
  const first = clone(net.backward(delta));
  net.forward(x1);
  assert.equal(maxAbsDiff(net.backward(delta), first), 0);
});

/** Installs an arena that records the blocks it gives and takes back. */
function recordingArena(): { given: Float32Array[]; released: Float32Array[] } {
  const given: Float32Array[] = [], released: Float32Array[] = [];
  setOutputArena({
    allocate: (size) => given[given.length] = new Float32Array(size),
    release: (data) => released.push(data),
  });
  return { given, released };
}

Deno.test("float32 output buffers come from the installed arena, and a replaced one goes back to it", () => {
  const { given, released } = recordingArena();
  try {
    const buffer = new OutputBuffer();
    const first = buffer.get([2, 3], "float32");
    assert.equal(first.data, given[0]);
    assert.equal(buffer.get([2, 3], "float32"), first, "the same shape keeps its block");
    assert.equal(buffer.get([7], "float32").data, given[1]);
    assert.deepEqual(released, [given[0]]);
    assert.ok(buffer.get([4], "float64").data instanceof Float64Array);
    assert.equal(given.length, 2, "float64 buffers come from ordinary memory");
    assert.deepEqual(released, [given[0], given[1]]);
    setOutputArena(null);
    buffer.get([5], "float32");
    assert.equal(given.length, 2, "without an arena, from ordinary memory");
  } finally {
    setOutputArena(null);
  }
});

Deno.test("a smaller shape reuses the front of the block, zeroed; a larger one takes a new block", () => {
  const { given, released } = recordingArena();
  try {
    const buffer = new OutputBuffer();
    buffer.get([4, 3], "float32").data.fill(7);
    const smaller = buffer.get([2, 3], "float32");
    assert.equal(given.length, 1, "no new block for a smaller shape");
    assert.equal(smaller.data.buffer, given[0].buffer);
    assert.equal(smaller.data.byteOffset, given[0].byteOffset);
    assert.deepEqual([...smaller.data], [0, 0, 0, 0, 0, 0], "a new shape starts from zeros");
    assert.equal(buffer.get([4, 3], "float32").data.length, 12, "back to the block's full size");
    assert.equal(given.length, 1);
    buffer.get([5, 3], "float32");
    assert.equal(given.length, 2, "a larger shape takes a new block");
    assert.deepEqual(released, [given[0]], "and gives the whole old block back");
    // A block from an arena no longer installed is not reused.
    setOutputArena(null);
    assert.ok(buffer.get([1, 3], "float32").data.buffer !== given[1].buffer);
    assert.deepEqual(released, [given[0], given[1]]);
  } finally {
    setOutputArena(null);
  }
});
