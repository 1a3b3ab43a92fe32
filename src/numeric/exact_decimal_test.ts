import assert from "node:assert/strict";
import { ExactDecimal } from "./exact_decimal.ts";

const D = (s: string) => ExactDecimal.parse(s)!;

Deno.test("ExactDecimal parses decimals in every notation and refuses the rest", () => {
  for (
    const [text, want] of [
      ["0.5", "0.5"],
      ["-0.5", "-0.5"],
      [".25", "0.25"],
      ["+3", "3"],
      ["1e-3", "0.001"],
      ["-2.5E2", "-250"],
      ["  7.10 ", "7.10"],
      ["-0.000", "0.000"],
    ]
  ) assert.equal(D(text).toString(), want, text);
  for (const bad of ["", "-", ".", "abc", "1,5", "1.2.3", "0x10", "NaN", "Infinity", "1e99999"]) {
    assert.equal(ExactDecimal.parse(bad), null, bad);
  }
});

Deno.test("ExactDecimal adds, subtracts and multiplies without rounding", () => {
  assert.equal(D("0.1").add(D("0.2")).toString(), "0.3");
  assert.equal(D("0.1").sub(D("0.25")).toString(), "-0.15");
  assert.equal(D("0.9").mul(D("-0.9")).mul(D("0.9")).toString(), "-0.729");
  // 0.1^30 has 30 decimals: no float could hold it.
  let p = D("1");
  for (let i = 0; i < 30; i++) p = p.mul(D("0.1"));
  assert.equal(p.toString(), "0." + "0".repeat(29) + "1");
  assert.ok(D("2.000").equals(D("2")));
  assert.equal(D("-1.5").cmp(D("-1.4")), -1);
});

Deno.test("truncation drops digits toward zero; floor and round differ for negatives", () => {
  assert.equal(D("2.0009").truncate(3).toString(), "2.000");
  assert.equal(D("-7.5548").truncate(3).toString(), "-7.554");
  assert.equal(D("-7.5548").floor(3).toString(), "-7.555");
  assert.equal(D("-7.5548").round(3).toString(), "-7.555");
  assert.equal(D("-7.554").floor(3).toString(), "-7.554", "already on the grid");
  assert.equal(D("1.9996").round(3).toString(), "2.000");
  assert.equal(D("1.9994").round(3).toString(), "1.999");
  assert.equal(D("2").truncate(3).toString(), "2.000", "padded to exactly 3 decimals");
  assert.equal(D("-0.0004").truncate(3).toString(), "0.000", "no negative zero");
  assert.equal(D("-0.0004").floor(3).toString(), "-0.001");
});
