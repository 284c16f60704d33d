// Marks the Convs whose forward pass runs faster as one product over the batch than as
// onnxruntime's Conv: ungrouped, 2-D, static sizes, outputs of at most SMALL_IMAGE (16) positions
// (ResNet-18's last two stages at 64×64 images), the same limit as their gradients' Gemm forms
// (autodiff/rules/conv.ts). Each becomes a SmallConv composite (autodiff/composites.ts),
// differentiated by Conv's own rule and expanded after the backward pass. Measured per operator
// (onnxruntime's profiler, ResNet-18 64², batch 32): layer 4's Convs 8–9 ms → under 2 ms as the
// product, layer 3's 4.4 → 1.7 ms; at 8×8 (layer 2) the interleaving of the im2col matrix ate the
// gain (train step 239–254 ms with the limit at 16, 237–255 ms at 64).

import { compositeNode } from '../autodiff/composites';
import { SMALL_IMAGE } from '../autodiff/rules/conv';
import { Graph, Node, attrInt } from '../onnx/graph';
import { DataType, isFullPrecisionFloat } from '../onnx/tensor';

type Facts = (name: string) => { type: DataType; shape?: (number | string)[] } | undefined;

/** Replaces each such Conv by a SmallConv node and returns how many it replaced. */
export function formSmallConvs(graph: Graph, facts: Facts): number {
  let formed = 0;
  graph.nodes = graph.nodes.map((n): Node => {
    if (n.op !== 'Conv' || n.domain !== '' || attrInt(n, 'group', 1) !== 1) return n;
    const [x, w] = [facts(n.inputs[0]), facts(n.inputs[1])];
    const y = facts(n.outputs[0]);
    if (!x?.shape || !w?.shape || !y?.shape || w.shape.length !== 4) return n;
    if ([...x.shape.slice(1), ...w.shape, ...y.shape.slice(1)].some((d) => typeof d !== 'number')) return n;
    const [ho, wo] = y.shape.slice(2) as number[];
    if (ho * wo > SMALL_IMAGE || !isFullPrecisionFloat(y.type)) return n;
    formed++;
    return compositeNode(graph, 'SmallConv', n.name, n.inputs, [{ name: n.outputs[0], type: y.type, shape: y.shape }], n.attrs);
  });
  return formed;
}
