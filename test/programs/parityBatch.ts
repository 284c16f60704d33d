// The whole train.jsonl of a parity fixture (test/fixtures/parity/NAME), or of any fixture, as one
// batch for the prepared model's inputs, with its labels.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataType, Tensor, fromNumbers } from '../../src/trainer/onnx/tensor';
import type { prepareModel } from '../../src/trainer/programs/prepare';
import { FIXTURES } from '../helpers';

export function parityBatch(name: string, prepared: ReturnType<typeof prepareModel>): Map<string, Tensor> {
  return jsonlBatch(path.join(FIXTURES, 'parity', name, 'train.jsonl'), prepared);
}

/** The rows of a train.jsonl (a parity fixture's or an export's) as one batch. */
export function jsonlBatch(file: string, prepared: ReturnType<typeof prepareModel>): Map<string, Tensor> {
  const rows = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const batch = new Map<string, Tensor>();
  for (const input of prepared.inputs) {
    const first = rows[0][input.name];
    const dims = [rows.length];
    for (let v = first; Array.isArray(v); v = v[0]) dims.push(v.length);
    batch.set(input.name, fromNumbers(input.type, dims, rows.map((r) => r[input.name]).flat(Infinity) as number[]));
  }
  batch.set('labels', fromNumbers(DataType.INT64, [rows.length], rows.map((r) => r.labels)));
  return batch;
}
