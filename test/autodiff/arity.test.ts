// The backward pass checks what every gradient rule returns: one gradient per input at most, and
// one for each input the rule declares differentiable and the loss needs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildBackward } from '../../src/trainer/autodiff/backward';
import { GradientRule, gradientRules } from '../../src/trainer/autodiff/registry';
import { Graph } from '../../src/trainer/onnx/graph';
import { GraphBuilder } from '../../src/trainer/onnx/builder';
import { DataType } from '../../src/trainer/onnx/tensor';

function withRule(op: string, rule: GradientRule, body: () => void) {
  const kept = gradientRules.get(op)!;
  gradientRules.set(op, rule);
  try {
    body();
  } finally {
    gradientRules.set(op, kept);
  }
}

function backwardOfMul() {
  const g = new Graph();
  g.opset = 20;
  g.inputs.push({ name: 'x', type: DataType.FLOAT, shape: [3] }, { name: 'w', type: DataType.FLOAT, shape: [3] });
  g.nodes.push({ name: 'mul', op: 'Mul', domain: '', inputs: ['x', 'w'], outputs: ['y'], attrs: new Map() });
  g.nodes.push({ name: 'sum', op: 'ReduceSum', domain: '', inputs: ['y'], outputs: ['loss'], attrs: new Map([['keepdims', { kind: 'int', value: 0 }]]) as never });
  g.outputs = [{ name: 'loss', type: DataType.FLOAT, shape: [] }];
  return buildBackward(new GraphBuilder(g), 'loss', ['x', 'w']);
}

test('the real Mul rule gives both inputs their gradient', () => {
  assert.deepEqual([...backwardOfMul().grads.keys()].sort(), ['w', 'x']);
});

test('a rule that drops the gradient of an input it declares differentiable is an error naming the node and input', () => {
  const real = gradientRules.get('Mul')!;
  withRule('Mul', { ...real, backward: (ctx) => [real.backward(ctx)[0]] }, () => {
    assert.throws(() => backwardOfMul(), /gradient rule of Mul node "mul" returned no gradient for input 1 \("w"\)/);
  });
});

test('a rule that returns a gradient for an input its node does not have is an error', () => {
  const real = gradientRules.get('Mul')!;
  withRule('Mul', { ...real, backward: (ctx) => [...real.backward(ctx), real.backward(ctx)[0]] }, () => {
    assert.throws(() => backwardOfMul(), /returned 3 gradients for 2 inputs/);
  });
});
