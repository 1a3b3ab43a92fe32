import assert from "node:assert/strict";
import { zeros } from "../tensor.ts";
import { Flatten } from "./flatten.ts";
import { ShapeError } from "./module.ts";
import { fixtureTests } from "./testing.ts";

fixtureTests("flatten", "Flatten");

Deno.test("Flatten shares the data and rejects input without the axes it merges", () => {
  const flat = new Flatten();
  const x = zeros([2, 3, 4]);
  assert.equal(flat.forward(x).data, x.data);
  assert.throws(
    () => new Flatten(1, 3).forward(zeros([2, 3])),
    (e: Error) =>
      e instanceof ShapeError && e.message.includes("Flatten(1, 3)") &&
      e.message.includes("(2, 3)"),
  );
  assert.throws(() => flat.backward(zeros([2, 11])), /expected delta of shape \(2, 12\)/);
});
