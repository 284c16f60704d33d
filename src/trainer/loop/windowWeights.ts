// How much each micro-batch of a gradient-accumulation window counts. For token-level losses
// (token classification, masked and causal LM) Hugging Face Trainer 5.x passes the model
// `num_items_in_batch`, the number of target tokens in the whole window, so that the window's loss
// is the mean over all its tokens rather than the mean of the micro-batches' means; those differ
// whenever micro-batches hold different numbers of targets. Other tasks divide by the window size.

import { Batch } from '../data/collate';
import { Task, isTokenLevel } from '../programs/tasks';

/** The targets a micro-batch's loss averages over: labels not -100 (shifted left for causal LM). */
function targetCount(batch: Batch, task: Task): number {
  const labels = batch.get('labels');
  if (!labels) return 0;
  const seq = labels.dims[labels.dims.length - 1];
  let n = 0;
  for (let i = 0; i < labels.data.length; i++) {
    // Causal LM scores position t against token t + 1: the first token of each row is no target.
    if (task === 'text-generation' && i % seq === 0) continue;
    if (Number(labels.data[i]) !== -100) n++;
  }
  return n;
}

/** Each micro-batch's share of the window's loss (they sum to 1). */
export function microBatchWeights(batches: readonly Batch[], task: Task): number[] {
  const even = batches.map(() => 1 / batches.length);
  if (!isTokenLevel(task)) return even;
  const counts = batches.map((b) => targetCount(b, task));
  const total = counts.reduce((a, c) => a + c, 0);
  return total > 0 ? counts.map((c) => c / total) : even;
}
