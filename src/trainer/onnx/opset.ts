// Brings a graph to one opset (at least 20) before the engine edits it, so that gradient rules,
// loss heads and optimizers are written against a single version of every operator. Only the
// operators whose signatures changed between opset 13 and 20 need rewriting.

import { Graph, attrInts } from './graph';
import { ModelFormatError } from './model';

/** The oldest default-domain opset Trainer reads; older exporters must be asked to re-export. */
export const MIN_OPSET = 13;
/** The opset program graphs are built at (models newer than this keep their own). */
export const PROGRAM_OPSET = 20;

const REDUCE_AXES_MOVED_AT_18 = ['ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2',
  'ReduceLogSum', 'ReduceLogSumExp', 'ReduceSumSquare'];

/** Returns a copy of `graph` at opset max(PROGRAM_OPSET, graph.opset). */
export function upgradeOpset(graph: Graph, file = 'the model'): Graph {
  if (graph.opset < MIN_OPSET) {
    throw new ModelFormatError(`${file} uses ONNX opset ${graph.opset}; Trainer needs opset ${MIN_OPSET} or newer ` +
      `(re-export it, e.g. torch.onnx.export(..., opset_version=17))`);
  }
  const g = graph.clone();
  const from = g.opset;
  if (from < 18) {
    let k = 0;
    for (const n of g.nodes) {
      if (n.domain !== '') continue;
      if (REDUCE_AXES_MOVED_AT_18.includes(n.op)) {
        const axes = attrInts(n, 'axes');
        n.attrs.delete('axes');
        if (axes) {
          const name = `${n.name}__axes_${k++}`;
          g.initializers.set(name, { type: 7, dims: [axes.length], data: BigInt64Array.from(axes.map(BigInt)) });
          n.inputs = [n.inputs[0], name];
        }
      }
      // Opset 18 requires either the split input or num_outputs; 13 split evenly by output count.
      if (n.op === 'Split' && !n.inputs[1] && !n.attrs.has('num_outputs')) {
        n.attrs.set('num_outputs', { kind: 'int', value: n.outputs.length });
      }
    }
  }
  g.opset = Math.max(PROGRAM_OPSET, from);
  return g;
}
