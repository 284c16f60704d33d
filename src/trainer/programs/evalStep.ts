// Compiles the eval step (forward in inference form, loss and logits) and the predict step
// (logits only). Parameters stay graph inputs, so one session serves every checkpoint.
// Question answering's start and end logits come out as one [batch, seq, 2] tensor, the shape
// of Hugging Face's qa_outputs before it splits them, so every task has one logits output.
// Where only built-in metrics read the step, a token-level task's eval step can give less than
// the logits (`outputs`): the loss alone, or each labelled position's predicted class.

import { GraphBuilder } from '../onnx/builder';
import { Graph } from '../onnx/graph';
import { LossHeadOptions, addLossHead, selectLabelledTokens } from './lossHeads';
import { toInferenceForm } from './lowering';
import { PreparedModel } from './prepare';
import { CompileOptions, IO, liftToInputs, lossTargetInputs, readOutputsOnly } from './trainStep';

export const EVAL_IO = {
  logits: 'trainer/logits', loss: IO.loss, labels: IO.labels,
  /** The labelled positions' flat numbers b·S + s, and the class each is predicted (argmax). */
  labelledAt: 'trainer/labelled_positions', labelledPredicted: 'trainer/labelled_predictions',
};

export interface EvalStepOptions extends Pick<CompileOptions, 'selectedRowsOnly' | 'paddingRowsOnly'> {
  /**
   * What the step gives besides the loss: every position's logits (the default; `predict` and the
   * user's compute_metrics read them), nothing (`loss`: a causal LM's perplexity, what Hugging
   * Face's evaluate() computes without compute_metrics), or each labelled position's predicted
   * class (`labelled`: what token classification's and fill-mask's built-in metrics read). The
   * last two read a token-level loss's labelled positions only and leave padding out of every
   * layer, as the train step does.
   */
  outputs?: 'logits' | 'loss' | 'labelled';
}

export function compileEvalStep(prepared: PreparedModel, loss: LossHeadOptions | undefined, opts: EvalStepOptions = {}): Graph {
  const graph = prepared.graph.clone();
  graph.name = loss ? 'eval_step' : 'predict_step';
  liftToInputs(graph, [...prepared.params.map((p) => p.name), ...prepared.buffers]);
  toInferenceForm(graph);
  if (loss) graph.inputs.push(...lossTargetInputs(prepared, loss));
  const withLogits = !loss || (opts.outputs ?? 'logits') === 'logits';
  // Without the logits as an output, the selections may reach into what computes them.
  if (!withLogits) graph.outputs = [];
  const labelled = !withLogits ? selectLabelledTokens(new GraphBuilder(graph), prepared.logits, loss!.task) : undefined;
  if (opts.outputs === 'labelled' && !labelled) throw new Error(`the eval step has no labelled positions to predict for ${loss?.task ?? 'text-classification'}`);
  readOutputsOnly(graph, prepared, opts, labelled);
  const b = new GraphBuilder(graph);
  graph.outputs = [];
  if (withLogits) {
    const logits = prepared.outputs.length === 1 ? prepared.logits : b.op('Concat', prepared.outputs.map((o) => b.unsqueeze(o, [-1])), { axis: -1 });
    b.add('Identity', [logits], {}, { outputs: [b.reserve(EVAL_IO.logits)] });
    graph.outputs.push(b.shapes.valueInfo(EVAL_IO.logits));
  }
  if (opts.outputs === 'labelled' && labelled) {
    b.add('Identity', [labelled.at], {}, { outputs: [b.reserve(EVAL_IO.labelledAt)] });
    b.add('ArgMax', [labelled.logits], { axis: -1, keepdims: 0 }, { outputs: [b.reserve(EVAL_IO.labelledPredicted)] });
    graph.outputs.push(b.shapes.valueInfo(EVAL_IO.labelledAt), b.shapes.valueInfo(EVAL_IO.labelledPredicted));
  }
  if (loss) {
    const l = addLossHead(b, labelled ? [] : prepared.outputs, loss, labelled);
    b.add('Identity', [l], {}, { outputs: [b.reserve(EVAL_IO.loss)] });
    graph.outputs.push(b.shapes.valueInfo(EVAL_IO.loss));
  }
  return graph;
}
