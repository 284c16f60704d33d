// peft's adapter files: adapter_model.safetensors (the LoRA tensors under peft's names,
// float32) and adapter_config.json (LoraConfig's keys), as PeftModel.save_pretrained writes them,
// so that Python's PeftModel.from_pretrained loads what Trainer saved and Trainer starts from what
// peft saved.

import { writeFileDurably } from '../io/durable';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodeSafetensors, readSafetensors } from '../onnx/safetensors';
import { Tensor } from '../onnx/tensor';
import { LoraError, LoraModel, adapterTensorNames } from './lora';

export const ADAPTER_WEIGHTS_FILE = 'adapter_model.safetensors';
export const ADAPTER_CONFIG_FILE = 'adapter_config.json';


/** The LoRA tensors of a peft adapter file (the initial adapter of a run). */
export function readAdapterWeights(file: string): Map<string, Tensor> {
  if (!fs.existsSync(file)) throw new LoraError(`${file}: adapter file not found`);
  try {
    return readSafetensors(file).tensors;
  } catch (e) {
    throw new LoraError(`${file}: not a readable safetensors file (${(e as Error).message})`);
  }
}

/**
 * adapter_config.json with every key peft 0.21's LoraConfig saves, so peft reads it without
 * falling back to defaults; the features Trainer does not implement (DoRA, LoftQ, …) say off.
 */
export function adapterConfigJson(lora: LoraModel): Record<string, unknown> {
  const c = lora.config;
  return {
    alora_invocation_tokens: null,
    alpha_pattern: {},
    arrow_config: null,
    auto_mapping: null,
    base_model_name_or_path: null,
    bias: 'none',
    corda_config: null,
    ensure_weight_tying: false,
    eva_config: null,
    exclude_modules: null,
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    kasa_config: null,
    layer_replication: null,
    layers_pattern: null,
    layers_to_transform: null,
    loftq_config: {},
    lora_alpha: c.lora_alpha,
    lora_bias: false,
    lora_dropout: c.lora_dropout,
    lora_ga_config: null,
    megatron_config: null,
    megatron_core: 'megatron.core',
    modules_to_save: null,
    monteclora_config: null,
    peft_type: 'LORA',
    // The version of peft whose file format this is (the fixtures were written by it).
    peft_version: '0.21.0',
    qalora_group_size: 16,
    r: c.r,
    rank_pattern: {},
    revision: null,
    target_modules: c.target_modules,
    target_parameters: null,
    task_type: null,
    trainable_token_indices: null,
    use_bdlora: null,
    use_dora: false,
    use_qalora: false,
    use_rslora: c.use_rslora,
    velora_config: null,
  };
}

/** Writes adapter_model.safetensors + adapter_config.json of the current LoRA tensors into `dir`. */
export function writeAdapterFiles(dir: string, lora: LoraModel, tensors: Map<string, Tensor>): void {
  const weights = new Map<string, Tensor>();
  for (const name of adapterTensorNames(lora)) {
    const t = tensors.get(name);
    if (!t) throw new Error(`LoRA tensor "${name}" is missing from the training state`);
    weights.set(name, t);
  }
  writeFileDurably(path.join(dir, ADAPTER_WEIGHTS_FILE), encodeSafetensors(weights, { format: 'pt' }).chunks);
  writeFileDurably(path.join(dir, ADAPTER_CONFIG_FILE), JSON.stringify(adapterConfigJson(lora), null, 2) + '\n');
}
