import assert from "node:assert/strict";
import {
  decodeCaseFrame,
  decodeInputs,
  decodeMessage,
  encodeCaseFrame,
  encodeFrame,
  encodeInputs,
  FRAME,
  FrameReader,
  TOKEN_BYTES,
  type WireCase,
} from "./protocol.ts";

const token = crypto.getRandomValues(new Uint8Array(TOKEN_BYTES));
const bytes = (text: string) => new TextEncoder().encode(text);
const joined = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, (at += p.length) - p.length);
  return out;
};

Deno.test("inputs survive the trip to the child exactly", () => {
  const tensor = (shape: number[]) => ({
    shape,
    data: Float64Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => Math.random()),
  });
  const cases: WireCase[] = [{
    inChannel: 2,
    outChannel: 3,
    kernelSize: 2,
    stride: 1,
    tensors: {
      W: tensor([3, 2, 2]),
      b: tensor([3]),
      x: tensor([1, 2, 5]),
      delta: tensor([1, 3, 4]),
    },
  }];
  const decoded = decodeInputs(encodeInputs(token, cases));
  assert.deepEqual(decoded.token, token);
  assert.deepEqual(decoded.cases, cases);
});

Deno.test("frames are found by the token alone, whatever the student prints around them", () => {
  const y = { shape: [1, 2], data: new Float64Array([1.5, -2]) };
  const real = encodeCaseFrame(token, 0, [y, y, { error: "backward threw Error: x" }, y]);
  const forged = encodeCaseFrame(new Uint8Array(TOKEN_BYTES).fill(7), 0, [y, y, y, y]);
  const stream = joined(
    bytes('{"score": 20, "status": "passed"}\n'),
    forged,
    real,
    bytes("more noise"),
    encodeFrame(token, FRAME.done),
  );
  // Every way of cutting the stream in two gives the same frames.
  for (let cut = 0; cut <= stream.length; cut++) {
    const reader = new FrameReader(token);
    const frames = [...reader.push(stream.subarray(0, cut)), ...reader.push(stream.subarray(cut))];
    assert.deepEqual(frames.map((f) => f.kind), [FRAME.case, FRAME.done], `cut at ${cut}`);
    const { index, outputs } = decodeCaseFrame(frames[0]);
    assert.equal(index, 0);
    assert.deepEqual(outputs[0], y);
    assert.deepEqual(outputs[2], { error: "backward threw Error: x" });
    assert.match(reader.printed(), /^\{"score": 20, "status": "passed"\}\n/);
    assert.ok(!reader.garbled);
  }
});

Deno.test("a load failure carries its message; a garbled stream is flagged, not trusted", () => {
  const reader = new FrameReader(token);
  const [frame] = reader.push(encodeFrame(token, FRAME.loadFailed, "no Conv1D"));
  assert.equal(decodeMessage(frame), "no Conv1D");
  const huge = joined(token, new Uint8Array([255, 255, 255, 255]));
  assert.deepEqual(reader.push(huge), []);
  assert.ok(reader.garbled);
  // A case frame whose shapes claim more data than it holds is refused before allocating.
  const short = encodeCaseFrame(token, 0, Array(4).fill({ shape: [2], data: new Float64Array(2) }));
  const view = new DataView(short.buffer);
  view.setUint32(TOKEN_BYTES + 4 + 1 + 4 + 2, 2 ** 30, true); // the first output's size
  const [bad] = new FrameReader(token).push(short);
  assert.throws(() => decodeCaseFrame(bad), /shorter than its shapes say/);
});
