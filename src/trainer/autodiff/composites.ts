// Composite operators: a few standard operators that the backward pass differentiates as one
// unit, with a rule that keeps fewer forward values alive than the operators' rules would, and
// that are expanded back into those standard operators once the backward pass is built (no
// custom kernel runs; onnxruntime sees only ONNX operators).
//
// Why: a rule per operator keeps every operand its derivative reads. For some groups the group's
// derivative needs far less — the input alone, or the output alone — and those groups sit on the
// largest activations: training-mode batch normalization (x − mean and (x − mean)/σ, two
// activations per layer, where the formula needs x) and the attention's NaN-guarded softmax
// (the softmax, its NaN mask and the guarded result, where the formula needs the result). One
// composite is there for speed instead: a Conv with a small output, differentiated as a Conv but
// computed as one product over the batch.
// docs/PERFORMANCE.md has the measurements.

import { GraphBuilder } from '../onnx/builder';
import { Graph, Node, attrFloat, attrInt } from '../onnx/graph';
import { DataType, isFullPrecisionFloat } from '../onnx/tensor';
import { GradContext, GradientRule } from './registry';
import { InferCtx } from '../onnx/shapes/facts';
import { windowOutput, windowParams } from '../onnx/shapes/nn';
import { channelMajorColumns, convRule } from './rules/conv';
import { perChannelAxes } from './rules/norm';

/** The domain of composite nodes: they exist only between graph rewriting and expandComposites. */
export const COMPOSITE_DOMAIN = 'ai.onnx_trainer.composite';

export interface Composite {
  rule: GradientRule;
  /** Computes the node's outputs, under their names, with standard operators appended by `b`. */
  expand(b: GraphBuilder, node: Node): void;
}

/**
 * NanSafeSoftmax(x, zero) = Where(IsNaN(Softmax(x)), zero, Softmax(x)), as Hugging Face's
 * attention is exported (a fully masked row's softmax is NaN, and becomes zeros). The softmax's
 * derivative needs only its output y; rows that were NaN are zero in the guarded result and their
 * gradient is zero either way, so the rule reads the guarded result alone.
 */
const nanSafeSoftmax: Composite = {
  rule: {
    inputs: [0],
    backward: (g: GradContext) => {
      const { b } = g;
      const dy = g.dy()!;
      const y = g.y(0);
      const s = b.op('ReduceSum', [b.mul(dy, y), b.int64s([attrInt(g.node, 'axis', -1)])], { keepdims: 1 });
      return [b.mul(y, b.sub(dy, s))];
    },
  },
  // The guard is one ThresholdedRelu with alpha 0 (x > 0 → x, otherwise — zero and NaN — 0),
  // which by the operator's definition equals Where(IsNaN(y), 0, y) on a softmax's output, ≥ 0 or
  // NaN (the composite is formed only with a zero fill, nanSafeSoftmax.ts): one pass with no
  // temporaries, where onnxruntime's Where makes two selections and a merge on one thread with two
  // output-sized temporaries, and its Shrink (the same values, with bias and lambd 0; the guard of
  // 2026-12-05) took three times as long. Per guard (Softmax + guard less Softmax alone), 2
  // threads: [16, 12, 128, 128] Where 2.7, Shrink 2.0–2.3, ThresholdedRelu 0.7 ms; [8, 12, 512,
  // 512] 27, 17–21 and 5 ms (docs/PERFORMANCE.md). Relu
  // and HardSigmoid are as fast but pass NaN through (probed). float32 only: onnxruntime's CPU
  // provider has no double ThresholdedRelu, so other types keep the Where. The type is read from
  // the zero fill, an initializer of the scores' type (Where's operands agree): the clones that
  // recompute.ts makes have no shape facts of their own.
  expand(b, node) {
    const softmax = b.op('Softmax', [node.inputs[0]], { axis: attrInt(node, 'axis', -1) });
    if (b.graph.initializers.get(node.inputs[1])?.type === DataType.FLOAT) {
      b.add('ThresholdedRelu', [softmax], { alpha: 0 }, { outputs: [node.outputs[0]], floats: ['alpha'] });
    } else {
      b.add('Where', [b.op('IsNaN', [softmax]), node.inputs[1], softmax], {}, { outputs: [node.outputs[0]] });
    }
  },
};

/**
 * BatchNormTraining(x, scale, bias) → (y, mean, variance): batch normalization on the batch's
 * statistics over every axis but the channel axis 1, the biased variance as PyTorch normalizes
 * with. The statistics come out [1, C, 1, …] (the running-statistic updates read them). The rule
 * reads x and the two statistics, as PyTorch's batch norm keeps its input and saved statistics.
 */
const batchNormTraining: Composite = {
  rule: {
    inputs: [0, 1, 2],
    backward: (g: GradContext) => {
      // With xc = x − mean, σ⁻¹ the inverse deviation and n the count per channel:
      // dx = γσ⁻¹·(dy − Σdy/n) − γσ⁻³·(Σ dy·xc / n)·xc, dγ = σ⁻¹·Σ dy·xc, dβ = Σ dy — PyTorch's
      // form, with per-channel coefficients so that few full-size temporaries exist at once.
      const { b } = g;
      const dy = g.dy()!;
      const [x, scale] = [g.x(0), g.x(1)];
      const { perChannel, reduce } = perChannelAxes(b, x);
      const invStd = b.op('Reciprocal', [b.op('Sqrt', [b.add2(g.y(2), b.scalarLike(attrFloat(g.node, 'epsilon', 1e-5), x))])]);
      const xc = b.sub(x, g.y(1));
      const sumDy = reduce('ReduceSum', dy);
      const sumDyXc = reduce('ReduceSum', b.mul(dy, xc));
      const squeeze = (v: string) => b.reshape(v, [-1]);
      let dx: string | undefined;
      if (g.needs(0)) {
        const count = b.cast(b.op('Div', [b.op('Size', [x]), b.op('Gather', [b.shapeOf(x), b.scalar(1, DataType.INT64)], { axis: 0 })]), b.type(x));
        const a = b.mul(perChannel(scale), invStd);
        const k = b.mul(b.mul(a, b.mul(invStd, invStd)), b.div(sumDyXc, count));
        dx = b.sub(b.mul(a, b.sub(dy, b.div(sumDy, count))), b.mul(k, xc));
      }
      const dscale = g.needs(1) ? squeeze(b.mul(invStd, sumDyXc)) : undefined;
      const dbias = g.needs(2) ? squeeze(sumDy) : undefined;
      return [dx, dscale, dbias];
    },
  },
  expand(b, node) {
    // The batch's mean and biased variance (two passes, as PyTorch), then y = x·α + β with
    // α = σ⁻¹·γ and β = bias − mean·α per channel, as PyTorch's CPU kernel computes it: two
    // passes over x where (x − mean)·σ⁻¹·γ + bias took three. ResNet-18 224² (profiler, per
    // step): Mul, Add and Sub 155 → 145 ms. onnxruntime's inference-mode BatchNormalization for
    // the affine step (mean 0, variance 1, ε 0) saved only 5 ms: it runs on one thread. Float32
    // and float64 only; half precision keeps (x − mean)·σ⁻¹·γ + bias.
    const [x, scale, bias] = node.inputs;
    const [y, mean, variance] = node.outputs;
    const { perChannel, reduce } = perChannelAxes(b, x);
    reduce('ReduceMean', x, mean);
    const centered = b.sub(x, mean);
    reduce('ReduceMean', b.mul(centered, centered), variance);
    const invStd = b.op('Reciprocal', [b.op('Sqrt', [b.add2(variance, b.scalarLike(attrFloat(node, 'epsilon', 1e-5), x))])]);
    if (!isFullPrecisionFloat(b.type(x))) {
      // In half precision x·α can overflow where (x − mean)·σ⁻¹ cannot: a nearly constant channel
      // has α ≈ γ/√ε ≈ 316·γ (PyTorch computes this form in float32 for half inputs).
      b.add('Add', [b.mul(b.mul(centered, invStd), perChannel(scale)), perChannel(bias)], {}, { outputs: [y] });
      return;
    }
    const alpha = b.mul(invStd, perChannel(scale));
    b.add('Add', [b.mul(x, alpha), b.sub(perChannel(bias), b.mul(mean, alpha))], {}, { outputs: [y] });
  },
};

/**
 * SmallConv(x, w[, b]): an ungrouped 2-D Conv with a small static output (programs/smallConv.ts
 * says which), differentiated by Conv's own rule and computed as one Gemm over the batch: the
 * im2col matrix of x (channel-major) times W as [O, C·K], transposed by Gemm. onnxruntime's Conv
 * runs a product per image with Ho·Wo columns, reading all of W again for each: ResNet-18's
 * layer-4 Convs at 2×2 took 8–9 ms each, the product under 2 ms.
 */
const smallConv: Composite = {
  rule: convRule,
  expand(b, node) {
    const [x, w, bias] = node.inputs;
    const xs = b.shape(x)!;
    const [o, c, kh, kw] = b.shape(w)! as number[];
    const p = windowParams(new InferCtx(node, [], 0), xs.slice(2), [kh, kw]);
    const [ho, wo] = [0, 1].map((a) => windowOutput(xs[2 + a], p.kernel[a], p.strides[a], p.pads[a], p.pads[a + 2], p.dilations[a], false) as number);
    const columns = channelMajorColumns(b, x, p, c, ho, wo);
    const product = b.op('Gemm', [columns, b.reshape(w, [o, c * kh * kw]), ...(bias ? [bias] : [])], { transB: 1 });
    b.add('Transpose', [b.reshape(product, [-1, ho, wo, o])], { perm: [0, 3, 1, 2] }, { outputs: [node.outputs[0]] });
  },
};

/** The composites, by op type in COMPOSITE_DOMAIN. */
export const COMPOSITES = new Map<string, Composite>([
  ['NanSafeSoftmax', nanSafeSoftmax],
  ['BatchNormTraining', batchNormTraining],
  ['SmallConv', smallConv],
]);

/**
 * Adds a composite node producing `outputs` (whose types and shapes are recorded as value infos,
 * since shape inference knows only ONNX's operators) and returns it; the caller removes the
 * nodes it replaces.
 */
export function compositeNode(graph: Graph, op: string, name: string, inputs: string[], outputs: { name: string; type: DataType; shape?: (number | string)[] }[], attrs: Node['attrs'] = new Map()): Node {
  for (const o of outputs) graph.valueInfo.set(o.name, { name: o.name, type: o.type, shape: o.shape });
  return { name, op, domain: COMPOSITE_DOMAIN, inputs, outputs: outputs.map((o) => o.name), attrs };
}

/** Replaces every composite node by its expansion, where it stands. */
export function expandComposites(b: GraphBuilder): number {
  const graph = b.graph;
  const original = graph.nodes;
  const result: Node[] = [];
  let expanded = 0;
  for (const n of original) {
    const composite = n.domain === COMPOSITE_DOMAIN ? COMPOSITES.get(n.op) : undefined;
    if (!composite) {
      result.push(n);
      continue;
    }
    graph.nodes = [];
    composite.expand(b, n);
    result.push(...graph.nodes);
    expanded++;
  }
  graph.nodes = result;
  return expanded;
}
