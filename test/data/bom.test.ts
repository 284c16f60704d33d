// Data files saved by Windows editors start with a UTF-8 byte order mark; it is not part of the
// first record.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runCli, tempDir, writeConfig } from '../helpers';

const BOM = '\ufeff';

function trainOn(file: string, text: string, streaming: boolean) {
  const dir = tempDir('bom');
  fs.writeFileSync(path.join(dir, file), text);
  return runCli(['train', writeConfig(dir, {
    model: { builtin: 'mlp', hidden_sizes: [4], num_labels: 2 },
    data: { train: file, streaming },
    training: { output_dir: 'out', max_steps: 1, per_device_train_batch_size: 2, save_strategy: 'no', report_to: 'none' },
  })]);
}

const records = Array.from({ length: 4 }, (_, i) => ({ features: [i, -i], labels: i % 2 }));

for (const streaming of [false, true]) {
  test(`a JSONL file with a byte order mark is read${streaming ? ' (streamed)' : ''}`, () => {
    const r = trainOn('train.jsonl', BOM + records.map((x) => JSON.stringify(x)).join('\n') + '\n', streaming);
    assert.equal(r.code, 0, r.stderr);
  });

  test(`a CSV file with a byte order mark is read${streaming ? ' (streamed)' : ''}`, () => {
    const r = trainOn('train.csv', BOM + 'features,labels\n' + records.map((x) => `"[${x.features}]",${x.labels}`).join('\n') + '\n', streaming);
    assert.equal(r.code, 0, r.stderr);
  });
}

test('a JSON file with a byte order mark is read', () => {
  const r = trainOn('train.json', BOM + JSON.stringify(records), false);
  assert.equal(r.code, 0, r.stderr);
});
