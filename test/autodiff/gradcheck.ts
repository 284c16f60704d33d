// Gradient checks generated from the op table: builds "loss = Σ w·op(inputs)" for a case, takes
// its gradient with the engine's autodiff, and compares it with finite differences of the same
// loss run through onnxruntime — per element in float64, or along random directions in float32.

import * as ort from 'onnxruntime-node';
import { buildBackward } from '../../src/trainer/autodiff/backward';
import { expandComposites } from '../../src/trainer/autodiff/composites';
import { GraphBuilder } from '../../src/trainer/onnx/builder';
import { Graph, attrs } from '../../src/trainer/onnx/graph';
import { PROGRAM_OPSET } from '../../src/trainer/onnx/opset';
import { DataType, Tensor, fromNumbers, isFloatType, sizeOf } from '../../src/trainer/onnx/tensor';
import { createSession, toOrt } from '../../src/trainer/programs/session';
import { OpCase, InputSpec } from './opTable';

/** A small deterministic generator so failures reproduce. */
export function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function sample(spec: InputSpec, type: DataType, rand: () => number): Tensor {
  const n = sizeOf(spec.shape);
  if (spec.values) return fromNumbers(spec.kind === 'float' ? type : kindType(spec.kind), spec.shape, spec.values);
  const values = Array.from({ length: n }, (_, i) => (spec.sample ? spec.sample(rand, i) : rand() * 2 - 1));
  return fromNumbers(spec.kind === 'float' ? type : kindType(spec.kind), spec.shape, values);
}

function kindType(kind: InputSpec['kind']): DataType {
  return kind === 'int64' ? DataType.INT64 : kind === 'bool' ? DataType.BOOL : DataType.FLOAT;
}

interface Built {
  graph: Graph;
  feeds: Map<string, Tensor>;
  wrt: string[];
}

/** The forward graph of a case with loss = Σ_k Σ w_k ⊙ y_k over its float outputs. */
function buildCase(c: OpCase, type: DataType, seed: number): Built {
  const rand = rng(seed);
  const graph = new Graph();
  graph.opset = Math.max(PROGRAM_OPSET, c.opset ?? 0);
  graph.name = `gradcheck_${c.op}`;
  const feeds = new Map<string, Tensor>();
  const wrt: string[] = [];
  const names = c.inputs.map((spec, i) => {
    if (spec.omitted) return '';
    const name = `in${i}`;
    const t = sample(spec, type, rand);
    if (spec.constant) graph.initializers.set(name, t);
    else {
      graph.inputs.push({ name, type: t.type, shape: spec.shape.map((d, k) => (spec.symbolic?.includes(k) ? `${name}_d${k}` : d)) });
      feeds.set(name, t);
      if (spec.grad) wrt.push(name);
    }
    return name;
  });
  const outputs = Array.from({ length: c.outputs ?? 1 }, (_, i) => `out${i}`);
  const attributes = attrs(
    Object.fromEntries(Object.entries(c.attrs ?? {}).map(([k, v]) => [k, typeof v === 'function' ? v(type) : v])),
    c.floats ?? [],
  );
  graph.nodes.push({ name: `node_${c.op}`, op: c.op, domain: c.domain ?? '', inputs: names, outputs, attrs: attributes });
  c.outputShapes?.forEach((shape, i) => graph.valueInfo.set(outputs[i], { name: outputs[i], type, shape }));
  const b = new GraphBuilder(graph);
  const terms: string[] = [];
  for (const o of outputs.slice(0, c.lossOutputs ?? outputs.length)) {
    const f = b.facts(o);
    if (!isFloatType(f.type)) continue;
    if (!f.shape || f.shape.some((d) => typeof d !== 'number')) {
      // A shape known only at run time (bounds fed as inputs): Σ y² needs no weight of that shape.
      terms.push(b.op('ReduceSum', [b.mul(o, o)], { keepdims: 0 }));
      continue;
    }
    const w = b.constant(fromNumbers(f.type, f.shape as number[], Array.from({ length: sizeOf(f.shape as number[]) }, () => rand() * 2 - 1)), 'w');
    terms.push(b.op('ReduceSum', [b.mul(o, w)], { keepdims: 0 }));
  }
  const loss = terms.length === 1 ? terms[0] : b.op('Sum', terms);
  graph.outputs = [{ name: loss, type: b.type(loss), shape: [] }];
  return { graph, feeds, wrt };
}

async function run(session: ort.InferenceSession, feeds: Map<string, Tensor>): Promise<ort.InferenceSession.ReturnType> {
  const f: Record<string, ort.Tensor> = {};
  for (const [k, v] of feeds) f[k] = toOrt(v);
  return session.run(f);
}

export interface CheckResult {
  maxError: number;
  tolerance: number;
  details: string;
}

/** Runs the gradient check of one case in float64 (elementwise) or float32 (directional). */
export async function gradcheck(c: OpCase, seed = 1): Promise<CheckResult> {
  const type = c.precision === 'float32' ? DataType.FLOAT : DataType.DOUBLE;
  const { graph, feeds, wrt } = buildCase(c, type, seed);
  const forward = graph.clone();
  expandComposites(new GraphBuilder(forward));
  const lossName = graph.outputs[0].name;

  const b = new GraphBuilder(graph);
  const { grads } = buildBackward(b, lossName, wrt);
  expandComposites(b);
  for (const p of wrt) if (!grads.has(p)) throw new Error(`no gradient reached input ${p}`);
  // Gradient outputs may alias one another (Add gives dy to both); give each its own name.
  const outNames = wrt.map((p, i) => {
    const name = `grad_${i}`;
    graph.nodes.push({ name: `id_${i}`, op: 'Identity', domain: '', inputs: [grads.get(p)!], outputs: [name], attrs: new Map() });
    return name;
  });
  graph.outputs = [graph.outputs[0], ...outNames.map((n) => ({ name: n, type, shape: undefined }))];

  const gradSession = await createSession(graph, { optimization: 'disabled' });
  const lossSession = await createSession(forward, { optimization: 'disabled' });
  const analytic = await run(gradSession, feeds);
  const lossAt = async (f: Map<string, Tensor>) => Number((await run(lossSession, f))[lossName].data[0]);

  let maxError = 0;
  let details = '';
  if (type === DataType.DOUBLE) {
    const eps = 1e-6;
    const tolerance = c.tolerance ?? 1e-5;
    for (let k = 0; k < wrt.length; k++) {
      const x = feeds.get(wrt[k])!;
      const g = analytic[outNames[k]].data as Float64Array;
      if (g.length !== x.data.length) throw new Error(`gradient of ${wrt[k]} has ${g.length} elements, expected ${x.data.length}`);
      for (let i = 0; i < x.data.length; i++) {
        const orig = x.data[i] as number;
        (x.data as Float64Array)[i] = orig + eps;
        const up = await lossAt(feeds);
        (x.data as Float64Array)[i] = orig - eps;
        const down = await lossAt(feeds);
        (x.data as Float64Array)[i] = orig;
        const fd = (up - down) / (2 * eps);
        const err = Math.abs(fd - g[i]) / Math.max(1, Math.abs(fd));
        if (err > maxError) {
          maxError = err;
          details = `${wrt[k]}[${i}]: autodiff ${g[i]}, finite difference ${fd}`;
        }
      }
    }
    return { maxError, tolerance, details };
  }
  // float32: directional derivatives along random directions, central differences.
  const rand = rng(seed + 101);
  const tolerance = c.tolerance ?? 2e-2;
  for (let trial = 0; trial < 3; trial++) {
    const dirs = wrt.map((p) => Float32Array.from(feeds.get(p)!.data as Float32Array, () => rand() * 2 - 1));
    let predicted = 0;
    wrt.forEach((_, k) => {
      const g = analytic[outNames[k]].data as Float32Array;
      dirs[k].forEach((d, i) => (predicted += d * g[i]));
    });
    const eps = c.epsilon ?? 1e-2;
    const shifted = (sign: number) => {
      const f = new Map(feeds);
      wrt.forEach((p, k) => {
        const x = feeds.get(p)!;
        f.set(p, { ...x, data: Float32Array.from(x.data as Float32Array, (v, i) => v + sign * eps * dirs[k][i]) });
      });
      return f;
    };
    const fd = ((await lossAt(shifted(1))) - (await lossAt(shifted(-1)))) / (2 * eps);
    const err = Math.abs(fd - predicted) / Math.max(1, Math.abs(fd));
    if (err > maxError) {
      maxError = err;
      details = `direction ${trial}: autodiff ${predicted}, finite difference ${fd}`;
    }
  }
  return { maxError, tolerance, details };
}
