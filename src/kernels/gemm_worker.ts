/**
 * A helper thread of the fast GEMM (`gemm_fast.ts`): instantiates the GEMM module on the
 * shared memory it is sent, marks its slot idle, then loops — wait for the job flag, pack
 * its part of the panels, run the slot's share of the tiles, count itself done — until it has waited `IDLE_MS` without
 * a job and can mark its slot gone before the caller claims it (see `gemm_protocol.ts`).
 *
 * @module
 */

import { kernelsOf, runShare } from "./gemm_pack.ts";
import {
  ARGS,
  BYTES,
  DONE,
  GONE,
  IDLE,
  IDLE_MS,
  JOB,
  PAGE_BYTES,
  PARAMS,
  PART,
  SLOT,
  spinWait,
  STATE,
} from "./gemm_protocol.ts";

interface Start {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  slot: number;
}

/** The worker's global scope (typed by hand: `deno check` types every file as a window). */
const scope = self as unknown as {
  onmessage: ((event: MessageEvent<Start>) => void) | null;
  postMessage: (message: string) => void;
  close: () => void;
};

scope.onmessage = (event: MessageEvent<Start>) => {
  scope.onmessage = null;
  const { module, memory, slot } = event.data;
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const kernels = kernelsOf(instance);
  const ctrl = new Int32Array(memory.buffer, 0, PARAMS + (slot + 1) * SLOT);
  const at = PARAMS + slot * SLOT;
  Atomics.store(ctrl, at + STATE, IDLE);
  scope.postMessage("ready");
  for (;;) {
    const woke = spinWait(ctrl, at + JOB, 0, IDLE_MS);
    // Closed by the caller (`close()` marks the slot gone and wakes it): leave. Terminating a
    // Worker that loops around Atomics.wait did not stop it, and the program never exited.
    if (Atomics.load(ctrl, at + STATE) === GONE) break;
    if (woke === "timed-out") {
      // Leave, unless the caller claimed this slot in the meantime (its job flag follows).
      if (Atomics.compareExchange(ctrl, at + STATE, IDLE, GONE) === IDLE) break;
      continue;
    }
    if (Atomics.load(ctrl, at + JOB) !== 1) continue;
    // The memory may have grown since the last job: view it afresh. Another thread's grow
    // does not always reach this thread's `memory.buffer` (a Worker started while the memory
    // grew kept seeing the old length, and reads past it gave NaN); `grow(0)` refreshes it.
    if (memory.buffer.byteLength < ctrl[BYTES] * PAGE_BYTES) memory.grow(0);
    runShare(
      new Float32Array(memory.buffer),
      ctrl,
      ctrl[at + PART],
      kernels,
      ctrl.subarray(at + ARGS, at + ARGS + 10),
    );
    Atomics.store(ctrl, at + JOB, 0);
    Atomics.store(ctrl, at + STATE, IDLE);
    Atomics.add(ctrl, DONE, 1);
    Atomics.notify(ctrl, DONE);
  }
  scope.close();
};
