// `onnx-trainer check MODEL`: which operators a model uses, which parameters training would
// update, and what stands in the way (operators on the gradient path without a rule).

import { planGradients } from './autodiff/backward';
import { gradientRules, nonDifferentiable } from './autodiff/registry';
import { GraphBuilder } from './onnx/builder';
import { loadModel } from './onnx/model';
import { inferableOps } from './onnx/shapes';
import { typeName } from './onnx/tensor';
import { prepareModel } from './programs/prepare';

export interface ModelReport {
  file: string;
  opset: number;
  inputs: string[];
  outputs: string[];
  ops: { op: string; count: number; support: 'gradient' | 'constant' | 'no gradient rule' }[];
  params: { name: string; shape: number[]; decay: boolean }[];
  buffers: string[];
  frozen: string[];
  unsupported: { op: string; node: string }[];
  /** Nodes anywhere in the graph whose operator the trainer knows nothing of (no gradient rule, not constant, no shape rule; or a custom domain). */
  unknown: { op: string; node: string }[];
}

/** Whether `check` can say the model trains: parameters to train, and no operator it does not know. */
export function trainable(r: ModelReport): boolean {
  return r.params.length > 0 && r.unsupported.length === 0 && r.unknown.length === 0;
}

export function inspectModel(file: string, output?: string): ModelReport {
  const model = loadModel(file);
  const prepared = prepareModel(model, { output });
  const b = new GraphBuilder(prepared.graph.clone());
  const candidates = [...prepared.params.map((p) => p.name)];
  const plan = planGradients(b, b.graph.nodes, candidates, [prepared.logits]);
  const counts = new Map<string, number>();
  for (const n of model.graph.nodes) counts.set(n.op, (counts.get(n.op) ?? 0) + 1);
  const blocked = new Set(plan.unsupported.map((n) => n.op));
  // An operator off the gradient path (shape arithmetic, masks) needs no rule.
  const ops = [...counts].sort(([a], [c]) => a.localeCompare(c)).map(([op, count]) => ({
    op,
    count,
    support: gradientRules.has(op) ? 'gradient' as const : blocked.has(op) ? 'no gradient rule' as const : 'constant' as const,
  }));
  const dims = (v: { shape?: (number | string)[] }) => `[${(v.shape ?? []).join(', ')}]`;
  // Known: a gradient rule, known to be constant, or at least known to shape inference.
  const inferable = new Set(inferableOps());
  return {
    file,
    opset: model.graph.opset,
    inputs: model.graph.inputs.map((v) => `${v.name}: ${typeName(v.type)} ${dims(v)}`),
    outputs: model.graph.outputs.map((v) => `${v.name}: ${typeName(v.type)} ${dims(v)}`),
    ops,
    params: prepared.params.map((p) => ({ name: p.name, shape: p.dims, decay: p.decay })),
    buffers: prepared.buffers,
    frozen: prepared.frozen,
    unsupported: plan.unsupported.map((n) => ({ op: n.op, node: n.name })),
    unknown: model.graph.nodes.filter((n) => (n.domain !== '' && n.domain !== 'ai.onnx') || !(gradientRules.has(n.op) || nonDifferentiable.has(n.op) || inferable.has(n.op)))
      .map((n) => ({ op: n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.${n.op}` : n.op, node: n.name })),
  };
}

export function formatReport(r: ModelReport): string {
  const lines: string[] = [];
  lines.push(`${r.file} (ONNX opset ${r.opset})`);
  lines.push(`inputs:  ${r.inputs.join('; ')}`);
  lines.push(`outputs: ${r.outputs.join('; ')}`);
  lines.push('', 'operators:');
  for (const o of r.ops) lines.push(`  ${o.op.padEnd(28)} ×${String(o.count).padEnd(4)} ${o.support}`);
  const total = r.params.reduce((n, p) => n + p.shape.reduce((a, d) => a * d, 1), 0);
  lines.push('', `trainable parameters: ${r.params.length} tensors, ${total.toLocaleString('en-US')} values`);
  for (const p of r.params) lines.push(`  ${p.name.padEnd(48)} [${p.shape.join(', ')}]${p.decay ? '' : '  (no weight decay)'}`);
  if (r.buffers.length) lines.push('', `batch-norm running statistics (updated, not trained): ${r.buffers.join(', ')}`);
  if (r.frozen.length) lines.push('', `constants (not trained): ${r.frozen.length}`);
  lines.push('');
  if (r.unsupported.length) {
    lines.push('unsupported: these operators lie between the parameters and the output and have no gradient rule:');
    for (const u of r.unsupported) lines.push(`  ${u.op} node "${u.node}"`);
  } else if (r.unknown.length) {
    // Off the gradient path they may be harmless, but check cannot vouch for what it does not know.
    lines.push('not verified: the trainer does not know these operators (no gradient rule, no shape rule, or a custom domain):');
    for (const u of r.unknown) lines.push(`  ${u.op} node "${u.node}"`);
  } else if (r.params.length === 0) {
    lines.push('not trainable: no float initializer reaches the output through known operators, so there is nothing to train.');
  } else lines.push('ok: every operator on the gradient path has a rule; this model can be trained.');
  return lines.join('\n');
}
