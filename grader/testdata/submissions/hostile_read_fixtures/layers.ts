// Hostile: copies the expected outputs from the grader's PyTorch fixtures instead of
// computing them. It guesses where the grader lives (Gradescope unpacks it in
// /autograder/source), finds the fixture case whose input equals x, and returns that
// case's y, dx, dW and db. Outside the sandbox this scores full marks; inside, the read
// is refused.
import ndarray from "npm:ndarray@1.0.19";

const ROOT = "/autograder/source";
type Arr = ndarray.NdArray<Float64Array>;
type Case = { tensors: Record<string, { shape: number[]; offset: number }> };

const manifest = JSON.parse(Deno.readTextFileSync(`${ROOT}/fixtures/conv1d.json`));
const bytes = Deno.readFileSync(`${ROOT}/fixtures/conv1d.bin`);
const all = new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);

function get(c: Case, name: string): Arr {
  const { shape, offset } = c.tensors[name];
  const size = shape.reduce((a, b) => a * b, 1);
  return ndarray(all.slice(offset, offset + size), shape);
}

function find(x: Arr): Case {
  return manifest.cases.find((c: Case) => {
    const t = get(c, "x");
    return t.data.length === x.data.length && t.data.every((v, i) => v === x.data[i]);
  });
}

export class Conv1D {
  W = ndarray(new Float64Array(1), [1]);
  b = ndarray(new Float64Array(1), [1]);
  dW = this.W;
  db = this.b;
  #case: Case | null = null;
  constructor(
    public inChannel: number,
    public outChannel: number,
    public kernelSize: number,
    public stride: number,
  ) {}
  forward(x: Arr): Arr {
    this.#case = find(x);
    return get(this.#case, "y");
  }
  backward(_delta: Arr): Arr {
    this.dW = get(this.#case!, "dW");
    this.db = get(this.#case!, "db");
    return get(this.#case!, "dx");
  }
}
