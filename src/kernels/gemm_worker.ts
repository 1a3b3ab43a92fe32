/**
 * A helper thread of the fast GEMM (`gemm_fast.ts`): instantiates the GEMM module on the
 * shared memory it is sent, then loops — sleep until the job counter moves, run its slot's
 * share of the tiles, count itself done — until the counter goes negative.
 *
 * @module
 */

import { DONE, PARAMS, SEQ, SLOT } from "./gemm_protocol.ts";

interface Start {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  slot: number;
}

/** The worker's global scope (typed by hand: `deno check` types every file as a window). */
const scope = self as unknown as {
  onmessage: (event: MessageEvent<Start>) => void;
  postMessage: (message: string) => void;
  close: () => void;
};

scope.onmessage = (event: MessageEvent<Start>) => {
  const { module, memory, slot } = event.data;
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const tiles = instance.exports.gemm_tiles as (...args: number[]) => void;
  const ctrl = new Int32Array(memory.buffer, 0, PARAMS + 64 * SLOT);
  const at = PARAMS + slot * SLOT;
  scope.postMessage("ready");
  let seen = Atomics.load(ctrl, SEQ);
  for (;;) {
    Atomics.wait(ctrl, SEQ, seen);
    seen = Atomics.load(ctrl, SEQ);
    if (seen < 0) break;
    if (ctrl[at] < ctrl[at + 1] && ctrl[at + 2] < ctrl[at + 3]) {
      tiles(...ctrl.subarray(at, at + 10));
    }
    Atomics.add(ctrl, DONE, 1);
    Atomics.notify(ctrl, DONE);
  }
  scope.close();
};
