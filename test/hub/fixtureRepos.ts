// Fixture repositories for the local Hub: a small BERT classifier (the parity fixture's export)
// with config.json and tokenizer files, in optimum's layout or transformers.js's, and a model with
// quantized weights.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { onnx } from '../../src/trainer/onnx/generated/onnx';
import { trainWordPiece } from '../../src/trainer/text';
import { FIXTURES } from '../helpers';
import { FixtureRepo, commitId } from './hubServer';

export const BERT_ONNX = fs.readFileSync(path.join(FIXTURES, 'parity', 'bert', 'model.onnx'));

const WORDS = ['good', 'great', 'fine', 'bad', 'awful', 'poor', 'film', 'plot', 'was', 'the', 'very', 'quite'];

/** Short labelled texts in the fixture model's small vocabulary. */
export function textRecords(n: number): string[] {
  return Array.from({ length: n }, (_, i) => {
    const good = i % 2 === 0;
    const words = [WORDS[8 + (i % 4)], WORDS[6 + (i % 2)], WORDS[(good ? 0 : 3) + (i % 3)]];
    return JSON.stringify({ text: words.slice(0, 1 + (i % 3)).join(' ') + ' ' + words[2], label: good ? 1 : 0 });
  });
}

/** config.json as transformers writes it for a sequence classifier. */
export function bertConfig(extra: Record<string, unknown> = {}): Buffer {
  return Buffer.from(JSON.stringify({
    architectures: ['BertForSequenceClassification'], model_type: 'bert', problem_type: 'single_label_classification',
    id2label: { 0: 'negative', 1: 'positive' }, label2id: { negative: 0, positive: 1 }, ...extra,
  }));
}

/** The files of a BERT repository; `onnxDir` is '' (optimum) or 'onnx/' (transformers.js). */
export function bertFiles(onnxDir = ''): Record<string, Buffer> {
  // The fixture model has 50 word embeddings: a vocabulary trained on the fixture texts fits.
  const corpus = textRecords(12).map((l) => JSON.parse(l).text as string);
  const tokenizer = trainWordPiece(corpus, { vocabSize: 45, minFrequency: 1 });
  return {
    [`${onnxDir}model.onnx`]: BERT_ONNX,
    'config.json': bertConfig(),
    'tokenizer.json': Buffer.from(JSON.stringify(tokenizer)),
    'tokenizer_config.json': Buffer.from(JSON.stringify({ model_max_length: 12, do_lower_case: true, tokenizer_class: 'BertTokenizer' })),
    'special_tokens_map.json': Buffer.from(JSON.stringify({ cls_token: '[CLS]', sep_token: '[SEP]', pad_token: '[PAD]', unk_token: '[UNK]' })),
    'README.md': Buffer.from('# tiny bert\n'),
  };
}

/** A repository with one commit on main. */
export function singleCommit(files: Record<string, Buffer>, label = 'main'): FixtureRepo {
  const sha = commitId(label);
  return { refs: { main: sha }, commits: { [sha]: files } };
}

/**
 * An ONNX model whose weight is uint8 with a DequantizeLinear in front of the MatMul, as
 * onnxruntime's quantizer writes it — whatever the file is called.
 */
export function quantizedOnnx(): Buffer {
  const T = onnx.TensorProto.DataType;
  const input = (name: string, dims: number[]) => ({ name, type: { tensorType: { elemType: T.FLOAT, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'quantized',
      input: [input('features', [1, 4])],
      output: [input('logits', [1, 2])],
      initializer: [
        { name: 'classifier.weight_quantized', dataType: T.UINT8, dims: [4, 2], rawData: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]) },
        { name: 'classifier.weight_scale', dataType: T.FLOAT, dims: [], floatData: [0.1] },
        { name: 'classifier.weight_zero_point', dataType: T.UINT8, dims: [], rawData: new Uint8Array([4]) },
      ],
      node: [
        { opType: 'DequantizeLinear', input: ['classifier.weight_quantized', 'classifier.weight_scale', 'classifier.weight_zero_point'], output: ['w'], name: 'dq' },
        { opType: 'MatMul', input: ['features', 'w'], output: ['logits'], name: 'mm' },
      ],
    },
  });
  return Buffer.from(onnx.ModelProto.encode(model).finish());
}
