import assert from "node:assert/strict";
import { gemmWasmSource } from "./build.ts";

Deno.test("the committed GEMM binaries are what the generator and wabt build today", async () => {
  const committed = await Deno.readTextFile(new URL("./gemm_wasm.ts", import.meta.url));
  assert.equal(
    committed,
    await gemmWasmSource(),
    "gemm_wasm.ts is stale: run `deno task build:wasm`",
  );
});
