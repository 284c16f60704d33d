// Compiles the eval step (forward in inference form, loss and logits) and the predict step
// (logits only). Parameters stay graph inputs, so one session serves every checkpoint.
// Question answering's start and end logits come out as one [batch, seq, 2] tensor, the shape
// of Hugging Face's qa_outputs before it splits them, so every task has one logits output.

import { GraphBuilder } from '../onnx/builder';
import { Graph } from '../onnx/graph';
import { LossHeadOptions, addLossHead, selectLabelledTokens } from './lossHeads';
import { toInferenceForm } from './lowering';
import { PreparedModel } from './prepare';
import { CompileOptions, IO, computeReadRowsOnly, lossTargetInputs } from './trainStep';

export const EVAL_IO = { logits: 'trainer/logits', loss: IO.loss, labels: IO.labels };

export interface EvalStepOptions extends Pick<CompileOptions, 'selectedRowsOnly' | 'paddingRowsOnly'> {
  /**
   * The loss alone, no logits (what Hugging Face's evaluate() computes without compute_metrics:
   * a causal LM's perplexity). A token-level loss then reads only its labelled positions, and
   * padding is left out of every layer, as in the train step.
   */
  lossOnly?: boolean;
}

export function compileEvalStep(prepared: PreparedModel, loss: LossHeadOptions | undefined, opts: EvalStepOptions = {}): Graph {
  const graph = prepared.graph.clone();
  graph.name = loss ? 'eval_step' : 'predict_step';
  for (const n of [...prepared.params.map((p) => p.name), ...prepared.buffers]) {
    const t = graph.initializers.get(n)!;
    graph.initializers.delete(n);
    graph.inputs.push({ name: n, type: t.type, shape: [...t.dims] });
  }
  toInferenceForm(graph);
  if (loss) graph.inputs.push(...lossTargetInputs(prepared, loss));
  const lossOnly = !!(loss && opts.lossOnly);
  // Without the logits as an output, the selections may reach into what computes them.
  if (lossOnly) graph.outputs = [];
  const labelled = lossOnly && opts.selectedRowsOnly !== false ? selectLabelledTokens(new GraphBuilder(graph), prepared.logits, loss!.task) : undefined;
  const read = new Set(labelled ? prepared.outputs.filter((o) => o !== prepared.logits) : [...prepared.outputs, prepared.logits]);
  if (opts.selectedRowsOnly !== false) computeReadRowsOnly(graph, read, opts.paddingRowsOnly !== false, labelled);
  const b = new GraphBuilder(graph);
  graph.outputs = [];
  if (!lossOnly) {
    const logits = prepared.outputs.length === 1 ? prepared.logits : b.op('Concat', prepared.outputs.map((o) => b.unsqueeze(o, [-1])), { axis: -1 });
    b.add('Identity', [logits], {}, { outputs: [b.reserve(EVAL_IO.logits)] });
    graph.outputs.push(b.shapes.valueInfo(EVAL_IO.logits));
  }
  if (loss) {
    const l = addLossHead(b, labelled ? [] : prepared.outputs, loss, labelled);
    b.add('Identity', [l], {}, { outputs: [b.reserve(EVAL_IO.loss)] });
    graph.outputs.push(b.shapes.valueInfo(EVAL_IO.loss));
  }
  return graph;
}
