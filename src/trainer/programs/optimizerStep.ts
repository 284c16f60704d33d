// The optimizer update as a program of its own: one small elementwise graph, run after the train
// step over each parameter in chunks, reading the gradient the train step wrote and updating the
// parameter and its moments where they lie.
//
// Why not inside the train step: onnxruntime-node returns a new JavaScript copy of every output of
// a run, even of an output written into a buffer we passed (docs/PERFORMANCE.md). A train step
// that outputs every new parameter and moment therefore holds a second copy of the whole
// optimizer state at its end, on top of its activations. Run chunk by chunk, the copies are a few
// megabytes and are released at once (session.ts, releaseCopies).

import { GraphBuilder } from '../onnx/builder';
import { Graph } from '../onnx/graph';
import { PROGRAM_OPSET } from '../onnx/opset';
import { DataType } from '../onnx/tensor';
import { InPlacePair, inPlacePairs, writeOutputsDirectly } from './inPlace';
import { OptimizerConfig, addOptimizerUpdate, hyperParameterNames, optimizerSlots } from './optimizers';
import { IO } from './trainStep';

/** Names of the optimizer program's inputs and outputs. */
export const OPTIMIZER_IO = {
  param: 'param',
  grad: 'grad',
  paramNext: 'param_next',
  slot: (slot: string) => `state/${slot}`,
  slotNext: (slot: string) => `state_next/${slot}`,
  /** The clipping coefficient the train step computed (IO.gradCoef). */
  coef: IO.gradCoef,
  hyper: IO.hyper,
};

/** Elements per run: the copies onnxruntime-node returns stay at (1 + slots) × 4 MB. */
export const OPTIMIZER_CHUNK = 1 << 20;

export interface CompiledOptimizerStep {
  graph: Graph;
  slots: string[];
  /** Which outputs may be written over the tensor they replace (all of them, proved by inPlace.ts). */
  inPlace: InPlacePair[];
}

/**
 * The update of one chunk of a parameter of element type `type`, in the weight-decay group when
 * `decay` says so. Every tensor input is one-dimensional of any length.
 */
export function compileOptimizerStep(cfg: OptimizerConfig, decay: boolean, type: DataType): CompiledOptimizerStep {
  const graph = new Graph();
  graph.name = `optimizer_${cfg.name}${decay ? '_decay' : ''}`;
  graph.opset = PROGRAM_OPSET;
  const slots = optimizerSlots(cfg);
  const vector = (name: string) => ({ name, type, shape: ['n'] });
  const scalar = (name: string) => ({ name, type, shape: [] });
  graph.inputs = [
    vector(OPTIMIZER_IO.param),
    vector(OPTIMIZER_IO.grad),
    ...slots.map((s) => vector(OPTIMIZER_IO.slot(s))),
    scalar(OPTIMIZER_IO.coef),
    ...hyperParameterNames(cfg).map((h) => scalar(OPTIMIZER_IO.hyper(h))),
  ];
  const b = new GraphBuilder(graph);
  const hyper = Object.fromEntries(hyperParameterNames(cfg).map((h) => [h, OPTIMIZER_IO.hyper(h)]));
  const u = addOptimizerUpdate(b, cfg, OPTIMIZER_IO.param, decay, OPTIMIZER_IO.grad, OPTIMIZER_IO.coef, slots.map(OPTIMIZER_IO.slot), hyper);
  const outputs: [string, string][] = [[u.param, OPTIMIZER_IO.paramNext], ...slots.map((s, k): [string, string] => [u.state[k], OPTIMIZER_IO.slotNext(s)])];
  for (const [from, to] of outputs) b.add('Identity', [from], {}, { outputs: [b.reserve(to)] });
  graph.outputs = outputs.map(([, to]) => vector(to));
  const candidates = [
    { input: OPTIMIZER_IO.param, output: OPTIMIZER_IO.paramNext },
    ...slots.map((s) => ({ input: OPTIMIZER_IO.slot(s), output: OPTIMIZER_IO.slotNext(s) })),
  ];
  writeOutputsDirectly(graph, new Set(candidates.map((c) => c.output)));
  return { graph, slots, inPlace: inPlacePairs(graph, candidates) };
}
