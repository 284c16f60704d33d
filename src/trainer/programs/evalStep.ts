// Compiles the eval step (forward in inference form, loss and logits) and the predict step
// (logits only). Parameters stay graph inputs, so one session serves every checkpoint.

import { GraphBuilder } from '../onnx/builder';
import { Graph } from '../onnx/graph';
import { LossHeadOptions, addLossHead, labelType } from './lossHeads';
import { toInferenceForm } from './lowering';
import { PreparedModel } from './prepare';
import { IO, labelsShape } from './trainStep';

export const EVAL_IO = { logits: 'trainer/logits', loss: IO.loss, labels: IO.labels };

export function compileEvalStep(prepared: PreparedModel, loss: LossHeadOptions | undefined): Graph {
  const graph = prepared.graph.clone();
  graph.name = loss ? 'eval_step' : 'predict_step';
  for (const n of [...prepared.params.map((p) => p.name), ...prepared.buffers]) {
    const t = graph.initializers.get(n)!;
    graph.initializers.delete(n);
    graph.inputs.push({ name: n, type: t.type, shape: [...t.dims] });
  }
  toInferenceForm(graph);
  if (loss) graph.inputs.push({ name: IO.labels, type: labelType(loss.problemType), shape: labelsShape(prepared, loss) });
  const b = new GraphBuilder(graph);
  b.add('Identity', [prepared.logits], {}, { outputs: [b.reserve(EVAL_IO.logits)] });
  graph.outputs = [b.shapes.valueInfo(EVAL_IO.logits)];
  if (loss) {
    const l = addLossHead(b, prepared.logits, IO.labels, loss);
    b.add('Identity', [l], {}, { outputs: [b.reserve(EVAL_IO.loss)] });
    graph.outputs.push(b.shapes.valueInfo(EVAL_IO.loss));
  }
  return graph;
}
