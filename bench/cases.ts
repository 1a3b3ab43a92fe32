/**
 * The benchmark cases: what `deno task bench` times on this project's side. Each case has a
 * `kind` that `bench/torch_bench.py` also knows, so both sides run the same shapes and dtype.
 * To benchmark something new, add a kind here — a `setup` that returns the function to time —
 * and the same kind in `torch_bench.py`'s `KINDS`, then list its cases in {@linkcode CASES}.
 *
 * @module
 */

import { setOutputArena } from "../src/kernels/arena.ts";
import { chunkImages } from "../src/kernels/chunks.ts";
import { setGemm } from "../src/kernels/gemm.ts";
import type { FastGemm } from "../src/kernels/gemm_fast.ts";
import { Conv1D } from "../src/nn/conv1d.ts";
import { Conv2D } from "../src/nn/conv2d.ts";
import { Rng } from "../src/random.ts";
import { tensor, zeros } from "../src/tensor.ts";
import { buildModel } from "../src/train/models.ts";
import { RECIPES } from "../src/train/recipes.ts";
import { setup, step } from "./train_step.ts";

/** How a case's time is reported: as a rate (GFLOP/s, images/s) or as milliseconds. */
export type Unit = "GFLOP/s" | "ms" | "images/s";

/** One benchmark: its parameters go to PyTorch as they are (minus `setup`). */
export interface BenchCase {
  name: string;
  kind: string;
  unit: Unit;
  /** The work of one run, for rates: floating-point operations or images. */
  work?: number;
  /** Seconds to spend repeating the run (at least three runs unless one alone is longer). */
  budget: number;
  /** Threads this project uses for the case; PyTorch is given as many. */
  threads: number;
  [param: string]: unknown;
}

/**
 * Sets up the kernels as training runs them (`useFastKernels`): the fast GEMM at the case's
 * threads, and its shared memory as the arena the layers' outputs come from, so that their
 * products read them in place and BatchNorm, ReLU and the Winograd transforms run on it in
 * SIMD on the fast GEMM's threads. (Without the arena those run in TypeScript on one thread, and
 * a Winograd layer measured many times slower than in training.)
 */
function useTrainingKernels(c: BenchCase, fast: FastGemm): void {
  setGemm(fast.withThreads(c.threads));
  setOutputArena(fast);
}

/** The function a case times: one run (a promise where the work is asynchronous). */
export type Run = () => void | Promise<void>;

/**
 * Builds the function to time for a case of each kind; `fast` is the fast GEMM, started
 * with as many threads as any case uses. Kinds that go through the layers set the kernels up
 * as training does ({@linkcode useTrainingKernels}).
 */
export const SETUP: Record<string, (c: BenchCase, fast: FastGemm) => Run | Promise<Run>> = {
  gemm(c, fast) {
    const { m, n, k, transA, transB } = c as unknown as GemmShape;
    const rng = new Rng(1);
    const a = rng.fillNormal(zeros([m * k], "float32")).data;
    const b = rng.fillNormal(zeros([k * n], "float32")).data;
    const out = new Float32Array(m * n);
    const gemm = fast.withThreads(c.threads);
    return () => gemm(transA, transB, m, n, k, a, b, out, 0);
  },
  conv1d(c) {
    const [batch, cin, cout, k, stride, width] = [
      c.batch,
      c.inChannel,
      c.outChannel,
      c.kernelSize,
      c.stride,
      c.width,
    ] as number[];
    const rng = new Rng(1);
    const conv = new Conv1D(cin, cout, k, stride, { rng });
    const x = rng.fillUniform(zeros([batch, cin, width]), 0, 1);
    const delta = rng.fillNormal(zeros([batch, cout, conv.outputWidth(width)]));
    return () => {
      conv.forward(x);
      conv.backward(delta);
    };
  },
  conv2d(c, fast) {
    const { batch, inChannel, outChannel, size } = c as unknown as ConvShape & { batch: number };
    useTrainingKernels(c, fast);
    const rng = new Rng(1);
    const conv = new Conv2D(inChannel, outChannel, 3, 1, {
      padding: 1,
      bias: false,
      dtype: "float32",
      rng,
    });
    // In the shared memory, as a layer's input and output gradient are in training.
    const shared = (shape: number[]) => tensor(fast.allocate(shape.reduce((a, b) => a * b)), shape);
    const x = rng.fillUniform(shared([batch, inChannel, size, size]), 0, 1);
    const delta = rng.fillNormal(shared([batch, outChannel, size, size]));
    return () => {
      conv.forward(x);
      conv.backward(delta);
    };
  },
  trainStep(c, fast) {
    useTrainingKernels(c, fast);
    const { model, optimizer, x, y } = setup(c.batch as number);
    return () => step(model, optimizer, x, y);
  },
  async onnxScore(c) {
    // Imported here: onnxruntime's native code loads only when this case runs.
    const { exportOnnx } = await import("../src/onnx/export.ts");
    const { loadModel, scoreSession } = await import("../src/onnx/score.ts");
    const { CIFAR10_CLASSES, IMAGE_BYTES } = await import("../src/data/cifar10.ts");
    const rng = new Rng(0);
    const model = buildModel({ ...RECIPE, dtype: "float32", rng });
    const path = await Deno.makeTempFile({ suffix: ".onnx" });
    await Deno.writeFile(path, exportOnnx(model.eval()));
    const { session, contract } = await loadModel(path, { threads: c.threads });
    await Deno.remove(path);
    const images = c.images as number;
    const testSet = {
      images: Uint8Array.from({ length: images * IMAGE_BYTES }, () => rng.int(256)),
      labels: Uint8Array.from({ length: images }, () => rng.int(10)),
      length: images,
    };
    return async () => {
      await scoreSession(session, contract, testSet, CIFAR10_CLASSES, {
        batchSize: c.batch as number,
      });
    };
  },
};

/** The default recipe: its network, batch and optimizer settings are what the cases use. */
const RECIPE = RECIPES.default;

/** A matrix multiply's shape and operand layout, as `gemm` takes them. */
interface GemmShape {
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
}

/** A 3×3, padding-1 convolution layer of the default network. */
interface ConvShape {
  inChannel: number;
  outChannel: number;
  /** Height = width of its input and output. */
  size: number;
}

/** The convolution layers of the default network, in order, read off the built model. */
function networkConvs(): ConvShape[] {
  const model = buildModel({
    arch: RECIPE.arch,
    widths: RECIPE.widths,
    dtype: "float32",
    rng: new Rng(0),
  });
  const shapes: ConvShape[] = [];
  let x = zeros([1, 3, 32, 32], "float32");
  for (const layer of model.layers) {
    if (layer instanceof Conv2D) {
      shapes.push({ inChannel: layer.inChannels, outChannel: layer.outChannels, size: x.shape[2] });
    }
    x = layer.forward(x);
  }
  return shapes;
}

function gemmCase(label: string, shape: GemmShape, threads: number, budget = 1): BenchCase {
  const { m, n, k, transA, transB } = shape;
  const op = `${transA ? "Aᵀ" : "A"}·${transB ? "Bᵀ" : "B"}`;
  return {
    name: `gemm f32 ${label} ${op} ${m}×${n}×${k}`,
    kind: "gemm",
    unit: "GFLOP/s",
    ...shape,
    work: 2 * m * n * k,
    threads,
    budget,
  };
}

const square = (n: number): GemmShape => ({ m: n, n, k: n, transA: false, transB: false });

/**
 * The three products of one convolution layer lowered by im2col over `images` images
 * (`N = images·L` columns): forward `Y = W·cols`, `dW = dY·colsᵀ`, `dcols = Wᵀ·dY`.
 */
function convGemms(s: ConvShape, images: number, label: string): BenchCase[] {
  const O = s.outChannel, CKK = s.inChannel * 9, N = images * s.size * s.size;
  const at = `${label} ${s.inChannel}→${O} ${s.size}²`;
  return [
    gemmCase(`${at} fwd`, { m: O, n: N, k: CKK, transA: false, transB: false }, 2, 0.3),
    gemmCase(`${at} dW`, { m: O, n: CKK, k: N, transA: false, transB: true }, 2, 0.3),
    gemmCase(`${at} dcols`, { m: CKK, n: N, k: O, transA: true, transB: false }, 2, 0.3),
  ];
}

function conv1dCase(
  label: string,
  batch: number,
  inChannel: number,
  outChannel: number,
  kernelSize: number,
  stride: number,
  width: number,
  threads = 1,
): BenchCase {
  return {
    name:
      `conv1d f64 fwd+bwd ${label} (${batch},${inChannel}→${outChannel},k${kernelSize},s${stride},w${width})`,
    kind: "conv1d",
    unit: "ms",
    batch,
    inChannel,
    outChannel,
    kernelSize,
    stride,
    width,
    threads,
    budget: 1,
  };
}

/** Images per Conv2D layer case: a quarter of the default batch keeps the bench short. */
const CONV_BATCH = 64;
/** Test images the ONNX scoring case runs (a tenth of the test set keeps the bench short). */
const SCORE_IMAGES = 1024;

const convs = networkConvs();

/** Every case `deno task bench` runs, in order. */
export const CASES: BenchCase[] = [
  gemmCase("", square(256), 2),
  gemmCase("", square(512), 1),
  gemmCase("", square(512), 2),
  gemmCase("", square(1024), 1),
  gemmCase("", square(1024), 2),
  ...convs.flatMap((s) => convGemms(s, 1, "per-image")),
  ...convs.flatMap((s) =>
    convGemms(
      s,
      chunkImages(RECIPE.batchSize, s.inChannel * 9 * s.size * s.size),
      `chunk of ${chunkImages(RECIPE.batchSize, s.inChannel * 9 * s.size * s.size)}`,
    )
  ),
  conv1dCase("handout", 3, 8, 12, 3, 2, 20),
  conv1dCase("large", 32, 64, 64, 5, 1, 4096),
  ...convs.map((s): BenchCase => ({
    name: `conv2d f32 fwd+bwd ${s.inChannel}→${s.outChannel} ${s.size}², batch ${CONV_BATCH}`,
    kind: "conv2d",
    unit: "ms",
    batch: CONV_BATCH,
    ...s,
    threads: 2,
    budget: 1,
  })),
  {
    name: `train step f32 vgg ${RECIPE.widths.join(",")}, batch ${RECIPE.batchSize}`,
    kind: "trainStep",
    unit: "images/s",
    work: RECIPE.batchSize,
    batch: RECIPE.batchSize,
    widths: RECIPE.widths,
    stemNorm: RECIPE.stemNorm,
    frozenStem: RECIPE.whiten,
    lr: RECIPE.lr / 10,
    momentum: RECIPE.momentum,
    weightDecay: RECIPE.weightDecay,
    labelSmoothing: RECIPE.labelSmoothing,
    threads: 2,
    budget: 1,
  },
  {
    name: `score ${SCORE_IMAGES} images (onnxruntime vs torch eval), batch 256`,
    kind: "onnxScore",
    unit: "images/s",
    work: SCORE_IMAGES,
    images: SCORE_IMAGES,
    batch: 256,
    widths: RECIPE.widths,
    stemNorm: RECIPE.stemNorm,
    threads: 2,
    budget: 1,
  },
];
