import assert from "node:assert/strict";
import { UserError } from "../errors.ts";
import { Rng } from "../random.ts";
import { tensor } from "../tensor.ts";
import { GELU, ReLU } from "./activation.ts";
import { Conv1D } from "./conv1d.ts";
import { Conv2D } from "./conv2d.ts";
import { Dropout } from "./dropout.ts";
import { Flatten } from "./flatten.ts";
import { Linear } from "./linear.ts";
import { BatchNorm2D } from "./norm.ts";
import { AvgPool2D, GlobalAvgPool2D, MaxPool2D } from "./pool.ts";
import { Residual } from "./residual.ts";
import { Sequential } from "./sequential.ts";
import { buildModel, describeModel, type LayerSpec } from "./spec.ts";
import { loadStateDict, stateDict } from "./state.ts";

Deno.test("describeModel and buildModel round-trip every layer through JSON", () => {
  const net = new Sequential(
    new Conv2D(3, 4, [3, 1], [2, 1], { padding: [1, 0], bias: false }),
    new BatchNorm2D(4, { eps: 1e-3, momentum: 0.2, affine: false }),
    new GELU(),
    new MaxPool2D(2, 1, 1),
    new AvgPool2D(3, 2, 1, { countIncludePad: false }),
    new Residual(new Sequential(new ReLU()), new Sequential(new Dropout(0.1))),
    new GlobalAvgPool2D(),
    new Flatten(1, -1),
    new Linear(4, 6, { bias: false }),
  );
  const spec = JSON.parse(JSON.stringify(describeModel(net))) as LayerSpec;
  const rebuilt = buildModel(spec, "float64");
  assert.deepEqual(describeModel(rebuilt), spec);
  loadStateDict(rebuilt, stateDict(net));
  const rng = new Rng(1);
  const x = tensor(new Float64Array(2 * 3 * 9 * 8).map(() => rng.normal()), [2, 3, 9, 8]);
  assert.deepEqual(rebuilt.eval().forward(x).data, net.eval().forward(x).data);
  const conv1d = describeModel(new Conv1D(2, 4, 3, 2, { padding: 1, dilation: 2, groups: 2 }));
  assert.deepEqual(describeModel(buildModel(conv1d)), conv1d);
});

Deno.test("an architecture that cannot be built is a UserError", () => {
  assert.throws(
    () => buildModel({ type: "Transformer" } as unknown as LayerSpec),
    (e: Error) => e instanceof UserError && /unknown layer type "Transformer"/.test(e.message),
  );
  assert.throws(
    () => buildModel({ type: "Linear", inFeatures: -1, outFeatures: 2, bias: true }),
    (e: Error) => e instanceof UserError && /the architecture cannot be built/.test(e.message),
  );
});
