// Broken: the class is not exported (the grader imports `Conv1D` by name).
class Conv1D {
  forward(x: unknown) {
    return x;
  }
}
export const layer = new Conv1D();
