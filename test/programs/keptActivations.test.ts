// What the compiled train step keeps from the forward pass for the backward pass (docs/PERFORMANCE.md,
// "Where the memory goes"): the decomposed exact GELU becomes one Gelu node (fuseGelu.ts) in the
// orders exporters write it, computing the same values, and in TorchScript's real exports, never
// where an intermediate is read elsewhere; Hugging Face's NaN-guarded attention softmax becomes a
// composite and batch normalization too, both expanded back to ONNX operators; and the backward
// pass reads no activation for its dimensions alone. Training with all of them is covered by the
// exports' parity with Hugging Face Trainer (test/parity).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { Graph, attrInt, attrInts } from '../../src/trainer/onnx/graph';
import { PIXEL_UNIT_MAX_CHANNELS } from '../../src/trainer/autodiff/rules/conv';
import { ShapeTable } from '../../src/trainer/onnx/shapes';
import { loadModel, serializeGraph } from '../../src/trainer/onnx/model';
import { DataType, fromNumbers } from '../../src/trainer/onnx/tensor';
import { fuseGelu } from '../../src/trainer/programs/fuseGelu';
import { writeOutputsDirectly } from '../../src/trainer/programs/inPlace';
import { COMPOSITE_DOMAIN } from '../../src/trainer/autodiff/composites';
import { GraphBuilder } from '../../src/trainer/onnx/builder';
import { prepareModel } from '../../src/trainer/programs/prepare';
import { compileTrainStep } from '../../src/trainer/programs/trainStep';
import { FIXTURES } from '../helpers';

type Step = [op: string, inputs: string[], output: string];

/** The orders of x · ½ · (1 + erf(x/√2)) seen in exporters' output and the algebra's others. */
const FORMS: Record<string, Step[]> = {
  'TorchScript: (x · (1 + erf(x / √2))) · ½': [['Div', ['x', 'sqrt2'], 's'], ['Erf', ['s'], 'e'], ['Add', ['e', 'one'], 'a'], ['Mul', ['x', 'a'], 'm'], ['Mul', ['m', 'half'], 'y']],
  '(x · ½) · (1 + erf(x · 1/√2))': [['Mul', ['x', 'half'], 'h'], ['Mul', ['x', 'rsqrt2'], 's'], ['Erf', ['s'], 'e'], ['Add', ['one', 'e'], 'a'], ['Mul', ['a', 'h'], 'y']],
  '((1 + erf(x / √2)) · ½) · x': [['Div', ['x', 'sqrt2'], 's'], ['Erf', ['s'], 'e'], ['Add', ['e', 'one'], 'a'], ['Mul', ['half', 'a'], 'm'], ['Mul', ['m', 'x'], 'y']],
};

function gelu(steps: Step[], extraOutput?: string): Graph {
  const g = new Graph();
  g.opset = 20;
  g.inputs = [{ name: 'x', type: DataType.FLOAT, shape: [2, 3] }];
  for (const [name, v] of Object.entries({ sqrt2: Math.SQRT2, rsqrt2: Math.SQRT1_2, one: 1, half: 0.5 })) g.initializers.set(name, fromNumbers(DataType.FLOAT, [], [v]));
  g.nodes = steps.map(([op, inputs, out]) => ({ name: out, op, domain: '', inputs, outputs: [out], attrs: new Map() }));
  g.outputs = [{ name: 'y', type: DataType.FLOAT, shape: [2, 3] }];
  if (extraOutput) g.outputs.push({ name: extraOutput, type: DataType.FLOAT, shape: [2, 3] });
  return g;
}

async function evaluate(g: Graph, x: Float32Array): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(serializeGraph(g));
  const out = await session.run({ x: new ort.Tensor('float32', x, [2, 3]) });
  await session.release();
  return out.y.data as Float32Array;
}

const X = Float32Array.of(-3, -1, -0.25, 0, 0.5, 2.5);
const float = () => DataType.FLOAT;

for (const [name, steps] of Object.entries(FORMS)) {
  test(`GELU written as ${name} becomes one Gelu computing the same values`, async () => {
    const expected = await evaluate(gelu(steps), X);
    const g = gelu(steps);
    assert.equal(fuseGelu(g, float), 1);
    assert.deepEqual(g.nodes.map((n) => n.op), ['Gelu']);
    assert.deepEqual(g.nodes[0].inputs, ['x']);
    const fused = await evaluate(g, X);
    for (let i = 0; i < X.length; i++) assert.ok(Math.abs(fused[i] - expected[i]) <= 1e-6, `x = ${X[i]}: ${fused[i]} vs ${expected[i]}`);
  });
}

test('a GELU whose intermediate is read elsewhere, or over another type, or with another constant, stays as it is', () => {
  const steps = FORMS['TorchScript: (x · (1 + erf(x / √2))) · ½'];
  assert.equal(fuseGelu(gelu(steps, 'a'), float), 0, 'an intermediate is a graph output');
  const read = gelu([...steps, ['Neg', ['e'], 'n']]);
  assert.equal(fuseGelu(read, float), 0, 'an intermediate has another reader');
  assert.equal(fuseGelu(gelu(steps), () => DataType.FLOAT16), 0, 'float16 x');
  const other = gelu(steps);
  other.initializers.set('half', fromNumbers(DataType.FLOAT, [], [0.25]));
  assert.equal(fuseGelu(other, float), 0, 'x · ¼ · (1 + erf(x/√2)) is not GELU');
});

for (const name of ['bert_ts', 'distilbert_ts']) {
  test(`${name}: the train step has one Gelu per layer and no Erf left from the forward pass`, () => {
    const model = loadModel(path.join(FIXTURES, 'exports', name, 'model.onnx'));
    const erfs = model.graph.nodes.filter((n) => n.op === 'Erf').length;
    assert.ok(erfs > 0, 'TorchScript writes GELU out');
    const prepared = prepareModel(model);
    const { graph } = compileTrainStep(prepared, { problemType: 'single_label_classification', numLabels: 2 }, 'step');
    const gelus = graph.nodes.filter((n) => n.op === 'Gelu');
    // One a layer in the forward pass; the backward pass remakes each one's output (recompute.ts).
    assert.equal(gelus.filter((n) => !n.name.includes('_recompute')).length, erfs);
    assert.equal(gelus.length, 2 * erfs);
    // The Erf nodes left are the backward pass's, reading the Gelu's input.
    const geluInputs = new Set(gelus.map((n) => n.inputs[0]));
    const producers = graph.producers();
    for (const n of graph.nodes.filter((m) => m.op === 'Erf')) {
      const scaled = producers.get(n.inputs[0])!;
      assert.ok(scaled.inputs.some((i) => geluInputs.has(i)), `${n.name} recomputes from a Gelu's input`);
    }
  });
}

function compiled(name: string, labels = 2) {
  const prepared = prepareModel(loadModel(path.join(FIXTURES, 'exports', name, 'model.onnx')));
  return compileTrainStep(prepared, { problemType: 'single_label_classification', numLabels: labels }, 'step').graph;
}

for (const name of ['distilbert_ts', 'bert_dynamo']) {
  test(`${name}: each layer's NaN-guarded softmax is read by its guard alone, so the backward pass keeps only the guarded result`, () => {
    const graph = compiled(name);
    const consumers = graph.consumers();
    const softmaxes = graph.nodes.filter((n) => n.op === 'Softmax');
    assert.ok(softmaxes.length >= 2, 'one per layer');
    // The guard is one ThresholdedRelu in float32 (autodiff/composites.ts, test/programs/nanSafeSoftmax.test.ts).
    for (const s of softmaxes) assert.deepEqual((consumers.get(s.outputs[0]) ?? []).map((n) => n.op), ['ThresholdedRelu'], s.name);
    assert.ok(graph.nodes.every((n) => n.domain !== COMPOSITE_DOMAIN), 'every composite was expanded');
  });
}

test('resnet_ts_train: training-mode batch normalization runs as ONNX operators, no composite left', () => {
  const norms = loadModel(path.join(FIXTURES, 'exports', 'resnet_ts_train', 'model.onnx')).graph.nodes.filter((n) => n.op === 'BatchNormalization').length;
  assert.ok(norms > 0);
  const graph = compiled('resnet_ts_train', 10);
  assert.ok(!graph.nodes.some((n) => n.op === 'BatchNormalization' || n.domain === COMPOSITE_DOMAIN));
  assert.ok(graph.nodes.filter((n) => n.op === 'ReduceMean').length >= 2 * norms, 'batch mean and variance of every batch norm');
});

test('resnet_ts_train: a Conv\'s weight gradient gathers its im2col matrix one kernel row at a time, or stacks it whole only for outputs of at most 16 positions', () => {
  // The whole matrix at once held its pieces and itself: 441 MB at ResNet-18 224²'s peak. Each
  // row is one Gather of X's channel rows; small outputs stack the matrix whole, channel-major, so
  // that the product needs no transpose.
  const model = loadModel(path.join(FIXTURES, 'exports', 'resnet_ts_train', 'model.onnx')).graph;
  const convs = model.nodes.filter((n) => n.op === 'Conv');
  const kernels = convs.map((n) => model.initializers.get(n.inputs[1])!.dims.slice(2));
  // A row is Kw positions wide, or ⌈Kw / stride⌉ runs of `stride` pixels where the input has few
  // channels and the stride is 2 or more (the RGB stem).
  const rowWidths = convs.map((n) => {
    const [, c, , kw] = model.initializers.get(n.inputs[1])!.dims;
    const sw = attrInts(n, 'strides')?.[1] ?? 1;
    return c < PIXEL_UNIT_MAX_CHANNELS && sw > 1 && kw > 1 ? Math.ceil(kw / sw) : kw;
  });
  assert.ok(rowWidths.some((w, k) => w !== kernels[k][1]), 'the fixture has a strided RGB stem');
  const graph = compiled('resnet_ts_train', 10);
  const shapes = new ShapeTable(graph).inferAll();
  const producers = graph.producers();
  const sliceOf = (v: string) => (producers.get(v)?.op === 'Unsqueeze' && producers.get(producers.get(v)!.inputs[0])?.op === 'Slice' ? producers.get(v)!.inputs[0] : undefined);
  const stacks = graph.nodes.filter((n) => n.op === 'Concat' && n.inputs.every((v) => sliceOf(v)));
  assert.ok(stacks.every((n) => attrInt(n, 'axis', 0) === 4), 'slices are stacked only for whole, channel-major matrices');
  const rows = graph.nodes.filter((n) => n.op === 'Gather' && graph.initializers.get(n.inputs[1])?.dims.length === 2);
  assert.ok(rows.length > 0 && stacks.length > 0, 'the fixture has both sizes');
  const widths = new Set(rowWidths);
  const areas = new Set(kernels.map(([kh, kw]) => kh * kw));
  for (const n of rows) {
    const [positions, width] = graph.initializers.get(n.inputs[1])!.dims;
    assert.ok(widths.has(width), `${n.name}: one kernel row`);
    assert.ok(positions > 16 || width === 1, `${n.name}: a large output, or a 1×1 kernel`);
  }
  for (const n of stacks) {
    assert.ok(areas.has(n.inputs.length), `${n.name}: the whole kernel`);
    const [, ho, wo] = shapes.get(sliceOf(n.inputs[0])!)!.shape!;
    assert.ok(Number(ho) * Number(wo) <= 16, `${n.name}: a small output`);
  }
});

test('a gradient\'s shape comes from the graph inputs\' dimensions, not from the activation it is shaped after', async () => {
  const g = new Graph();
  g.opset = 20;
  g.inputs = [{ name: 'ids', type: DataType.FLOAT, shape: ['batch', 'sequence'] }];
  g.initializers.set('w', fromNumbers(DataType.FLOAT, [1, 1, 3], [1, 2, 3]));
  g.nodes.push({ name: 'u', op: 'Unsqueeze', domain: '', inputs: ['ids', 'axes'], outputs: ['u'], attrs: new Map() });
  g.initializers.set('axes', fromNumbers(DataType.INT64, [1], [2]));
  g.nodes.push({ name: 'h', op: 'Mul', domain: '', inputs: ['u', 'w'], outputs: ['h'], attrs: new Map() });
  g.nodes.push({ name: 'odd', op: 'NonZero', domain: '', inputs: ['ids'], outputs: ['odd'], attrs: new Map() });
  const b = new GraphBuilder(g);
  const shape = b.shapeOf('h');
  const unknown = b.shapeOf('odd');
  assert.ok(!g.nodes.some((n) => n.op === 'Shape' && n.inputs[0] === 'h'), 'h is not read for its shape');
  assert.ok(g.nodes.some((n) => n.op === 'Shape' && n.inputs[0] === 'odd'), 'a data-dependent dimension is read from the value');
  g.outputs = [{ name: shape, type: DataType.INT64, shape: [3] }, { name: unknown, type: DataType.INT64, shape: [2] }];
  const session = await ort.InferenceSession.create(serializeGraph(g));
  const out = await session.run({ ids: new ort.Tensor('float32', Float32Array.of(1, 0, 2, 3, 0, 4), [2, 3]) });
  await session.release();
  assert.deepEqual([...(out[shape].data as BigInt64Array)].map(Number), [2, 3, 3]);
  assert.deepEqual([...(out[unknown].data as BigInt64Array)].map(Number), [2, 4]);
});

for (const [mode, precision] of [['step', 'fp32'], ['final', 'fp32'], ['step', 'fp16']] as const) {
  test(`distilbert_ts, ${mode}, ${precision}: the gradients' readers on the way to the outputs stand in the reverse of the order the backward pass makes them, so onnxruntime's walk back from the leaves starts at the last layer`, () => {
    const prepared = prepareModel(loadModel(path.join(FIXTURES, 'exports', 'distilbert_ts', 'model.onnx')));
    const graph = compileTrainStep(prepared, { problemType: 'single_label_classification', numLabels: 2 }, mode, { precision }).graph;
    const position = new Map(graph.nodes.map((n, i) => [n, i]));
    const producers = graph.producers();
    const consumers = graph.consumers();
    const fed = new Set(graph.inputs.map((i) => i.name));
    const gradients = graph.outputs.filter((o) => o.name.startsWith('trainer/grad/')).map((o) => o.name);
    // Each gradient is written by the node that computes it (no Identity copy), and its square
    // for the clipping norm is the node the walk reaches it from.
    for (const g of gradients) assert.notEqual(producers.get(g)!.op, 'Identity', g);
    // Where the backward pass makes it: "final" adds the window's sum, acc + gradient · scale,
    // after the whole backward pass, and half precision casts it to float32 where the backward
    // pass reaches the parameter's Cast at the graph's start; look through both.
    const made = gradients.map((g) => {
      let node = producers.get(g)!;
      for (;;) {
        if (mode === 'final' && ['Add', 'Mul'].includes(node.op) && node.inputs.some((i) => fed.has(i))) node = producers.get(node.inputs.find((i) => !fed.has(i))!)!;
        else if (node.op === 'Cast' && producers.has(node.inputs[0])) node = producers.get(node.inputs[0])!;
        else return position.get(node)!;
      }
    });
    const placed = gradients.map((g) => position.get(consumers.get(g)!.find((n) => n.op === 'ReduceSumSquare')!)!);
    // Sorted by where their squares stand, the gradients are made in decreasing order.
    const byPlace = placed.map((p, i) => ({ p, m: made[i], name: gradients[i] })).sort((a, b) => a.p - b.p);
    assert.ok(byPlace.length > 10);
    for (let i = 1; i < byPlace.length; i++) assert.ok(byPlace[i].m <= byPlace[i - 1].m, `square ${i} of ${byPlace.length}`);
    assert.match(byPlace[byPlace.length - 1].name, /classifier/, 'the classifier\'s gradient, made first, has the last square: the walk starts there');
    assert.match(byPlace[0].name, /embeddings/, 'the embeddings\' gradient, made last, has the first square');
  });
}

/** y = Reshape(x · w) read by a ReduceSumSquare too, both graph outputs (a weight gradient and its square). */
function reshapedProduct(extraReader: boolean): Graph {
  const g = new Graph();
  g.opset = 20;
  g.inputs = [{ name: 'x', type: DataType.FLOAT, shape: [2, 6] }];
  g.initializers.set('w', fromNumbers(DataType.FLOAT, [6, 4], Array.from({ length: 24 }, (_, k) => Math.sin(k))));
  g.initializers.set('shape', fromNumbers(DataType.INT64, [3], [2, 2, 2]));
  g.nodes.push({ name: 'p', op: 'MatMul', domain: '', inputs: ['x', 'w'], outputs: ['p'], attrs: new Map() });
  g.nodes.push({ name: 'r', op: 'Reshape', domain: '', inputs: ['p', 'shape'], outputs: ['r'], attrs: new Map() });
  g.nodes.push({ name: 'y', op: 'Identity', domain: '', inputs: ['r'], outputs: ['y'], attrs: new Map() });
  g.nodes.push({ name: 's', op: 'ReduceSumSquare', domain: '', inputs: ['r'], outputs: ['s'], attrs: new Map([['keepdims', { kind: 'int', value: 0 }]]) });
  g.outputs = [{ name: 'y', type: DataType.FLOAT, shape: [2, 2, 2] }, { name: 's', type: DataType.FLOAT, shape: [] }];
  if (extraReader) {
    g.nodes.push({ name: 'e', op: 'Neg', domain: '', inputs: ['p'], outputs: ['e'], attrs: new Map() });
    g.outputs.push({ name: 'e', type: DataType.FLOAT, shape: [2, 4] });
  }
  g.valueInfo.set('p', { name: 'p', type: DataType.FLOAT, shape: [2, 4] });
  return g;
}

test('an output made by a Reshape is written by the node before it, in that node\'s shape, with the same bytes; the Reshape stays for its other readers as a view', async () => {
  const x = Float32Array.from({ length: 12 }, (_, k) => k / 3 - 1);
  const run = async (g: Graph) => {
    const session = await ort.InferenceSession.create(serializeGraph(g));
    const out = await session.run({ x: new ort.Tensor('float32', x, [2, 6]) });
    await session.release();
    return { y: out.y.data as Float32Array, dims: out.y.dims, s: out.s.data as Float32Array };
  };
  const before = await run(reshapedProduct(false));
  const g = reshapedProduct(false);
  writeOutputsDirectly(g, new Set(['y', 's']), new Set(['y']));
  const producers = g.producers();
  assert.equal(producers.get('y')!.op, 'MatMul', 'the product writes the output');
  assert.deepEqual(g.outputs[0].shape, [2, 4]);
  assert.equal(producers.get(g.producers().get('s')!.inputs[0])!.op, 'Reshape', 'the square reads a view of the output');
  const after = await run(g);
  assert.deepEqual(after.y, before.y);
  assert.deepEqual(after.s, before.s);
  assert.deepEqual(after.dims, [2, 4]);
  // Not reshapable, or the product read elsewhere: the Reshape writes the output as before.
  for (const [extra, reshapable] of [[false, new Set<string>()], [true, new Set(['y'])]] as const) {
    const kept = reshapedProduct(extra);
    writeOutputsDirectly(kept, new Set(['y', 's']), reshapable);
    assert.equal(kept.producers().get('y')!.op, 'Reshape');
  }
});

test('resnet_ts_train, step: no Conv weight\'s gradient comes out through a Reshape (onnxruntime copies into an output even there); "final" keeps the parameters\' shapes for its sums', () => {
  const prepared = prepareModel(loadModel(path.join(FIXTURES, 'exports', 'resnet_ts_train', 'model.onnx')));
  const gradients = (mode: 'step' | 'final') => {
    const graph = compileTrainStep(prepared, { problemType: 'single_label_classification', numLabels: 10 }, mode).graph;
    const producers = graph.producers();
    return graph.outputs.filter((o) => o.name.startsWith('trainer/grad/')).map((o) => ({ o, op: producers.get(o.name)!.op }));
  };
  const step = gradients('step');
  const dims = new Map(prepared.params.map((p) => [`trainer/grad/${p.name}`, p.dims.join()]));
  // The Conv weights' (a batch norm's bias gradient is its sum's view, the sum being read by dx too).
  const convWeights = step.filter(({ o }) => dims.get(o.name)!.split(',').length === 4);
  assert.ok(convWeights.length >= 6);
  for (const { o, op } of convWeights) assert.notEqual(op, 'Reshape', o.name);
  assert.ok(step.some(({ o }) => o.shape?.join() !== dims.get(o.name)), 'some come in their product\'s shape');
  for (const { o } of gradients('final')) assert.equal(o.shape?.join(), dims.get(o.name), o.name);
});

test('resnet_ts_train: ReLU\'s gradient multiplies by a HardSigmoid mask in float32 and selects with Where in half precision (0 where dy overflowed, as PyTorch)', () => {
  const prepared = prepareModel(loadModel(path.join(FIXTURES, 'exports', 'resnet_ts_train', 'model.onnx')));
  const relus = prepared.graph.nodes.filter((n) => n.op === 'Relu').length;
  assert.ok(relus > 0);
  for (const precision of ['fp32', 'fp16'] as const) {
    const graph = compileTrainStep(prepared, { problemType: 'single_label_classification', numLabels: 10 }, 'step', { precision }).graph;
    const producers = graph.producers();
    const maskOp = precision === 'fp32' ? 'HardSigmoid' : 'Greater';
    const masks = graph.nodes.filter((n) => n.op === maskOp && producers.get(n.inputs[0])?.op === 'Relu');
    assert.equal(masks.length, relus, precision);
    const readers = graph.consumers();
    for (const m of masks) {
      const [reader] = readers.get(m.outputs[0])!;
      assert.equal(reader.op, precision === 'fp32' ? 'Mul' : 'Where', `${precision}: ${m.name}`);
    }
  }
});

test('resnet_ts_train: batch norm\'s per-channel sums and means reduce each image\'s positions, then the batch, in float32 (one stage over [0, 2, 3] in half precision)', () => {
  const prepared = prepareModel(loadModel(path.join(FIXTURES, 'exports', 'resnet_ts_train', 'model.onnx')));
  const norms = prepared.graph.nodes.filter((n) => n.op === 'BatchNormTraining' || n.op === 'BatchNormalization').length;
  assert.ok(norms > 0);
  for (const precision of ['fp32', 'fp16'] as const) {
    const graph = compileTrainStep(prepared, { problemType: 'single_label_classification', numLabels: 10 }, 'step', { precision }).graph;
    const axesOf = (n: Graph['nodes'][number]) => {
      const input = n.inputs[1] && graph.initializers.get(n.inputs[1]);
      return input ? Array.from(input.data as BigInt64Array, Number).join() : attrInts(n, 'axes', []).join();
    };
    const reductions = graph.nodes.filter((n) => n.op === 'ReduceMean' || n.op === 'ReduceSum');
    const count = (axes: string) => reductions.filter((n) => axesOf(n) === axes).length;
    // Per batch norm: its mean and variance forward, Σ dy and Σ dy·xc backward.
    if (precision === 'fp32') {
      assert.equal(count('0,2,3'), 0, precision);
      assert.ok(count('2,3') >= 4 * norms, `${precision}: ${count('2,3')} reductions over [2, 3] for ${norms} batch norms`);
    } else {
      assert.ok(count('0,2,3') >= 4 * norms, `${precision}: ${count('0,2,3')} reductions over [0, 2, 3] for ${norms} batch norms`);
    }
  }
});
