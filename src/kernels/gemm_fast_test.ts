import assert from "node:assert/strict";
import { Rng } from "../random.ts";
import { gemm, gemmReference } from "./gemm.ts";
import {
  directConvolution,
  directWeightGradient,
  FastGemm,
  hasRelaxedSimd,
  useFastKernels,
  useReferenceKernels,
} from "./gemm_fast.ts";
import { convGeometry } from "./im2col.ts";
import { channelRows, im2colMatrix } from "./matrix_view.ts";
import { GEMM_RELAXED, GEMM_SIMD } from "./wasm/gemm_wasm.ts";
import { IDLE_MS } from "./gemm_protocol.ts";
import { tempDir } from "../testing.ts";
import { UserError } from "../errors.ts";

/** Odd shapes: below one tile, ragged edges on every side, k odd and over one cache block. */
const SHAPES = [[1, 1, 1], [7, 13, 5], [6, 8, 2], [37, 3, 300], [65, 129, 257]];

function randomArray(rng: Rng, size: number): Float32Array {
  return Float32Array.from({ length: size }, () => rng.normal());
}

/** Every shape, transpose and beta: the fast GEMM against the reference, within float32. */
function checkAgainstReference(fast: FastGemm) {
  const rng = new Rng(7);
  for (const [m, n, k] of SHAPES) {
    for (const tA of [false, true]) {
      for (const tB of [false, true]) {
        for (const beta of [0, 1] as const) {
          const a = randomArray(rng, m * k), b = randomArray(rng, k * n);
          const start = randomArray(rng, m * n);
          const want = start.slice(), got = start.slice();
          gemmReference(tA, tB, m, n, k, a, b, want, beta);
          fast.gemm(tA, tB, m, n, k, a, b, got, beta);
          const tolerance = 1e-5 * Math.sqrt(k) * 4;
          for (let i = 0; i < want.length; i++) {
            assert.ok(
              Math.abs(want[i] - got[i]) <= tolerance,
              `${m}×${n}×${k} transA=${tA} transB=${tB} beta=${beta}: element ${i} is ${
                got[i]
              }, want ${want[i]}`,
            );
          }
        }
      }
    }
  }
}

Deno.test("both GEMM modules validate and the runtime's relaxed-SIMD support is detected", () => {
  const decode = (b64: string) => Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
  assert.ok(WebAssembly.validate(decode(GEMM_SIMD)));
  assert.equal(hasRelaxedSimd, WebAssembly.validate(decode(GEMM_RELAXED)));
});

Deno.test("the fast GEMM on one thread equals the reference on odd shapes", async () => {
  const fast = await FastGemm.start({ threads: 1 });
  checkAgainstReference(fast);
});

Deno.test("the fast GEMM split over a Worker equals the reference", async () => {
  const fast = await FastGemm.start({ threads: 2 });
  try {
    checkAgainstReference(fast);
    // Large enough to be split, by rows (tall) and by columns (wide).
    const rng = new Rng(3);
    for (const [m, n, k] of [[301, 40, 70], [20, 333, 90]]) {
      const a = randomArray(rng, m * k), b = randomArray(rng, k * n);
      const want = new Float32Array(m * n), got = new Float32Array(m * n);
      gemmReference(false, false, m, n, k, a, b, want, 0);
      fast.gemm(false, false, m, n, k, a, b, got, 0);
      want.forEach((v, i) => assert.ok(Math.abs(v - got[i]) < 1e-3, `${m}×${n}×${k} at ${i}`));
    }
  } finally {
    fast.close();
  }
});

Deno.test("useFastKernels installs the fast GEMM for float32 and keeps float64 exact", async () => {
  await useFastKernels({ threads: 1 });
  try {
    const a64 = new Float64Array([1, 2, 3, 4]), c64 = new Float64Array(4);
    gemm(false, false, 2, 2, 2, a64, a64, c64, 0);
    assert.deepEqual([...c64], [7, 10, 15, 22]);
    const a32 = new Float32Array([1, 2, 3, 4]), c32 = new Float32Array(4);
    gemm(false, true, 2, 2, 2, a32, a32, c32, 0);
    assert.deepEqual([...c32], [5, 11, 11, 25]);
  } finally {
    useReferenceKernels();
  }
});

Deno.test("an idle Worker leaves; the next large product or ready() starts it again", async () => {
  const fast = await FastGemm.start({ threads: 2 });
  try {
    const m = 200, n = 200, k = 200;
    const rng = new Rng(5);
    const a = randomArray(rng, m * k), b = randomArray(rng, k * n);
    const want = new Float32Array(m * n);
    gemmReference(false, false, m, n, k, a, b, want, 0);
    const check = () => {
      const got = new Float32Array(m * n);
      fast.gemm(false, false, m, n, k, a, b, got, 0);
      want.forEach((v, i) => assert.ok(Math.abs(v - got[i]) < 1e-3, `element ${i}`));
    };
    check();
    assert.equal(fast.waitingWorkers, 1);
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS + 300)); // the Worker leaves
    assert.equal(fast.waitingWorkers, 0);
    check(); // on the calling thread alone, while the Worker restarts
    await new Promise((resolve) => setTimeout(resolve, 300));
    check();
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS + 300)); // it leaves again
    await fast.ready();
    assert.equal(fast.waitingWorkers, 1);
    check();
  } finally {
    fast.close();
  }
});

Deno.test("directConvolution takes 3 × 3 stride-1 convolutions whose tiles fit the rows", () => {
  const geometry = (size: number, kernel: number, stride: number) =>
    convGeometry(3, size, size, [kernel, kernel], [stride, stride], [1, 1]);
  const W = new Float32Array(4 * 27), x = new Float32Array(2 * 3 * 8 * 8);
  const out = (L: number) => channelRows(new Float32Array(2 * 4 * L), 2, 4, L);
  const g = geometry(8, 3, 1);
  assert.ok(directConvolution(false, W, im2colMatrix(x, 2, g), out(64)));
  assert.ok(!directConvolution(true, W, im2colMatrix(x, 2, g), out(64)), "transposed filters");
  assert.ok(!directConvolution(false, W, im2colMatrix(x, 2, g, true), out(64)), "transposed B");
  assert.ok(!directConvolution(false, W, im2colMatrix(x, 2, g), new Float32Array(512)), "dense C");
  assert.ok(!directConvolution(false, W, im2colMatrix(x, 2, geometry(8, 3, 2)), out(16)), "stride");
  assert.ok(!directConvolution(false, W, im2colMatrix(x, 2, geometry(8, 5, 1)), out(36)), "5 × 5");
  assert.ok(
    !directConvolution(false, W, im2colMatrix(x, 2, geometry(6, 3, 1)), out(36)),
    "rows of 6",
  );
});

Deno.test("directWeightGradient takes 3 × 3 stride-1 weight gradients of 4k output channels", () => {
  const g = convGeometry(3, 8, 8, [3, 3], [1, 1], [1, 1]);
  const x = new Float32Array(2 * 3 * 64), dW = new Float32Array(8 * 27);
  const dy = (rows: number) => channelRows(new Float32Array(2 * rows * 64), 2, rows, 64);
  assert.ok(directWeightGradient(false, dy(8), im2colMatrix(x, 2, g, true), dW, 8));
  assert.ok(!directWeightGradient(false, dy(6), im2colMatrix(x, 2, g, true), dW, 6), "6 rows");
  assert.ok(!directWeightGradient(false, dy(8), im2colMatrix(x, 2, g), dW, 8), "B not transposed");
  const strided = convGeometry(3, 8, 8, [3, 3], [2, 2], [1, 1]);
  const dy16 = channelRows(new Float32Array(2 * 8 * 16), 2, 8, 16);
  assert.ok(!directWeightGradient(false, dy16, im2colMatrix(x, 2, strided, true), dW, 8), "stride");
});

Deno.test("a program that closes the fast GEMM exits at once", async () => {
  // Its Workers once kept looping after terminate(), and the program never exited.
  const dir = await tempDir();
  const script = `${dir}/close.ts`;
  await Deno.writeTextFile(
    script,
    `import { useFastKernels, useReferenceKernels } from "${new URL(
      "./gemm_fast.ts",
      import.meta.url,
    )}";
import { gemm } from "${new URL("./gemm.ts", import.meta.url)}";
await useFastKernels({ threads: 2 });
const a = new Float32Array(256 * 256).fill(1), c = new Float32Array(256 * 256);
gemm(false, false, 256, 256, 256, a, a, c, 0);
useReferenceKernels();
console.log(c[0]);`,
  );
  // A program that hangs is killed after 20 s, and its exit code fails the test.
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", script],
    signal: AbortSignal.timeout(20_000),
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  assert.equal(new TextDecoder().decode(stdout).trim(), "256");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("the fast GEMM's arena gives zeroed blocks in its memory, kept as it grows, and multiplies them in place", async () => {
  const fast = await FastGemm.start({ threads: 2 });
  try {
    const first = fast.allocate(1000).fill(7);
    fast.release(first);
    const again = fast.allocate(1000);
    assert.equal(again.byteOffset, first.byteOffset, "a released block is reused");
    assert.ok(again.every((v) => v === 0), "and handed out as zeros");
    assert.ok(again.buffer instanceof SharedArrayBuffer);
    again.fill(3);
    fast.allocate(1 << 22); // grows the memory
    assert.ok(again.every((v) => v === 3), "a block keeps its values when the memory grows");
    const rng = new Rng(8);
    const [m, n, k] = [37, 129, 300];
    const a = fast.allocate(m * k), b = fast.allocate(k * n), c = fast.allocate(m * n);
    a.set(randomArray(rng, m * k));
    b.set(randomArray(rng, k * n));
    const want = new Float32Array(m * n);
    gemmReference(false, true, m, n, k, a, b, want, 0);
    fast.gemm(false, true, m, n, k, a, b, c, 0);
    for (let i = 0; i < want.length; i++) {
      assert.ok(Math.abs(want[i] - c[i]) < 1e-3, `element ${i}`);
    }
    fast.release(new Float32Array(4)); // not the arena's: ignored
  } finally {
    fast.close();
  }
});

Deno.test("a product whose layout passes the 2 GiB the kernels address is refused in one sentence", async () => {
  // One image of 1500 × 1500 and a 16 × 16 kernel: 9 MB of input whose im2col panels take
  // 2.2 GiB. (Rounding the layout with int32 arithmetic once wrapped it to a negative offset.)
  const fast = await FastGemm.start({ threads: 1 });
  try {
    const size = 1500, kernel = 16, out = size - kernel + 1;
    const g = convGeometry(1, size, size, [kernel, kernel], [1, 1], [0, 0]);
    const x = new Float32Array(size * size), W = new Float32Array(kernel * kernel);
    const y = new Float32Array(out * out);
    assert.throws(
      () => fast.gemm(false, false, 1, out * out, kernel * kernel, W, im2colMatrix(x, 1, g), y, 0),
      (e) =>
        e instanceof UserError &&
        /2\.2 GiB .* more than its 2 GiB; a smaller batch fits/.test(e.message),
    );
    fast.gemm(false, false, 1, 2, 1, W, x, y, 0); // and it still multiplies
    assert.equal(y[0], 0);
  } finally {
    fast.close();
  }
});

Deno.test("past its size the arena gives ordinary memory, which products copy as before", async () => {
  const fast = await FastGemm.start({ threads: 1, arenaBytes: 1 << 20 });
  const full: number[] = [];
  fast.onArenaFull = (bytes) => full.push(bytes);
  try {
    const [n, k] = [512, 1000];
    const a = fast.allocate(k).fill(1), b = fast.allocate(k * n).fill(2);
    assert.ok(a.buffer instanceof SharedArrayBuffer, "within the size: the shared memory");
    assert.ok(!(b.buffer instanceof SharedArrayBuffer), "past it: ordinary memory");
    fast.allocate(k * n);
    assert.deepEqual(full, [4 * k * n], "told once, the first time");
    const c = new Float32Array(n);
    fast.gemm(false, false, 1, n, k, a, b, c, 0);
    assert.ok(c.every((v) => v === 2 * k));
    fast.release(b); // not the arena's: ignored
  } finally {
    fast.close();
  }
});
