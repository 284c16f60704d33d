// Forward nodes that repeat a computation are merged before the backward pass is built
// (programs/commonValues.ts): onnxruntime's own elimination is off wherever the step recomputes
// forward values, and the exporters repeat some (BERT's additive attention mask, once per layer).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { Graph, Node } from '../../src/trainer/onnx/graph';
import { DataType, Tensor, fromNumbers, toBytes } from '../../src/trainer/onnx/tensor';
import { loadModel } from '../../src/trainer/onnx/model';
import { prepareModel } from '../../src/trainer/programs/prepare';
import { compileTrainStep } from '../../src/trainer/programs/trainStep';
import { mergeCommonValues } from '../../src/trainer/programs/commonValues';
import { createSession, fromOrt, toOrt } from '../../src/trainer/programs/session';
import { FIXTURES } from '../helpers';
import { jsonlBatch } from './parityBatch';

/** Groups of forward nodes computing the same value, constants compared by value (found independently of the pass). */
function repeats(g: Graph, forward: (n: Node) => boolean): Node[][] {
  const constant = (v: string) => {
    const t = g.initializers.get(v);
    return t && t.data.byteLength <= 1024 ? `=${t.type}:${t.dims}:${Buffer.from(toBytes(t.data)).toString('hex')}` : undefined;
  };
  const attr = (a: unknown): unknown => (a && typeof a === 'object' && 'data' in a ? `${(a as Tensor).dims}:${Buffer.from(toBytes((a as Tensor).data)).toString('hex')}` : a);
  const same = new Map<string, string>();
  const groups = new Map<string, Node[]>();
  for (const n of g.nodes.filter(forward)) {
    if (['Dropout', 'BatchNormalization'].includes(n.op)) continue;
    const inputs = n.inputs.map((v) => constant(v) ?? same.get(v) ?? v);
    const key = JSON.stringify([n.domain, n.op, inputs, [...n.attrs].sort().map(([k, a]) => [k, a.kind, attr(a.value)])]);
    const group = groups.get(key) ?? [];
    groups.set(key, [...group, n]);
    if (group.length) n.outputs.forEach((o, i) => same.set(o, same.get(group[0].outputs[i]) ?? group[0].outputs[i]));
  }
  return [...groups.values()].filter((x) => x.length > 1);
}

const forwardOf = (prepared: Graph) => {
  const names = new Set(prepared.nodes.map((n) => n.name));
  return (n: Node) => names.has(n.name);
};

const LOSS = { problemType: 'single_label_classification', numLabels: 2 } as const;

for (const name of ['bert', 'distilbert', 'roberta', 'gpt2', 'llama', 'vit', 'resnet'].flatMap((f) => [`${f}_ts`, `${f}_dynamo`])) {
  test(`${name}: the train step's forward pass computes nothing twice`, () => {
    const prepared = prepareModel(loadModel(path.join(FIXTURES, 'exports', name, 'model.onnx')));
    const exported = repeats(prepared.graph, () => true);
    // The TorchScript exporter repeats each layer's shape arithmetic and, in the text models, the
    // additive attention mask ([batch, 1, seq, seq]); the dynamo exporter repeats nothing.
    if (name.endsWith('_ts') && name !== 'resnet_ts') assert.ok(exported.length > 0, `${name}'s export repeats computations`);
    if (['bert_ts', 'distilbert_ts', 'roberta_ts', 'gpt2_ts', 'llama_ts'].includes(name)) assert.ok(exported.some((g) => g[0].op === 'Where'), 'the attention mask is built per layer');
    const step = compileTrainStep(prepared, LOSS, 'step');
    assert.ok(step.clones > 0 || name.startsWith('resnet'), 'the step recomputes, so onnxruntime will not merge them');
    assert.deepEqual(repeats(step.graph, forwardOf(prepared.graph)).map((g) => g.map((n) => n.name)), []);
  });
}

for (const name of ['bert_ts', 'gpt2_ts', 'llama_ts']) {
  test(`${name}: the merged forward pass computes the same outputs, bit for bit`, async () => {
    const prepared = prepareModel(loadModel(path.join(FIXTURES, 'exports', name, 'model.onnx')));
    const merged = prepared.graph.clone();
    assert.ok(mergeCommonValues(merged, new Set(prepared.outputs)) > 0);
    const batch = jsonlBatch(path.join(FIXTURES, 'exports', name, 'train.jsonl'), prepared);
    const feeds = Object.fromEntries(prepared.inputs.map((v) => [v.name, toOrt(batch.get(v.name)!)]));
    const run = async (g: Graph) => {
      // Without onnxruntime's own elimination, as in a recomputing step's session.
      const session = await createSession(g, { disabledOptimizers: ['CommonSubexpressionElimination'] });
      const out = await session.run(feeds);
      await session.release();
      return prepared.outputs.map((o) => fromOrt(out[o]).data as Float32Array);
    };
    const [a, b] = [await run(prepared.graph), await run(merged)];
    a.forEach((x, i) => assert.deepEqual(b[i], x));
  });
}

/** features [2, 3] through `nodes` to `out`; w is a parameter, the rest small constants. */
function small(nodes: [op: string, inputs: string[], output: string, attrs?: Node['attrs']][]): Graph {
  const g = new Graph();
  g.opset = 17;
  g.inputs.push({ name: 'features', type: DataType.FLOAT, shape: [2, 3] });
  g.outputs.push({ name: 'out', type: DataType.FLOAT, shape: [2, 3] });
  g.initializers.set('zero_a', fromNumbers(DataType.FLOAT, [], [0]));
  g.initializers.set('zero_b', fromNumbers(DataType.FLOAT, [], [0]));
  g.initializers.set('minus_zero', fromNumbers(DataType.FLOAT, [], [-0]));
  g.nodes = nodes.map(([op, inputs, output, attrs]) => ({ name: output, op, domain: '', inputs, outputs: [output], attrs: attrs ?? new Map() }));
  return g;
}

test('equal constants are read as one and the nodes over them merge; -0 is not 0', () => {
  const g = small([
    ['Add', ['features', 'zero_a'], 'a'],
    ['Add', ['features', 'zero_b'], 'b'],
    ['Add', ['features', 'minus_zero'], 'c'],
    ['Sum', ['a', 'b', 'c'], 'out'],
  ]);
  assert.equal(mergeCommonValues(g, new Set()), 1);
  assert.deepEqual(g.nodes.map((n) => [n.op, ...n.inputs]), [['Add', 'features', 'zero_a'], ['Add', 'features', 'minus_zero'], ['Sum', 'a', 'a', 'c']]);
  assert.ok(!g.initializers.has('zero_b'));
});

test('random draws, batch norm and the values the loss reads are never merged', () => {
  const ratio = new Map([['seed', { kind: 'int' as const, value: 1 }]]);
  const g = small([
    ['Dropout', ['features'], 'd1'],
    ['Dropout', ['features'], 'd2'],
    ['RandomNormalLike', ['features'], 'r1', ratio],
    ['RandomNormalLike', ['features'], 'r2', ratio],
    ['BatchNormalization', ['features', 's', 'b', 'm', 'v'], 'n1'],
    ['BatchNormalization', ['features', 's', 'b', 'm', 'v'], 'n2'],
    ['Relu', ['features'], 'other'],
    ['Relu', ['features'], 'logits'],
    ['Sum', ['d1', 'd2', 'r1', 'r2', 'n1', 'n2', 'other', 'logits'], 'out'],
  ]);
  assert.equal(mergeCommonValues(g, new Set(['logits'])), 0);
  // Unnamed, the second Relu is merged into the first.
  assert.equal(mergeCommonValues(g, new Set()), 1);
  assert.deepEqual(g.nodes.at(-1)!.inputs.slice(-2), ['other', 'other']);
});

test('a value a subgraph reads keeps its name: the subgraph is not rewritten', () => {
  const g = small([
    ['Relu', ['features'], 'a'],
    ['Relu', ['features'], 'b'],
    ['Add', ['features', 'zero_b'], 'c'],
    ['Sum', ['a', 'b', 'c'], 'out'],
  ]);
  const branch = { node: [{ opType: 'Add', input: ['b', 'zero_b'], output: ['y'] }], output: [{ name: 'y' }] };
  g.nodes.push({ name: 'if', op: 'If', domain: '', inputs: ['cond'], outputs: ['z'], attrs: new Map([['then_branch', { kind: 'raw', value: { name: 'then_branch', g: branch } }]]) });
  assert.equal(mergeCommonValues(g, new Set()), 0);
  assert.ok(g.initializers.has('zero_b'));
  assert.deepEqual(g.nodes.map((n) => n.inputs), [['features'], ['features'], ['features', 'zero_b'], ['a', 'b', 'c'], ['cond']]);
});
