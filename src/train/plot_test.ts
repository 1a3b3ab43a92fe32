import assert from "node:assert/strict";
import { plotSvg } from "./plot.ts";

Deno.test("plotSvg draws one panel per metric and one line per series", () => {
  const svg = plotSvg([
    {
      title: "loss",
      series: [{ name: "train", values: [2, 1.5, 1] }, { name: "val", values: [2.2, null, 1.2] }],
    },
    { title: "accuracy <%>", series: [{ name: "val", values: [0.4, 0.6, 0.7] }], yMin: 0, yMax: 1 },
  ]);
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="840"/);
  assert.equal(svg.match(/<polyline/g)?.length, 3);
  assert.equal(svg.match(/<circle/g)?.length, 3 + 2 + 3, "a marker per finite point");
  assert.ok(svg.includes("accuracy &lt;%&gt;"), "titles are escaped");
  assert.ok(svg.trimEnd().endsWith("</svg>"));
});

Deno.test("plotSvg copes with a single epoch, NaN and empty series", () => {
  const svg = plotSvg([{
    title: "loss",
    series: [{ name: "train", values: [NaN] }, { name: "x", values: [] }],
  }]);
  assert.ok(!svg.includes("NaN"));
  const one = plotSvg([{ title: "loss", series: [{ name: "train", values: [1.5] }] }]);
  assert.equal(one.match(/<circle/g)?.length, 1);
  assert.ok(!one.includes("NaN") && !one.includes("Infinity"));
});
