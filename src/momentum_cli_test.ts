import assert from "node:assert/strict";

const CLI = new URL("./momentum_cli.ts", import.meta.url).pathname;

async function momentum(...args: string[]) {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code, out: new TextDecoder().decode(stdout), err: new TextDecoder().decode(stderr) };
}

Deno.test("the defaults are Q1: w(167) = 2.000 exactly, with its assumptions stated", async () => {
  const { code, out } = await momentum();
  assert.equal(code, 0, out);
  assert.match(out, /y = relu\(w·x\) with x = 0\.5, target d = 1/);
  assert.match(out, /L2 divergence as defined in class \(CMU 11-785\): Div = ½\(y − d\)²/);
  assert.match(out, /β = 0\.9, η = 0\.1; starting at w\(1\) = 1 with last step Δw\(1\) = 0\.5/);
  assert.match(out, /ReLU'\(0\) is taken as 0/);
  assert.match(out, /w\(167\) = 2\.0000203818374049\d*… \(exact, \d+ decimals\)/);
  assert.match(out, /w\(167\) truncated to 3 decimals \(toward zero, digits dropped\): 2\.000$/m);
});

Deno.test("--question q2 prints -7.554, the floor it is not, and the reading of the handout", async () => {
  const { code, out } = await momentum("--question", "q2");
  assert.equal(code, 0, out);
  assert.match(out, /1\/\(1 \+ exp\(0\.5w\)\) is the logistic function of w·x with x = −0\.5/);
  assert.match(out, /binary cross-entropy/);
  assert.match(out, /50-digit interval arithmetic/);
  assert.match(out, /w\(167\) lies in \[-7\.55481013931063\d+, -7\.55481013931063\d+\]/);
  assert.match(out, /truncated to 3 decimals \(toward zero, digits dropped\): -7\.554$/m);
  assert.match(out, /rounded down toward −∞ it would be -7\.555/);
});

Deno.test("flags override the question; --table prints every step", async () => {
  const { code, out } = await momentum(
    "--activation",
    "identity",
    "--rule",
    "nesterov",
    "--x",
    "1",
    "--d",
    "0",
    "--w1",
    "1",
    "--dw1",
    "1",
    "--beta",
    "0.5",
    "--eta",
    "0.5",
    "--step",
    "3",
    "--table",
  );
  assert.equal(code, 0, out);
  // Nesterov on Div = ½w²: w(2) = 0.75, Δw(2) = -0.25; then the look-ahead is 0.625,
  // Δw(3) = -0.125 - 0.3125 = -0.4375 and w(3) = 0.3125.
  const rows = out.split("\n").filter((l) => /^\s*\d+\s/.test(l)).map((l) => l.trim().split(/\s+/));
  assert.deepEqual(rows, [
    ["1", "1", "1", "-", "1"],
    ["2", "0.75", "0.75", "1.5", "-0.25"],
    ["3", "0.3125", "0.3125", "0.625", "-0.4375"],
  ]);
  assert.match(out, /w\(3\) = 0\.3125 \(exact/);
  assert.match(out, /truncated to 3 decimals .*: 0\.312$/m);
});

Deno.test("a truncation the bounds cannot certify exits 1 and says so", async () => {
  const { code, out } = await momentum("--question", "q2", "--decimals", "60");
  assert.equal(code, 1);
  assert.match(out, /truncated to 60 decimals: not certain: .* compute with more digits/);
});

Deno.test("bad flag values end in one sentence and exit 2; --help lists every flag", async () => {
  for (
    const [args, pattern] of [
      [["--eta", "abc"], /option '--eta <number>' argument 'abc' is invalid/],
      [["--step", "0"], /whole number from 1 to 10000/],
      [["--activation", "gelu"], /Allowed choices are relu, sigmoid, tanh, identity, softplus/],
      [["--question", "q5"], /Allowed choices are q1, q2/],
      [["--bogus"], /unknown option '--bogus'/],
      [["--question", "q2", "--arithmetic", "exact"], /exact arithmetic needs every step/],
      [["--divergence", "bce"], /binary cross-entropy needs 0 < y < 1/],
    ] as const
  ) {
    const { code, err } = await momentum(...args);
    assert.equal(code, 2, `${args}: ${err}`);
    assert.match(err, pattern);
    assert.equal(err.trim().split("\n").length, 1, `one line, no stack trace: ${err}`);
  }
  const { code, out } = await momentum("--help");
  assert.equal(code, 0);
  for (
    const flag of [
      "--question",
      "--activation",
      "--divergence",
      "--rule",
      "--x",
      "--d",
      "--w1",
      "--dw1",
      "--beta",
      "--eta",
      "--step",
      "--relu-grad-at-zero",
      "--decimals",
      "--arithmetic",
      "--digits",
      "--table",
    ]
  ) assert.ok(out.includes(flag), flag);
});
