// LoRA with peft's semantics on any ONNX graph: finds the nn.Linear weights of the modules that
// `target_modules` names (module paths come from TorchScript node names or the dynamo exporter's
// scope metadata), inserts y = x W + b + scaling · dropout(x) Aᵀ Bᵀ beside each, and merges the
// trained adapters back into the weights for export. Tensor layouts and names are peft's:
// A [r, in], B [out, r], `base_model.model.<module path>.lora_A.weight`.

import { Graph, Node, attrInt, attrInts } from '../onnx/graph';
import { Model } from '../onnx/model';
import { DataType, Tensor, fromNumbers, isFloatType, scalarTensor, toNumbers, zeros } from '../onnx/tensor';
import { Initializer } from '../models/init';
import { UserError } from '../errors';
import type { LORA_FIELDS } from '../config/config';
import type { SectionValues } from '../config/fields';

/** `model.lora` of the config, with peft's LoraConfig names. */
/**
 * model.lora as the run reads it (config.ts's LORA_FIELDS): r, lora_alpha, lora_dropout,
 * target_modules (module names, or one regular expression matched against the whole path),
 * use_rslora, and init (an adapter_model.safetensors to start from, absolute).
 */
export type LoraConfig = Omit<SectionValues<typeof LORA_FIELDS>, 'bias'>;

/** A MatMul or Gemm whose second input is a 2-D float weight: what an exported nn.Linear becomes. */
export interface LinearSite {
  node: Node;
  /** The PyTorch module path (`bert.encoder.layer.0.attention.self.query`), when the export says. */
  module?: string;
  weight: string;
  /** How the weight is stored: [in, out] (MatMul, Gemm without transB) or [out, in] (Gemm with transB). */
  layout: 'in_out' | 'out_in';
  inFeatures: number;
  outFeatures: number;
}

/** One adapted module: its weight and the names of its two LoRA tensors. */
export interface Adapter {
  module: string;
  weight: string;
  layout: LinearSite['layout'];
  inFeatures: number;
  outFeatures: number;
  a: string;
  b: string;
}

/** A model with adapters inserted, and what is needed to save or merge them. */
export interface LoraModel {
  /** The adapted model (the base model is left as it was). */
  model: Model;
  base: Model;
  config: LoraConfig;
  adapters: Adapter[];
  scaling: number;
}

/** A LoRA setting or adapter file that does not fit the model (exit code 2). */
export class LoraError extends UserError {}

const SCOPES_KEY = 'pkg.torch.onnx.name_scopes';

/** peft's tensor name of an adapter matrix. */
export function loraTensorName(module: string, which: 'A' | 'B'): string {
  return `base_model.model.${module}.lora_${which}.weight`;
}

/** The module path a node belongs to: dynamo's scope metadata, else the TorchScript node name. */
export function modulePathOf(n: Node): string | undefined {
  const scopes = n.metadata?.get(SCOPES_KEY);
  if (scopes) {
    // A Python list literal of strings; the last entry is the operation, the one before it the module.
    const entries = [...scopes.matchAll(/'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1] ?? m[2]);
    return entries.length >= 2 && entries[entries.length - 2] ? entries[entries.length - 2] : undefined;
  }
  // TorchScript: "/bert/encoder/layer.0/attention/self/query/MatMul" → the segments but the last.
  if (!n.name.startsWith('/')) return undefined;
  const segments = n.name.split('/').slice(1, -1);
  return segments.length ? segments.join('.') : undefined;
}

/**
 * Every MatMul / Gemm of the graph that multiplies by a 2-D float initializer, stored as is or
 * read through Transpose(perm [1, 0]) (exports without constant folding, the built-in models).
 */
export function linearSites(graph: Graph): LinearSite[] {
  const sites: LinearSite[] = [];
  const producers = graph.producers();
  const isWeight = (name: string) => {
    const w = graph.initializers.get(name);
    return !!w && isFloatType(w.type) && w.dims.length === 2;
  };
  for (const node of graph.nodes) {
    if (node.domain !== '' || (node.op !== 'MatMul' && node.op !== 'Gemm') || graph.initializers.has(node.inputs[0])) continue;
    if (node.op === 'Gemm' && attrInt(node, 'transA', 0) !== 0) continue;
    let weight = node.inputs[1];
    let transposed = node.op === 'Gemm' && attrInt(node, 'transB', 0) === 1;
    const t = producers.get(weight);
    if (!isWeight(weight) && t?.op === 'Transpose' && t.domain === '' && isWeight(t.inputs[0]) && (attrInts(t, 'perm') ?? [1, 0]).join() === '1,0') {
      weight = t.inputs[0];
      transposed = !transposed;
    }
    if (!isWeight(weight)) continue;
    const dims = graph.initializers.get(weight)!.dims;
    const layout = transposed ? 'out_in' : 'in_out';
    const [inFeatures, outFeatures] = layout === 'in_out' ? dims : [dims[1], dims[0]];
    // The state-dict name of an unfolded weight says its module when the node name does not.
    const module = modulePathOf(node) ?? (weight.endsWith('.weight') ? weight.slice(0, -'.weight'.length) : undefined);
    sites.push({ node, module, weight, layout, inFeatures, outFeatures });
  }
  return sites;
}

/** peft's rule: a regex string must match the whole path; a name matches the path or its last segments. */
export function matchesTarget(module: string, targets: string[] | string): boolean {
  if (typeof targets === 'string') return new RegExp(`^(?:${targets})$`).test(module);
  return targets.some((t) => module === t || module.endsWith(`.${t}`));
}

/** The linear sites whose module `target_modules` names. */
export function findTargets(graph: Graph, targets: string[] | string): LinearSite[] {
  return linearSites(graph).filter((s) => s.module !== undefined && matchesTarget(s.module, targets));
}

/** lora_alpha / r, or lora_alpha / √r with rsLoRA. */
export function loraScaling(config: LoraConfig): number {
  return config.use_rslora ? config.lora_alpha / Math.sqrt(config.r) : config.lora_alpha / config.r;
}

/**
 * The module name the initial adapter file uses for `module`: the same path, or (for exports
 * wrapped in an extra scope such as `/m/...`) the longest suffix of it that the file holds.
 */
function moduleInFile(module: string, init: Map<string, Tensor> | undefined): string {
  if (!init) return module;
  const parts = module.split('.');
  for (let i = 0; i < parts.length; i++) {
    const candidate = parts.slice(i).join('.');
    if (init.has(loraTensorName(candidate, 'A'))) return candidate;
  }
  return module;
}

/** The adapter's starting matrices: from the init file, or peft's init (A Kaiming-uniform, B zeros). */
function startingValues(site: LinearSite, module: string, config: LoraConfig, init: Map<string, Tensor> | undefined, rng: Initializer, type: DataType): [Tensor, Tensor] {
  const dims = { A: [config.r, site.inFeatures], B: [site.outFeatures, config.r] };
  if (!init) {
    // nn.init.kaiming_uniform_(a=√5) on A [r, in] draws from U(±1/√in), as nn.Linear does.
    return [rng.uniform(dims.A, 1 / Math.sqrt(site.inFeatures)), zeros(type, dims.B)];
  }
  return (['A', 'B'] as const).map((which) => {
    const name = loraTensorName(module, which);
    const t = init.get(name);
    if (!t) throw new LoraError(`${config.init}: has no tensor "${name}" for target module ${module}`);
    if (t.dims.join(',') !== dims[which].join(',')) {
      throw new LoraError(`${config.init}: tensor "${name}" has shape [${t.dims}], expected [${dims[which]}] (r = ${config.r})`);
    }
    return t.type === type ? t : fromNumbers(type, t.dims, toNumbers(t));
  }) as [Tensor, Tensor];
}

/**
 * Inserts the adapters into a copy of `base`'s graph: each target's output gains
 * scaling · MatMul(MatMul(dropout(x), Aᵀ), Bᵀ). A module reached by several nodes shares one
 * adapter, as one nn.Module called twice does. Dropout is an ONNX Dropout node, so the training
 * form draws its mask from Trainer's counter-based generator and the inference form drops it.
 */
export function insertAdapters(base: Model, config: LoraConfig, seed: number, init?: Map<string, Tensor>): LoraModel {
  const graph = base.graph.clone();
  const sites = findTargets(graph, config.target_modules);
  if (!sites.length) {
    const modules = [...new Set(linearSites(graph).map((s) => s.module).filter((m) => m))];
    throw new LoraError(`target_modules ${JSON.stringify(config.target_modules)} matches no linear layer of ${base.path} (its linear modules: ${modules.slice(0, 12).join(', ') || 'none named'})`);
  }
  const scaling = loraScaling(config);
  const rng = new Initializer(seed);
  const adapters = new Map<string, Adapter>();
  const scaleName = 'lora.scaling';
  const ratioName = 'lora.dropout_ratio';
  const type = graph.initializers.get(sites[0].weight)!.type;
  graph.initializers.set(scaleName, scalarTensor(type, scaling));
  if (config.lora_dropout > 0) graph.initializers.set(ratioName, scalarTensor(type, config.lora_dropout));
  const inserted = new Map<Node, Node[]>();
  sites.forEach((site, k) => {
    const module = moduleInFile(site.module!, init);
    let adapter = adapters.get(module);
    if (!adapter) {
      adapter = { module, weight: site.weight, layout: site.layout, inFeatures: site.inFeatures, outFeatures: site.outFeatures, a: loraTensorName(module, 'A'), b: loraTensorName(module, 'B') };
      const [a, b] = startingValues(site, module, config, init, rng, type);
      graph.initializers.set(adapter.a, a);
      graph.initializers.set(adapter.b, b);
      adapters.set(module, adapter);
    }
    const at = `/lora/${module}/${k}`;
    const node = (op: string, inputs: string[], out: string, attrs: Node['attrs'] = new Map()): Node => ({ name: `${at}/${op}_${out}`, op, domain: '', inputs, outputs: [`${at}/${out}`], attrs });
    const y = site.node.outputs[0];
    const baseOut = `${at}/base`;
    site.node.outputs[0] = baseOut;
    const nodes: Node[] = [];
    let x = site.node.inputs[0];
    if (config.lora_dropout > 0) {
      nodes.push(node('Dropout', [x, ratioName], 'dropped'));
      x = nodes[nodes.length - 1].outputs[0];
    }
    const perm = new Map([['perm', { kind: 'ints' as const, value: [1, 0] }]]);
    nodes.push(node('Transpose', [adapter.a], 'A_t', perm), node('Transpose', [adapter.b], 'B_t', perm));
    nodes.push(node('MatMul', [x, `${at}/A_t`], 'down'), node('MatMul', [`${at}/down`, `${at}/B_t`], 'up'));
    nodes.push(node('Mul', [`${at}/up`, scaleName], 'scaled'));
    nodes.push({ name: `${at}/Add`, op: 'Add', domain: '', inputs: [baseOut, `${at}/scaled`], outputs: [y], attrs: new Map() });
    inserted.set(site.node, nodes);
  });
  graph.nodes = graph.nodes.flatMap((n) => [n, ...(inserted.get(n) ?? [])]);
  if (init) {
    const used = new Set([...adapters.values()].flatMap((a) => [a.a, a.b]));
    const extra = [...init.keys()].find((name) => /\.lora_[AB]\.weight$/.test(name) && !used.has(name));
    if (extra) throw new LoraError(`${config.init}: tensor "${extra}" belongs to no module that target_modules ${JSON.stringify(config.target_modules)} selects in ${base.path}`);
  }
  return { model: { ...base, graph }, base, config, adapters: [...adapters.values()], scaling };
}

/** The base weights with the adapters merged in: W' = W + scaling · (B A)ᵀ in the stored layout. */
export function mergeAdapters(lora: LoraModel, tensors: Map<string, Tensor>): Map<string, Tensor> {
  const merged = new Map<string, Tensor>();
  for (const ad of lora.adapters) {
    const w = lora.base.graph.initializers.get(ad.weight)!;
    const a = toNumbers(tensors.get(ad.a)!);
    const b = toNumbers(tensors.get(ad.b)!);
    const out = Float64Array.from(toNumbers(merged.get(ad.weight) ?? w));
    const r = lora.config.r;
    for (let o = 0; o < ad.outFeatures; o++) {
      for (let i = 0; i < ad.inFeatures; i++) {
        let delta = 0;
        for (let k = 0; k < r; k++) delta += b[o * r + k] * a[k * ad.inFeatures + i];
        out[ad.layout === 'in_out' ? i * ad.outFeatures + o : o * ad.inFeatures + i] += lora.scaling * delta;
      }
    }
    merged.set(ad.weight, fromNumbers(w.type, [...w.dims], out));
  }
  return merged;
}

/** The names of the trainable tensors: every adapter's A and B. */
export function adapterTensorNames(lora: LoraModel): string[] {
  return lora.adapters.flatMap((a) => [a.a, a.b]);
}
