/**
 * How fast the CIFAR-10 pipeline is: loading the real training and test sets, and one epoch
 * of batching with and without augmentation. Run it by hand (it needs the real data):
 *
 *   deno run --allow-read --allow-env bench/data.ts --data ../shared/cifar10/cifar-10-batches-bin
 *
 * @module
 */

import { runMain } from "../src/errors.ts";
import { Cifar10Loader } from "../src/data/loader.ts";
import { loadCifar10, locateCifar10 } from "../src/data/locate.ts";
import { trainValSplit } from "../src/data/split.ts";

async function main(args: string[]): Promise<void> {
  const at = args.indexOf("--data");
  const where = await locateCifar10({ data: at >= 0 ? args[at + 1] : undefined, download: false });
  let start = performance.now();
  const full = await loadCifar10(where, "train");
  console.log(`load train (${full.length} images, ${where.layout}): ${ms(start)}`);
  start = performance.now();
  const test = await loadCifar10(where, "test");
  console.log(`load test (${test.length} images): ${ms(start)}`);
  start = performance.now();
  const { train } = trainValSplit(full, 5000, 0);
  console.log(`split 45000/5000: ${ms(start)}`);
  for (const augment of [{}, false] as const) {
    const loader = new Cifar10Loader(train, { batchSize: 256, seed: 0, augment });
    start = performance.now();
    let images = 0;
    for (const batch of loader.batches(0)) images += batch.y.length;
    const seconds = (performance.now() - start) / 1000;
    console.log(
      `one epoch, batch 256, ${augment ? "crop+flip" : "no augmentation"}: ` +
        `${seconds.toFixed(2)} s, ${Math.round(images / seconds)} images/s`,
    );
  }
}

function ms(start: number): string {
  return `${Math.round(performance.now() - start)} ms`;
}

if (import.meta.main) await runMain(() => main(Deno.args));
