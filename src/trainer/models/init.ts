// Seeded parameter initialization for built-in models, with PyTorch's default schemes, drawn
// from the counter-based generator so that a seed alone rebuilds the same model.

import { DataType, Tensor, fromNumbers, sizeOf } from '../onnx/tensor';
import { keyOf, uniform } from '../programs/random';

export class Initializer {
  private site = 0;
  constructor(private readonly seed: number) {}

  /** U(−bound, bound), the next parameter's own stream. */
  uniform(dims: number[], bound: number): Tensor {
    const key = keyOf(this.seed, 0x1a17, this.site++);
    const n = sizeOf(dims);
    const values = new Float32Array(n);
    for (let i = 0; i < n; i++) values[i] = (uniform(key, i) * 2 - 1) * bound;
    return { type: DataType.FLOAT, dims, data: values };
  }

  /** N(0, std²) by Box–Muller over the stream (BERT's initializer_range). */
  normal(dims: number[], std: number): Tensor {
    const key = keyOf(this.seed, 0x2b0a, this.site++);
    const n = sizeOf(dims);
    const values = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const u1 = Math.max(uniform(key, 2 * i), 1e-12);
      const u2 = uniform(key, 2 * i + 1);
      values[i] = std * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }
    return { type: DataType.FLOAT, dims, data: values };
  }

  /** torch.nn.Linear / Conv default: kaiming_uniform(a=√5) for weights, U(±1/√fan_in) for biases. */
  linear(outFeatures: number, fanIn: number, weightDims: number[] = [outFeatures, fanIn]): { weight: Tensor; bias: Tensor } {
    const bound = 1 / Math.sqrt(fanIn);
    return { weight: this.uniform(weightDims, bound), bias: this.uniform([outFeatures], bound) };
  }
}

export function constant(dims: number[], value: number): Tensor {
  return fromNumbers(DataType.FLOAT, dims, new Array(sizeOf(dims)).fill(value));
}
