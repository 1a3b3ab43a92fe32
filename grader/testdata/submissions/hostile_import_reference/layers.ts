// Hostile: submits the grader's own reference Conv1D instead of writing one, importing it
// from where Gradescope unpacks the grader. Outside the sandbox this scores full marks;
// inside, the import is refused.
export { Conv1D } from "/autograder/source/src/nn/conv1d.ts";
