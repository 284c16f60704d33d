// `onnx-trainer check MODEL|CONFIG`: which operators a model uses, which parameters training
// would update, and what stands in the way (operators on the gradient path without a rule).
// Given a config, the model is the one its run trains: with model.lora, the adapted model whose
// only parameters are the adapters.

import * as fs from 'node:fs';
import { planGradients } from './autodiff/backward';
import { gradientRules, nonDifferentiable } from './autodiff/registry';
import { GraphBuilder } from './onnx/builder';
import { TrainerConfig } from './config/config';
import { UserError } from './errors';
import { applyLora } from './job';
import { Model, loadModel } from './onnx/model';
import { inferableOps } from './onnx/shapes';
import { typeName } from './onnx/tensor';
import { PrepareOptions, prepareModel } from './programs/prepare';
import { adapterTensorNames } from './programs/lora';
import { FROZEN_EXPLANATIONS } from './programs/trainable';

export interface ModelReport {
  file: string;
  opset: number;
  inputs: string[];
  outputs: string[];
  ops: { op: string; count: number; support: 'gradient' | 'constant' | 'no gradient rule' }[];
  params: { name: string; shape: number[]; decay: boolean }[];
  buffers: string[];
  frozen: string[];
  /** Float initializers of rank ≥ 1 that are not trained, with the reason (Constant nodes counted apart). */
  notTrained: { name: string; shape: number[]; reason: string }[];
  warnings: string[];
  unsupported: { op: string; node: string }[];
  /** With model.lora: the adapted modules. */
  adapters?: string[];
  /** Nodes anywhere in the graph whose operator the trainer knows nothing of (no gradient rule, not constant, no shape rule; or a custom domain). */
  unknown: { op: string; node: string }[];
}

/** Whether `check` can say the model trains: parameters to train, and no operator it does not know. */
export function trainable(r: ModelReport): boolean {
  return r.params.length > 0 && r.unsupported.length === 0 && r.unknown.length === 0;
}

/** The report of an ONNX file. */
export function inspectModel(file: string, output?: string): ModelReport {
  return inspect(file, loadModel(file), { output });
}

/** The report of the model a config trains (with model.lora: its adapters are the parameters). */
export function inspectConfig(config: TrainerConfig): ModelReport {
  const file = config.model.path;
  if (!file) throw config.doc.error(['model', 'builtin'], 'check reads an ONNX file; a built-in model has none (check the config of an ONNX model)');
  if (!fs.existsSync(file)) throw new UserError(`${config.file}: model.path: model file not found: ${file}`);
  const model = loadModel(file);
  const lora = config.model.lora && applyLora(config, model);
  const report = inspect(file, lora?.model ?? model, {
    output: config.model.output, freeze: config.model.freeze, task: config.model.task, trainable: config.model.trainable,
    tieIdentical: config.model.tie_identical, trainOnly: lora && adapterTensorNames(lora),
  });
  return lora ? { ...report, adapters: lora.adapters.map((a) => a.module) } : report;
}

function inspect(file: string, model: Model, opts: PrepareOptions): ModelReport {
  const prepared = prepareModel(model, opts);
  const b = new GraphBuilder(prepared.graph.clone());
  const candidates = [...prepared.params.map((p) => p.name)];
  const plan = planGradients(b, b.graph.nodes, candidates, prepared.outputs);
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
    notTrained: [...prepared.frozenReasons].filter(([name, reason]) => reason !== 'Constant node' && reason !== 'LoRA base model' && prepared.graph.initializers.get(name)!.dims.length >= 1)
      .map(([name, reason]) => ({ name, shape: [...prepared.graph.initializers.get(name)!.dims], reason: FROZEN_EXPLANATIONS[reason] })),
    warnings: prepared.warnings,
    unsupported: plan.unsupported.map((n) => ({ op: n.op, node: n.name })),
    unknown: prepared.graph.nodes.filter((n) => (n.domain !== '' && n.domain !== 'ai.onnx') || !(gradientRules.has(n.op) || nonDifferentiable.has(n.op) || inferable.has(n.op)))
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
  if (r.adapters) lines.push('', `LoRA adapters on ${r.adapters.length} modules: ${r.adapters.join(', ')}`);
  lines.push('', `trainable parameters: ${r.params.length} tensors, ${total.toLocaleString('en-US')} values`);
  for (const p of r.params) lines.push(`  ${p.name.padEnd(48)} [${p.shape.join(', ')}]${p.decay ? '' : '  (no weight decay)'}`);
  if (r.buffers.length) lines.push('', `batch-norm running statistics (updated, not trained): ${r.buffers.join(', ')}`);
  if (r.notTrained.length) {
    lines.push('', 'not trained:');
    for (const f of r.notTrained) lines.push(`  ${f.name.padEnd(48)} [${f.shape.join(', ')}]  ${f.reason}`);
  }
  const constants = r.frozen.length - r.notTrained.length;
  if (constants) lines.push('', `${r.adapters ? 'frozen tensors (the base model and constants)' : 'constants (not trained)'}: ${constants}${r.adapters ? '' : ' (Constant nodes and scalars the exporter wrote)'}`);
  for (const w of r.warnings) lines.push('', `warning: ${w}`);
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
