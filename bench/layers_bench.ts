/**
 * The plain TypeScript layers at CIFAR-10 sizes in float32 (the training precision): one
 * forward and backward per iteration. `deno bench bench/layers_bench.ts`.
 *
 * @module
 */

import { BatchNorm2D, Conv2D, Linear, MaxPool2D, ReLU, Rng, zeros } from "../mod.ts";
import type { Module, Tensor } from "../mod.ts";

const rng = new Rng(0);
const batch = 32;

function image(channels: number, size: number): Tensor {
  return rng.fillNormal(zeros([batch, channels, size, size], "float32"));
}

function pass(layer: Module, x: Tensor): void {
  const y = layer.forward(x);
  layer.backward(y);
}

const cases: [string, Module, Tensor][] = [
  [
    "Conv2D 3→32, 3×3, 32×32",
    new Conv2D(3, 32, 3, 1, { padding: 1, dtype: "float32" }),
    image(3, 32),
  ],
  [
    "Conv2D 32→64, 3×3, 16×16",
    new Conv2D(32, 64, 3, 1, { padding: 1, dtype: "float32" }),
    image(32, 16),
  ],
  [
    "Conv2D 64→128, 3×3, 8×8",
    new Conv2D(64, 128, 3, 1, { padding: 1, dtype: "float32" }),
    image(64, 8),
  ],
  ["BatchNorm2D 32, 32×32", new BatchNorm2D(32, { dtype: "float32" }), image(32, 32)],
  ["ReLU 32×32×32", new ReLU(), image(32, 32)],
  ["MaxPool2D 2, 32×32×32", new MaxPool2D(2), image(32, 32)],
  [
    "Linear 2048→10",
    new Linear(2048, 10, { dtype: "float32" }),
    rng.fillNormal(zeros([batch, 2048], "float32")),
  ],
];

for (const [name, layer, x] of cases) {
  Deno.bench(`${name}, batch ${batch}, forward + backward`, () => pass(layer, x));
}
