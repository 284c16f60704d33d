// Hugging Face Trainer's weight-decay groups (`get_decay_parameter_names`): no decay for biases
// and normalization weights. Trainer decides by module type and name; an ONNX file keeps the
// name where the exporter did, and the op that reads the tensor tells a LayerNorm module.

import { Node } from '../onnx/graph';

/** Transformers' name patterns (5.x), matched on the lower-cased dotted parameter name. */
const NO_DECAY_NAME = [/bias/, /layernorm/, /rmsnorm/, /(?:^|\.)norm(?:$|\.)/, /_norm(?:$|\.)/];

/**
 * Names an exporter made up (`onnx::MatMul_338`, `val_59`, `expand_1`, a node's output) rather
 * than PyTorch's dotted module path: such a tensor is a folded copy (a transposed weight, a fused
 * bias) and its name says nothing about the module, so the rank rule decides instead.
 */
export function isExporterName(name: string): boolean {
  return name.startsWith('onnx::') || name.startsWith('/') || !name.includes('.') || /^val_\d+$/.test(name);
}

/** Whether AdamW's weight decay applies to this parameter, as Hugging Face Trainer groups it. */
export function decays(name: string, rank: number, readers: readonly Node[]): boolean {
  // Inside an nn.LayerNorm: the exporters write it as one LayerNormalization op (scale, bias).
  if (readers.some((n) => n.op === 'LayerNormalization' && n.inputs.indexOf(name) >= 1)) return false;
  if (isExporterName(name)) return rank >= 2;
  const lower = name.toLowerCase();
  return !NO_DECAY_NAME.some((re) => re.test(lower));
}
