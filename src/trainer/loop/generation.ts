// Text generation for predict on a causal LM: each prompt is extended one token at a time by
// running the predict step on the whole sequence so far (no key/value cache: the graph is the
// user's, and these models are small), choosing the next token greedily or by sampling with
// temperature, top-k and top-p as Hugging Face's generate() does. Sampling draws from the
// counter-based generator keyed by (seed, prompt, position), so predictions repeat exactly.

import { DataType, Tensor } from '../onnx/tensor';
import { ValueInfo } from '../onnx/graph';
import { Dataset } from '../data/dataset';
import { EvalRunner, TrainingState } from '../programs/executor';
import { keyOf, uniform } from '../programs/random';
import { PreparedModel } from '../programs/prepare';
import { SessionOptions } from '../programs/session';
import type { GenerationConfig } from '../config/config';

/** Hugging Face GenerationConfig's names and defaults (config.ts's GENERATION_FIELDS). */
export type { GenerationConfig };

export interface Generated {
  /** Prompt ids (trailing special tokens removed) followed by the new ids. */
  prompt_ids: number[];
  new_ids: number[];
}

/** Ids a prompt ends with that generation continues past: [SEP] and the like are dropped. */
function trimPrompt(ids: number[], special: ReadonlySet<number>): number[] {
  let end = ids.length;
  while (end > 1 && special.has(ids[end - 1])) end--;
  return ids.slice(0, end);
}

/** The next token from one row of logits. */
export function nextToken(logits: Float32Array, cfg: GenerationConfig, key: number): number {
  if (!cfg.do_sample) return logits.reduce((best, v, i) => (v > logits[best] ? i : best), 0);
  const order = Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a]);
  const kept = cfg.top_k > 0 ? order.slice(0, cfg.top_k) : order;
  const max = logits[kept[0]];
  const weights = kept.map((i) => Math.exp((logits[i] - max) / cfg.temperature));
  const total = weights.reduce((a, b) => a + b, 0);
  // top-p keeps the smallest head of the sorted distribution whose mass reaches top_p.
  let mass = 0;
  let n = 0;
  while (n < kept.length && (n === 0 || mass < cfg.top_p * total)) mass += weights[n++];
  let u = uniform(key, 0) * mass;
  for (let i = 0; i < n; i++) {
    u -= weights[i];
    if (u < 0) return kept[i];
  }
  return kept[n - 1];
}

function int64(ids: number[], fill?: number): Tensor {
  return { type: DataType.INT64, dims: [1, ids.length], data: BigInt64Array.from(ids, (v) => BigInt(fill ?? v)) };
}

/** Continues every example's input_ids with the weights in `state`, on a predict session of its own. */
export async function generateText(prepared: PreparedModel, state: TrainingState, data: Dataset, cfg: GenerationConfig,
  special: { ids: ReadonlySet<number>; eosId?: number; seed: number }, session: SessionOptions = {}): Promise<Generated[]> {
  const runner = await EvalRunner.create(prepared, undefined, session);
  try {
    return await generate(runner, state, data, prepared.inputs, cfg, special);
  } finally {
    await runner.release();
  }
}

/** Continues every example's input_ids; stops at `eosId` or after max_new_tokens. */
export async function generate(runner: EvalRunner, state: TrainingState, data: Dataset, inputs: readonly ValueInfo[], cfg: GenerationConfig,
  special: { ids: ReadonlySet<number>; eosId?: number; seed: number }): Promise<Generated[]> {
  const out: Generated[] = [];
  for (let i = 0; i < data.size; i++) {
    const example = data.example(i);
    // Padding (attention_mask 0) is not part of the prompt.
    const mask = example.features.get('attention_mask')?.data;
    const tokens = Array.from(example.features.get('input_ids')!.data, Number).filter((_, j) => !mask || Number(mask[j]) === 1);
    const prompt = trimPrompt(tokens, special.ids);
    const ids = [...prompt];
    for (let t = 0; t < cfg.max_new_tokens; t++) {
      const batch = new Map<string, Tensor>([['input_ids', int64(ids)]]);
      if (inputs.some((x) => x.name === 'attention_mask')) batch.set('attention_mask', int64(ids, 1));
      if (inputs.some((x) => x.name === 'token_type_ids')) batch.set('token_type_ids', int64(ids, 0));
      const logits = (await runner.run(state, batch)).logits!;
      const vocab = logits.dims[logits.dims.length - 1];
      const last = (logits.data as Float32Array).subarray((ids.length - 1) * vocab, ids.length * vocab);
      const next = nextToken(last, cfg, keyOf(special.seed, i, t));
      ids.push(next);
      if (next === special.eosId) break;
    }
    out.push({ prompt_ids: prompt, new_ids: ids.slice(prompt.length) });
  }
  return out;
}
