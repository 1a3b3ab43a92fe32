// Broken: does not parse.
export class Conv1D {
  forward(x) {
    return x +;
  }
}
