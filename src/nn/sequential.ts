/**
 * `Sequential`, matching `torch.nn.Sequential`.
 *
 * @module
 */

import type { Tensor } from "../tensor.ts";
import { Layer, type Module } from "./module.ts";

/**
 * Runs its layers in order on `forward` and in reverse on `backward`. Its children are
 * named `"0"`, `"1"`, … as in PyTorch, so parameter names are `0.weight`, `1.running_mean`
 * and so on, the keys of the matching PyTorch model's `state_dict`.
 *
 * @example
 * ```ts
 * const net = new Sequential(
 *   new Conv2D(3, 16, 3, 1, { padding: 1 }), new BatchNorm2D(16), new ReLU(), new MaxPool2D(2),
 *   new GlobalAvgPool2D(), new Flatten(), new Linear(16, 10),
 * );
 * const logits = net.forward(images); // (batch, 10)
 * net.backward(dlogits); // every layer's gradients set
 * net.parameters().map((p) => p.name); // ["0.weight", "0.bias", "1.weight", "1.bias", "6.weight", "6.bias"]
 * ```
 */
export class Sequential extends Layer {
  /** The layers in order; child `i` is named `String(i)`. */
  readonly layers: readonly Module[];

  /** PyTorch's `Sequential(*layers)`. */
  constructor(...layers: Module[]) {
    super();
    this.layers = layers;
  }

  /** `x` through every layer in order. */
  forward(x: Tensor): Tensor {
    for (const layer of this.layers) x = layer.forward(x);
    return x;
  }

  /** `delta` back through every layer in reverse order; each stores its gradients. */
  backward(delta: Tensor): Tensor {
    for (let i = this.layers.length - 1; i >= 0; i--) delta = this.layers[i].backward(delta);
    return delta;
  }

  /** The layers named `"0"`, `"1"`, … */
  override namedChildren(): [string, Module][] {
    return this.layers.map((layer, i) => [String(i), layer]);
  }
}
