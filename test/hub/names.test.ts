// Reading hf:// names, choosing the ONNX file of a repository, and the Hub settings read from the
// environment as huggingface_hub reads them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { chooseOnnxFile, externalDataFiles, floatVariantOf } from '../../src/trainer/hub/modelFiles';
import { formatHubReference, parseHubReference } from '../../src/trainer/hub/reference';
import { hubSettings } from '../../src/trainer/hub/settings';

test('hf://ORG/NAME reads as the main revision with no file named', () => {
  assert.deepEqual(parseHubReference('hf://acme/tiny-bert'), { repo: 'acme/tiny-bert', revision: 'main', file: undefined });
});

test('a revision after @ and a file path after the name are both read', () => {
  assert.deepEqual(parseHubReference('hf://acme/tiny-bert@v1.0/onnx/model.onnx'), { repo: 'acme/tiny-bert', revision: 'v1.0', file: 'onnx/model.onnx' });
});

test('model.revision and model.file_name fill what the name leaves out', () => {
  assert.deepEqual(parseHubReference('acme/tiny-bert', { revision: 'dev', file: 'onnx/model.onnx' }), { repo: 'acme/tiny-bert', revision: 'dev', file: 'onnx/model.onnx' });
});

test('a name without an organization, or a file path leaving the repository, is refused', () => {
  assert.throws(() => parseHubReference('hf://tiny-bert'), /not a Hub model name; expected hf:\/\/ORG\/NAME/);
  assert.throws(() => parseHubReference('hf://acme/tiny-bert/../secrets.onnx'), /not a file path inside the repository/);
  assert.throws(() => parseHubReference('hf://acme/tiny-bert@'), /empty revision/);
});

test('a reference prints back as one hf:// name, without the default revision', () => {
  assert.equal(formatHubReference(parseHubReference('hf://acme/m@v2'), 'onnx/model.onnx'), 'hf://acme/m@v2/onnx/model.onnx');
  assert.equal(formatHubReference(parseHubReference('hf://acme/m')), 'hf://acme/m');
});

test('optimum\'s model.onnx at the root comes before transformers.js\'s onnx/model.onnx', () => {
  assert.equal(chooseOnnxFile(['onnx/model.onnx', 'model.onnx', 'config.json'], 'r'), 'model.onnx');
  assert.equal(chooseOnnxFile(['onnx/model_quantized.onnx', 'onnx/model.onnx', 'onnx/model_fp16.onnx'], 'r'), 'onnx/model.onnx');
});

test('a repository holding only quantized variants is refused with the reason', () => {
  assert.throws(() => chooseOnnxFile(['onnx/model_quantized.onnx', 'onnx/model_q4.onnx'], 'hf://acme/q'), /hf:\/\/acme\/q holds only quantized or float16 ONNX files .* training needs a float32 model/);
});

test('a named file that the repository lacks is refused, listing its ONNX files', () => {
  assert.throws(() => chooseOnnxFile(['onnx/model.onnx'], 'hf://acme/m', 'model.onnx'), /hf:\/\/acme\/m has no file model\.onnx \(its ONNX files: onnx\/model\.onnx\)/);
});

test('a variant\'s name leads to its float32 file', () => {
  assert.equal(floatVariantOf('onnx/model_quantized.onnx'), 'onnx/model.onnx');
  assert.equal(floatVariantOf('onnx/decoder_model_merged_int8.onnx'), 'onnx/decoder_model_merged.onnx');
  assert.equal(floatVariantOf('onnx/model.onnx'), undefined);
});

test('external data files in both exporters\' names, and transformers.js\'s chunks, belong to their model', () => {
  const files = ['model.onnx', 'model.onnx_data', 'onnx/model.onnx', 'onnx/model.onnx.data', 'onnx/model.onnx_data_1', 'onnx/model_fp16.onnx_data'];
  assert.deepEqual(externalDataFiles('model.onnx', files), ['model.onnx_data']);
  assert.deepEqual(externalDataFiles('onnx/model.onnx', files), ['onnx/model.onnx.data', 'onnx/model.onnx_data_1']);
});

test('HF_HOME, HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE and HF_HUB_DISABLE_PROGRESS_BARS are read as huggingface_hub reads them', () => {
  const s = hubSettings({ HF_HOME: '/tmp/hf', HF_ENDPOINT: 'http://127.0.0.1:8080/', HF_TOKEN: 'hf_x', HF_HUB_OFFLINE: 'yes' });
  assert.deepEqual(s, { cacheDir: path.join('/tmp/hf', 'hub'), endpoint: 'http://127.0.0.1:8080', token: 'hf_x', offline: true, progressBars: true });
  const d = hubSettings({ XDG_CACHE_HOME: '/tmp/xdg', HF_TOKEN_PATH: '/nonexistent/token', HF_HUB_DISABLE_PROGRESS_BARS: '1' });
  assert.deepEqual(d, { cacheDir: path.join('/tmp/xdg', 'huggingface', 'hub'), endpoint: 'https://huggingface.co', token: undefined, offline: false, progressBars: false });
});
