import assert from "node:assert/strict";
import { assembleGemm } from "./build.ts";
import { GEMM_RELAXED, GEMM_SIMD } from "./gemm_wasm.ts";

Deno.test("the committed GEMM binaries are what the generator and wabt build today", async () => {
  const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
  const stale = "gemm_wasm.ts is stale: run `deno task build:wasm`";
  assert.equal(GEMM_RELAXED, b64(await assembleGemm(true)), stale);
  assert.equal(GEMM_SIMD, b64(await assembleGemm(false)), stale);
});
