// Which float initializers of an exported model are PyTorch's parameters. An ONNX file does not
// say: exporters write parameters, buffers and compile-time constants alike as float tensors.
// The rule (docs/ARCHITECTURE.md, "The trainable set") decides from how a tensor is written and
// used, never from a list of names; `model.trainable` and `model.freeze` override it.

import { Graph, Node } from '../onnx/graph';
import { Tensor, elementValue, isFloatType } from '../onnx/tensor';

/** Why a float initializer is not trained; `check` prints these. */
export type FrozenReason =
  | 'Constant node'
  | 'scalar'
  | 'batch-norm running statistic'
  | 'frequency buffer'
  | 'sinusoidal position table'
  | 'mask'
  | 'tied'
  | 'model.freeze'
  | 'LoRA base model'
  | 'not matched by model.trainable'
  | 'the outputs do not depend on it';

export const FROZEN_EXPLANATIONS: Record<FrozenReason, string> = {
  'Constant node': 'a Constant node\'s value: exporters write compile-time constants this way, never parameters',
  scalar: 'a scalar: exporters write constants (scales, epsilons) as rank-0 tensors',
  'batch-norm running statistic': 'a batch-norm running statistic: updated from batch statistics, not by gradients',
  'frequency buffer': 'reaches the data only through Sin/Cos of positions (a rotary or sinusoidal frequency buffer)',
  'sinusoidal position table': 'holds a fixed sinusoidal position table (each column a sinusoid of the position)',
  mask: 'holds only 0 and one large negative number: an additive attention-mask buffer',
  tied: 'a copy of another initializer, trained as that one (model.tie_identical)',
  'model.freeze': 'listed in model.freeze',
  'LoRA base model': 'part of the base model, frozen under LoRA (only the adapters train)',
  'not matched by model.trainable': 'matches no pattern of model.trainable',
  'the outputs do not depend on it': 'the loss does not depend on it through a differentiable path',
};

export interface TrainableSelection {
  /** Initializers the gradient planner may train (those the loss depends on become parameters). */
  candidates: string[];
  /** Float initializers left out, with the reason. */
  frozen: Map<string, FrozenReason>;
}

export interface SelectOptions {
  constants: ReadonlySet<string>;
  runningStats: readonly string[];
  freeze?: readonly string[];
  /** Glob patterns over initializer names and the names of the nodes that read them. */
  trainable?: readonly string[];
  /** LoRA: exactly these initializers train (the adapters); everything else is the frozen base. */
  trainOnly?: readonly string[];
}

/** Sorts the float initializers into training candidates and frozen tensors, with reasons. */
export function selectTrainable(graph: Graph, opts: SelectOptions): TrainableSelection {
  const frozen = new Map<string, FrozenReason>();
  const stats = new Set(opts.runningStats);
  const freeze = new Set(opts.freeze ?? []);
  const readers = graph.consumers();
  const patterns = opts.trainable?.map(globToRegExp);
  const only = opts.trainOnly && new Set(opts.trainOnly);
  const floats = [...graph.initializers].filter(([, t]) => isFloatType(t.type));
  const candidateSet = new Set<string>();
  for (const [name, t] of floats) {
    if (opts.constants.has(name)) frozen.set(name, 'Constant node');
    else if (stats.has(name)) frozen.set(name, 'batch-norm running statistic');
    else if (freeze.has(name)) frozen.set(name, 'model.freeze');
    else if (only) {
      if (only.has(name)) candidateSet.add(name);
      else frozen.set(name, 'LoRA base model');
    } else if (patterns) {
      // An explicit pattern is the user's word: it may select scalars and buffers too.
      const names = [name, ...(readers.get(name) ?? []).map((n) => n.name)];
      if (names.some((n) => patterns.some((p) => p.test(n)))) candidateSet.add(name);
      else frozen.set(name, 'not matched by model.trainable');
    } else if (t.dims.length === 0) frozen.set(name, 'scalar');
    else {
      const reason = valueReason(t);
      if (reason) frozen.set(name, reason);
      else candidateSet.add(name);
    }
  }
  if (!patterns && !only) {
    for (const name of frequencyBuffers(graph, candidateSet, readers)) {
      candidateSet.delete(name);
      frozen.set(name, 'frequency buffer');
    }
  }
  const candidates = floats.map(([n]) => n).filter((n) => candidateSet.has(n));
  return { candidates, frozen };
}

/** A glob over names: `*` any run of characters (slashes and dots included), `?` one character. */
export function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/** Buffers recognisable from their values alone: masks and fixed sinusoidal tables. */
function valueReason(t: Tensor): FrozenReason | undefined {
  if (t.dims.length < 2) return undefined;
  const at = (i: number) => elementValue(t, i);
  if (isMask(t.data.length, at)) return 'mask';
  if (isSinusoidTable(t.dims, at)) return 'sinusoidal position table';
  return undefined;
}

/** Both checks stop at the first element that rules them out, so weights cost a few reads. */
function isMask(n: number, at: (i: number) => number): boolean {
  let other: number | undefined;
  let zeros = 0;
  for (let i = 0; i < n; i++) {
    const v = at(i);
    if (v === 0) zeros++;
    else if (other === undefined) {
      // 0/1 tensors are left alone: an identity matrix is a fine initial weight.
      if (!(v <= -1e4)) return false;
      other = v;
    } else if (v !== other) return false;
  }
  return other !== undefined && zeros > 0;
}

/**
 * A table whose every column is a sinusoid of the row (the position): then each column obeys
 * T[p+1] + T[p-1] = 2·cos(ω)·T[p] for one ω. A trained embedding never does.
 */
function isSinusoidTable(dims: readonly number[], value: (i: number) => number): boolean {
  const rows = dims.slice(0, -1).reduce((a, b) => a * b, 1);
  const cols = dims[dims.length - 1];
  if (rows < 8 || cols < 2) return false;
  let oscillating = 0;
  for (let j = 0; j < cols; j++) {
    const at = (p: number) => value(p * cols + j);
    for (let p = 0; p < rows; p++) if (Math.abs(at(p)) > 1 + 1e-6) return false;
    let num = 0;
    let den = 0;
    for (let p = 1; p < rows - 1; p++) {
      num += (at(p + 1) + at(p - 1)) * at(p);
      den += 2 * at(p) * at(p);
    }
    if (den === 0) return false;
    const c = num / den;
    for (let p = 1; p < rows - 1; p++) if (Math.abs(at(p + 1) + at(p - 1) - 2 * c * at(p)) > 1e-4) return false;
    if (Math.abs(c) < 1 - 1e-6) oscillating++;
  }
  return oscillating >= cols / 2;
}

const PERIODIC = new Set(['Sin', 'Cos']);
/** Operators whose output depends on their input's shape only, never its values. */
const SHAPE_ONLY = new Set(['Shape', 'Size']);

/**
 * Candidates whose values reach a Sin or Cos mixed only with index-derived values (integer
 * positions, shapes, constants): rotary-embedding frequencies (`inv_freq`), folded or not. A
 * learned tensor meets the activations of other parameters or float data first.
 */
function frequencyBuffers(graph: Graph, candidates: ReadonlySet<string>, readers: Map<string, Node[]>): string[] {
  // Values computed from float data or from a candidate (excluding itself, checked below).
  const floatInputs = graph.inputs.filter((v) => isFloatType(v.type)).map((v) => v.name);
  const weighty = new Map<string, Set<string>>();
  const sources = (v: string) => weighty.get(v);
  for (const c of candidates) weighty.set(c, new Set([c]));
  for (const f of floatInputs) weighty.set(f, new Set(['<data>']));
  for (const n of graph.nodes) {
    if (SHAPE_ONLY.has(n.op)) continue;
    let acc: Set<string> | undefined;
    for (const i of n.inputs) {
      const s = sources(i);
      if (!s) continue;
      acc ??= new Set();
      for (const x of s) if (acc.size < 3) acc.add(x);
    }
    if (acc) for (const o of n.outputs) if (o) weighty.set(o, acc);
  }
  const out: string[] = [];
  for (const c of candidates) {
    // Follow c forward while every value it mixes with has no other float source.
    const seen = new Set([c]);
    const stack = [c];
    let periodic = false;
    while (stack.length && !periodic) {
      const v = stack.pop()!;
      for (const n of readers.get(v) ?? []) {
        if (SHAPE_ONLY.has(n.op)) continue;
        const pure = n.inputs.every((i) => !i || seen.has(i) || !sources(i) || [...sources(i)!].every((s) => s === c));
        if (!pure) continue;
        if (PERIODIC.has(n.op)) periodic = true;
        for (const o of n.outputs) if (o && !seen.has(o)) {
          seen.add(o);
          stack.push(o);
        }
      }
    }
    if (periodic) out.push(c);
  }
  return out;
}
