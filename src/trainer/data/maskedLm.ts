// Hugging Face's DataCollatorForLanguageModeling masking for fill-mask on raw text: each
// non-special token is chosen with probability mlm_probability; a chosen token becomes [MASK]
// 80% of the time, a random token 10%, stays 10%; labels hold the original id at chosen positions
// and -100 elsewhere. The draws come from the counter-based generator keyed by (seed, pass,
// record line), so a resumed run masks every batch exactly as the uninterrupted run did.

import { IGNORE_INDEX } from '../programs/tasks';
import { keyOf, uniform } from '../programs/random';
import { Example } from './dataset';

export interface MaskingSpec {
  probability: number;
  maskTokenId: number;
  vocabSize: number;
  /** Ids never chosen ([CLS], [SEP], [PAD], …: the tokenizer's special tokens). */
  specialIds: ReadonlySet<number>;
  seed: number;
}

/** The example with its input_ids masked and labels set; `pass` is the epoch (-1 for evaluation). */
export function maskExample(e: Example, spec: MaskingSpec, pass: number): Example {
  const ids = e.features.get('input_ids');
  if (!ids) return e;
  const key = keyOf(spec.seed, pass, e.line);
  const data = BigInt64Array.from(ids.data as BigInt64Array);
  const labels = new Array<number>(data.length).fill(IGNORE_INDEX);
  for (let j = 0; j < data.length; j++) {
    const id = Number(data[j]);
    if (spec.specialIds.has(id) || uniform(key, 4 * j) >= spec.probability) continue;
    labels[j] = id;
    if (uniform(key, 4 * j + 1) < 0.8) data[j] = BigInt(spec.maskTokenId);
    else if (uniform(key, 4 * j + 2) < 0.5) data[j] = BigInt(Math.min(spec.vocabSize - 1, Math.floor(uniform(key, 4 * j + 3) * spec.vocabSize)));
  }
  const features = new Map(e.features);
  features.set('input_ids', { dims: ids.dims, data });
  return { ...e, features, label: labels };
}
