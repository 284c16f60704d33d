// The gradient-rule registry: one entry per ONNX operator, saying which inputs can carry a
// gradient, whether the rule returns gradients at the broadcast output shape (the engine then
// sums them back to each input's shape, in one place), and how to build the backward nodes.

import { GraphBuilder } from '../onnx/builder';
import { Dim, Node, describeNode } from '../onnx/graph';
import { DataType } from '../onnx/tensor';

export class GradContext {
  constructor(
    readonly node: Node,
    readonly b: GraphBuilder,
    private readonly outputGrads: (string | undefined)[],
    private readonly needed: boolean[],
  ) {}

  /** Name of input i. */
  x(i: number): string {
    return this.node.inputs[i];
  }

  /** Name of output i (which must exist; see output()). */
  y(i: number): string {
    return this.node.outputs[i];
  }

  /**
   * Output i of the forward node, adding it when the exporter left it out: rules use the
   * intermediate results forward operators can return (pooling indices, normalization statistics).
   */
  output(i: number): string {
    while (this.node.outputs.length <= i) this.node.outputs.push('');
    if (!this.node.outputs[i]) {
      this.node.outputs[i] = this.b.fresh(`${this.node.name}_out${i}`);
      this.b.shapes.inferNode(this.node);
    }
    return this.node.outputs[i];
  }

  /** Gradient flowing into output i, or undefined when none does. */
  dy(i = 0): string | undefined {
    return this.outputGrads[i];
  }

  /** Gradient of output i, zeros when none flows in. */
  dyOrZeros(i: number): string {
    return this.outputGrads[i] ?? this.b.zerosLike(this.output(i));
  }

  /** Whether input i needs a gradient. */
  needs(i: number): boolean {
    return !!this.needed[i];
  }

  shape(name: string): Dim[] | undefined {
    return this.b.shape(name);
  }

  rank(name: string): number {
    return this.b.rank(name);
  }

  type(name: string): DataType {
    return this.b.type(name);
  }

  /** The constant integer contents of an input (axes, shapes), or a clear error. */
  constInts(i: number, what: string): number[] {
    const v = this.b.facts(this.x(i)).value;
    if (!v || v.some((d) => typeof d !== 'number')) {
      throw new Error(`${describeNode(this.node)}: its ${what} (input ${i}) must be a constant for its gradient`);
    }
    return v as number[];
  }

  fail(message: string): never {
    throw new Error(`${describeNode(this.node)}: ${message}`);
  }
}

export interface GradientRule {
  /** Indices of inputs that can carry gradients; all others are treated as constants. */
  inputs: number[] | 'all';
  /** Gradients come back at the output's broadcast shape and are reduced centrally. */
  broadcast?: boolean;
  backward(ctx: GradContext): (string | undefined)[];
}

/** Operators with a gradient rule, keyed by op type (default domain). */
export const gradientRules = new Map<string, GradientRule>();

/**
 * Operators whose outputs never carry gradients: shape arithmetic, comparisons, indices,
 * random numbers, and rounding (zero gradient almost everywhere, as in PyTorch).
 */
export const nonDifferentiable = new Set<string>([
  'Shape', 'Size', 'Constant', 'ConstantOfShape', 'Range', 'Equal', 'Not', 'Greater', 'Less', 'GreaterOrEqual',
  'LessOrEqual', 'And', 'Or', 'Xor', 'ArgMax', 'ArgMin', 'NonZero', 'Floor', 'Ceil', 'Round', 'Sign', 'OneHot',
  'EyeLike', 'RandomUniformLike', 'RandomNormalLike', 'RandomUniform', 'RandomNormal', 'IsNaN', 'IsInf',
  'BitShift', 'BitwiseAnd', 'BitwiseOr', 'BitwiseXor', 'BitwiseNot',
]);

export function defineRule(op: string | string[], rule: GradientRule): void {
  for (const o of Array.isArray(op) ? op : [op]) {
    if (gradientRules.has(o)) throw new Error(`gradient rule for ${o} defined twice`);
    gradientRules.set(o, rule);
  }
}
