import assert from "node:assert/strict";
import type { ImageSet } from "../data/cifar10.ts";
import { UserError } from "../errors.ts";
import { Rng } from "../random.ts";
import { whiteningFilters } from "./whitening.ts";

/** Smooth random images (neighbouring pixels correlated, as in photographs). */
function smoothImages(count: number, rng: Rng): ImageSet {
  const images = new Uint8Array(count * 3 * 32 * 32);
  for (let n = 0; n < count; n++) {
    const [a, b, c] = [rng.uniform(0, 6), rng.uniform(0, 6), rng.uniform(0, 6)];
    for (let ch = 0; ch < 3; ch++) {
      for (let i = 0; i < 32; i++) {
        for (let j = 0; j < 32; j++) {
          const v = 128 + 60 * Math.sin(a * i / 32 + b * j / 32 + c + ch) + rng.uniform(-20, 20);
          images[((n * 3 + ch) * 32 + i) * 32 + j] = Math.max(0, Math.min(255, Math.round(v)));
        }
      }
    }
  }
  return { images, labels: new Uint8Array(count), length: count };
}

Deno.test("whitening filters give decorrelated zero-mean unit-variance responses on the images' patches", () => {
  const set = smoothImages(200, new Rng(1));
  const F = 8, { weight: W, bias } = whiteningFilters(set, F, { images: 200, eps: 1e-6 });
  // Responses of the + filters (0, 2, 4, 6) to every 3×3 patch, about their mean.
  const responses: number[][] = [[], [], [], []];
  for (let n = 0; n < 200; n++) {
    for (let i = 0; i < 30; i += 3) {
      for (let j = 0; j < 30; j += 3) {
        for (let f = 0; f < 4; f++) {
          let r = bias[2 * f], d = 0;
          for (let c = 0; c < 3; c++) {
            for (let ki = 0; ki < 3; ki++) {
              for (let kj = 0; kj < 3; kj++) {
                r += W[2 * f * 27 + d++] * set.images[((n * 3 + c) * 32 + i + ki) * 32 + j + kj] /
                  255;
              }
            }
          }
          responses[f].push(r);
        }
      }
    }
  }
  // Second moments about 0: the bias centres the responses, the filters whiten them.
  for (let f = 0; f < 4; f++) {
    const mean = responses[f].reduce((s, v) => s + v, 0) / responses[f].length;
    assert.ok(Math.abs(mean) < 0.05, `mean(${f}) = ${mean}`);
    for (let g = 0; g < 4; g++) {
      let moment = 0;
      for (let i = 0; i < responses[f].length; i++) moment += responses[f][i] * responses[g][i];
      moment /= responses[f].length;
      assert.ok(Math.abs(moment - (f === g ? 1 : 0)) < 0.1, `E[r${f}·r${g}] = ${moment}`);
    }
  }
  // Each − filter is its + filter negated.
  for (let d = 0; d < 27; d++) assert.equal(W[27 + d], -W[d]);
  assert.equal(bias[1], -bias[0]);
});

Deno.test("whitening refuses more filters than two per patch dimension", () => {
  const set = smoothImages(2, new Rng(2));
  assert.throws(() => whiteningFilters(set, 55), UserError);
});
