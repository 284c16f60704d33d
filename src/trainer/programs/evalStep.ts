// Compiles the eval step (forward in inference form, loss and logits) and the predict step
// (logits only). Parameters stay graph inputs, so one session serves every checkpoint.
// Question answering's start and end logits come out as one [batch, seq, 2] tensor, the shape
// of Hugging Face's qa_outputs before it splits them, so every task has one logits output.

import { GraphBuilder } from '../onnx/builder';
import { Graph } from '../onnx/graph';
import { LossHeadOptions, addLossHead } from './lossHeads';
import { toInferenceForm } from './lowering';
import { PreparedModel } from './prepare';
import { CompileOptions, IO, computeReadRowsOnly, lossTargetInputs } from './trainStep';

export const EVAL_IO = { logits: 'trainer/logits', loss: IO.loss, labels: IO.labels };

export function compileEvalStep(prepared: PreparedModel, loss: LossHeadOptions | undefined, opts: Pick<CompileOptions, 'selectedRowsOnly' | 'paddingRowsOnly'> = {}): Graph {
  const graph = prepared.graph.clone();
  graph.name = loss ? 'eval_step' : 'predict_step';
  for (const n of [...prepared.params.map((p) => p.name), ...prepared.buffers]) {
    const t = graph.initializers.get(n)!;
    graph.initializers.delete(n);
    graph.inputs.push({ name: n, type: t.type, shape: [...t.dims] });
  }
  toInferenceForm(graph);
  if (opts.selectedRowsOnly !== false) computeReadRowsOnly(graph, new Set([...prepared.outputs, prepared.logits]), opts.paddingRowsOnly !== false);
  if (loss) graph.inputs.push(...lossTargetInputs(prepared, loss));
  const b = new GraphBuilder(graph);
  const logits = prepared.outputs.length === 1 ? prepared.logits : b.op('Concat', prepared.outputs.map((o) => b.unsqueeze(o, [-1])), { axis: -1 });
  b.add('Identity', [logits], {}, { outputs: [b.reserve(EVAL_IO.logits)] });
  graph.outputs = [b.shapes.valueInfo(EVAL_IO.logits)];
  if (loss) {
    const l = addLossHead(b, prepared.outputs, loss);
    b.add('Identity', [l], {}, { outputs: [b.reserve(EVAL_IO.loss)] });
    graph.outputs.push(b.shapes.valueInfo(EVAL_IO.loss));
  }
  return graph;
}
