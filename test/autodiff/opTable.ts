// The op table: every gradient rule's test cases — shapes (broadcasting included), attributes,
// samplers and precision. The gradient checks are generated from it, and a test fails when an
// operator has a rule but no entry here, or an entry but no rule.

import { AttrInput } from '../../src/trainer/onnx/graph';
import { DataType } from '../../src/trainer/onnx/tensor';
import { COMPOSITE_DOMAIN } from '../../src/trainer/autodiff/composites';

export interface InputSpec {
  shape: number[];
  kind: 'float' | 'int64' | 'bool';
  /** Differentiate with respect to this input. */
  grad?: boolean;
  /** A constant initializer (axes, shapes, labels) rather than a fed input. */
  constant?: boolean;
  values?: number[];
  sample?: (rand: () => number, index: number) => number;
  /** An omitted optional input (''), to reach later ones. */
  omitted?: boolean;
  /** Axes declared with symbolic sizes (known only at run time), as exported models declare them. */
  symbolic?: number[];
}

export interface OpCase {
  op: string;
  label: string;
  inputs: InputSpec[];
  attrs?: Record<string, AttrInput | ((t: DataType) => AttrInput)>;
  floats?: string[];
  outputs?: number;
  /** Only the first k outputs enter the loss (the rest are indices, statistics…). */
  lossOutputs?: number;
  /** float64 checks each element; float32 (ops the CPU provider lacks in float64) checks directions. */
  precision?: 'float64' | 'float32';
  tolerance?: number;
  epsilon?: number;
  opset?: number;
  /** A composite operator's domain (autodiff/composites.ts); expanded before anything runs. */
  domain?: string;
  /** Output shapes, for a composite (shape inference knows only ONNX's operators). */
  outputShapes?: number[][];
}

const f = (shape: number[], extra: Partial<InputSpec> = {}): InputSpec => ({ shape, kind: 'float', grad: true, ...extra });
const cf = (shape: number[], values: number[]): InputSpec => ({ shape, kind: 'float', constant: true, values });
const ints = (values: number[]): InputSpec => ({ shape: [values.length], kind: 'int64', constant: true, values });
/** Integers fed at run time (computed from shapes in real exports), so rules cannot read them. */
const fedInts = (values: number[]): InputSpec => ({ shape: [values.length], kind: 'int64', values });
const scalarInt = (v: number): InputSpec => ({ shape: [], kind: 'int64', constant: true, values: [v] });
const intTensor = (shape: number[], values: number[]): InputSpec => ({ shape, kind: 'int64', constant: true, values });
const boolTensor = (shape: number[], values: number[]): InputSpec => ({ shape, kind: 'bool', constant: true, values });

/** Samplers that keep away from kinks and singularities. */
const positive = (r: () => number) => 0.5 + r();
const away = (r: () => number) => (r() < 0.5 ? -1 : 1) * (0.2 + r());
const distinct = (r: () => number, i: number) => ((i * 7919) % 97) / 20 - 2.4 + r() * 0.01;
/** Uniform in [−range, range], moved at least 0.2 away from each kink. */
const awayFrom = (kinks: number[], range: number) => (r: () => number) => {
  let v = (r() * 2 - 1) * range;
  for (const k of kinks) if (Math.abs(v - k) < 0.2) v = k + (v < k ? -0.2 : 0.2);
  return v;
};

/** Seeded random shape pairs that broadcast: rank 1–4, each dim kept, set to 1, or dropped. */
function randomBroadcastPairs(seed: number, count: number): [number[], number[]][] {
  let s = seed;
  const next = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296);
  const pairs: [number[], number[]][] = [];
  for (let k = 0; k < count; k++) {
    const rank = 1 + Math.floor(next() * 4);
    const full = Array.from({ length: rank }, () => 1 + Math.floor(next() * 3));
    const a = full.map((d) => (next() < 0.3 ? 1 : d));
    const b = full.map((d) => (next() < 0.3 ? 1 : d)).slice(Math.floor(next() * rank));
    pairs.push(next() < 0.5 ? [a, b] : [b, a]);
  }
  return pairs;
}

const broadcastPairs: [number[], number[]][] = [
  [[2, 3], [2, 3]],
  [[2, 3, 4], [4]],
  [[2, 1, 4], [3, 1]],
  [[], [3]],
  ...randomBroadcastPairs(2026, 3),
];

function binary(op: string, sampleB?: (r: () => number) => number): OpCase[] {
  return broadcastPairs.map(([a, b]) => ({
    op,
    label: `[${a}] ${op} [${b}]`,
    inputs: [f(a, op === 'Pow' ? { sample: positive } : {}), f(b, sampleB ? { sample: sampleB } : {})],
  }));
}

function unary(op: string, extra: Partial<OpCase> = {}, sample?: (r: () => number) => number): OpCase[] {
  return [
    { op, label: `${op} [2,3]`, inputs: [f([2, 3], sample ? { sample } : {})], ...extra },
    { op, label: `${op} [2,1,4]`, inputs: [f([2, 1, 4], sample ? { sample } : {})], ...extra },
  ];
}

const F32: Partial<OpCase> = { precision: 'float32' };

const noRoi: InputSpec = { shape: [], kind: 'float', omitted: true };

/** Resize as torch's interpolate exports it: every coordinate mode, by scales and by sizes. */
function resizeCases(): OpCase[] {
  const byScales = (scales: number[]) => [noRoi, cf([scales.length], scales)];
  const bySizes = (sizes: number[]) => [noRoi, noRoi, ints(sizes)];
  const cases: [string, InputSpec[], Record<string, AttrInput>][] = [
    ['nearest ×2, asymmetric floor (interpolate\'s nearest)', [f([1, 2, 3, 3]), ...byScales([1, 1, 2, 2])], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }],
    ['nearest to sizes 5×7, half_pixel', [f([2, 1, 3, 4]), ...bySizes([2, 1, 5, 7])], { mode: 'nearest' }],
    ['nearest ×1.5, round_prefer_ceil', [f([1, 1, 4, 4]), ...byScales([1, 1, 1.5, 1.5])], { mode: 'nearest', nearest_mode: 'round_prefer_ceil' }],
    ['linear ×2, pytorch_half_pixel (align_corners=False)', [f([1, 2, 3, 4]), ...byScales([1, 1, 2, 2])], { mode: 'linear', coordinate_transformation_mode: 'pytorch_half_pixel' }],
    ['linear to sizes 5×7, align_corners', [f([1, 2, 3, 4]), ...bySizes([1, 2, 5, 7])], { mode: 'linear', coordinate_transformation_mode: 'align_corners' }],
    ['linear ×2.5, half_pixel', [f([1, 1, 3, 2]), ...byScales([1, 1, 2.5, 2.5])], { mode: 'linear', coordinate_transformation_mode: 'half_pixel' }],
    ['linear 1D ×3, asymmetric', [f([2, 2, 4]), ...byScales([1, 1, 3])], { mode: 'linear', coordinate_transformation_mode: 'asymmetric' }],
    ['linear downsampling ×0.5, pytorch_half_pixel', [f([1, 1, 6, 4]), ...byScales([1, 1, 0.5, 0.5])], { mode: 'linear', coordinate_transformation_mode: 'pytorch_half_pixel' }],
  ];
  cases.push(
    ['cubic ×2, half_pixel, a = −0.75 (interpolate\'s bicubic)', [f([1, 1, 4, 4]), ...byScales([1, 1, 2, 2])], { mode: 'cubic', cubic_coeff_a: -0.75, coordinate_transformation_mode: 'half_pixel' }],
    ['cubic to sizes 5×7, align_corners', [f([1, 2, 3, 4]), ...bySizes([1, 2, 5, 7])], { mode: 'cubic', cubic_coeff_a: -0.75, coordinate_transformation_mode: 'align_corners' }],
    ['cubic ×0.5 excluding outside neighbours, a = −0.5', [f([1, 1, 6, 6]), ...byScales([1, 1, 0.5, 0.5])], { mode: 'cubic', cubic_coeff_a: -0.5, exclude_outside: 1 }],
  );
  cases.push(['linear scales on the axes attribute (opset 18)', [f([1, 2, 3, 4]), ...byScales([2, 1.5])], { mode: 'linear', coordinate_transformation_mode: 'pytorch_half_pixel', axes: [2, 3] }]);
  return cases.map(([label, inputs, attrs]) => ({ op: 'Resize', label: `Resize ${label}`, inputs, attrs, floats: ['cubic_coeff_a'], ...F32 }));
}

export const opTable: OpCase[] = [
  ...binary('Add'),
  ...binary('Sub'),
  ...binary('Mul'),
  ...binary('Div', away),
  ...binary('Pow', (r) => 0.5 + r() * 2),
  { op: 'Pow', label: 'x^2 with a constant exponent', inputs: [f([2, 3]), cf([], [2])] },
  { op: 'Pow', label: 'x^3 with a constant exponent', inputs: [f([2, 3]), cf([], [3])] },
  { op: 'Sum', label: 'three inputs, broadcast', inputs: [f([2, 3]), f([3]), f([2, 1])] },
  { op: 'Min', label: 'two inputs, broadcast', inputs: [f([2, 3], { sample: distinct }), f([3], { sample: (r, i) => distinct(r, i + 11) })] },
  { op: 'Max', label: 'three inputs', inputs: [f([2, 3], { sample: distinct }), f([2, 3], { sample: (r, i) => distinct(r, i + 11) }), f([2, 3], { sample: (r, i) => distinct(r, i + 23) })] },
  { op: 'Max', label: 'two inputs, broadcast', inputs: [f([2, 3], { sample: distinct }), f([1, 3], { sample: (r, i) => distinct(r, i + 11) })] },
  { op: 'Where', label: 'condition picks x or broadcast y', inputs: [boolTensor([2, 3], [1, 0, 1, 0, 0, 1]), f([2, 3]), f([3])] },
  ...unary('Neg'),
  ...unary('Identity'),
  ...unary('Sqrt', {}, positive),
  ...unary('Reciprocal', {}, away),
  ...unary('Exp'),
  ...unary('Log', {}, positive),
  ...unary('Tanh'),
  ...unary('Sigmoid'),
  ...unary('Relu', {}, away),
  ...unary('Relu', F32, away).map((c) => ({ ...c, label: `${c.label} float32` })),
  ...unary('Abs', {}, away),
  ...unary('LeakyRelu', { ...F32, attrs: { alpha: 0.2 }, floats: ['alpha'] }, away),
  ...unary('Erf', F32),
  ...unary('Gelu', F32),
  { op: 'Gelu', label: 'Gelu tanh approximation', inputs: [f([2, 3])], attrs: { approximate: 'tanh' }, ...F32 },
  { op: 'Softmax', label: 'Softmax last axis', inputs: [f([2, 3, 4])], attrs: { axis: -1 } },
  { op: 'Softmax', label: 'Softmax axis 1', inputs: [f([2, 3, 4])], attrs: { axis: 1 } },
  { op: 'NanSafeSoftmax', label: 'NanSafeSoftmax composite', domain: COMPOSITE_DOMAIN, inputs: [f([2, 3, 4]), cf([], [0])], attrs: { axis: -1 }, outputShapes: [[2, 3, 4]] },
  {
    op: 'NanSafeSoftmax', label: 'NanSafeSoftmax composite, a fully masked row (zeros, zero gradient)', domain: COMPOSITE_DOMAIN,
    inputs: [f([2, 3], { values: [0.3, -1.2, 0.5, -Infinity, -Infinity, -Infinity] }), cf([], [0])], attrs: { axis: 1 }, outputShapes: [[2, 3]],
  },
  { op: 'LogSoftmax', label: 'LogSoftmax last axis', inputs: [f([2, 3, 4])], attrs: { axis: -1 } },
  { op: 'LogSoftmax', label: 'LogSoftmax axis 0', inputs: [f([3, 4])], attrs: { axis: 0 } },
  { op: 'Clip', label: 'Clip with min and max', inputs: [f([3, 4], { sample: (r) => (r() * 4 - 2) }), cf([], [-0.5]), cf([], [0.7])] },
  { op: 'Clip', label: 'Clip with max only', inputs: [f([3, 4], { sample: (r) => (r() * 4 - 2) }), { shape: [], kind: 'float', omitted: true }, cf([], [0.3])] },
  { op: 'Cast', label: 'Cast to the same float type', inputs: [f([2, 3])], attrs: { to: (t: DataType) => t } },
  { op: 'Cast', label: 'Cast float32 to float64', inputs: [f([2, 3])], attrs: { to: DataType.DOUBLE }, ...F32 },
  { op: 'Dropout', label: 'Dropout in inference mode', inputs: [f([2, 3]), cf([], [0.3]), { shape: [], kind: 'bool', constant: true, values: [0] }] },
  { op: 'MatMul', label: '[3,4]·[4,5]', inputs: [f([3, 4]), f([4, 5])] },
  { op: 'MatMul', label: '[2,3,4]·[4,5] shared weight', inputs: [f([2, 3, 4]), f([4, 5])] },
  { op: 'MatMul', label: '[2,3,4]·[2,4,5] batched', inputs: [f([2, 3, 4]), f([2, 4, 5])] },
  { op: 'MatMul', label: '[2,1,3,4]·[3,4,2] broadcast batch', inputs: [f([2, 1, 3, 4]), f([3, 4, 2])] },
  { op: 'MatMul', label: '[4]·[4,5] vector left', inputs: [f([4]), f([4, 5])] },
  { op: 'MatMul', label: '[3,4]·[4] vector right', inputs: [f([3, 4]), f([4])] },
  { op: 'MatMul', label: '[2,3,4]·[4] vector right, batched', inputs: [f([2, 3, 4]), f([4])] },
  { op: 'MatMul', label: '[4]·[4] dot', inputs: [f([4]), f([4])] },
  ...[[0, 0], [0, 1], [1, 0], [1, 1]].map(([ta, tb]): OpCase => ({
    op: 'Gemm',
    label: `Gemm transA=${ta} transB=${tb} alpha/beta, C [N]`,
    inputs: [f(ta ? [4, 3] : [3, 4]), f(tb ? [5, 4] : [4, 5]), f([5])],
    attrs: { transA: ta, transB: tb, alpha: 0.7, beta: 1.3 },
    floats: ['alpha', 'beta'],
  })),
  { op: 'Gemm', label: 'Gemm with C [M,N]', inputs: [f([3, 4]), f([4, 5]), f([3, 5])] },
  { op: 'Gemm', label: 'Gemm with C [1]', inputs: [f([3, 4]), f([5, 4]), f([1])], attrs: { transB: 1 } },
  { op: 'Gemm', label: 'Gemm without C', inputs: [f([3, 4]), f([4, 5])] },
  { op: 'Conv', label: 'Conv 2D with bias', inputs: [f([2, 3, 5, 5]), f([4, 3, 3, 3]), f([4])], ...F32 },
  // Outputs of up to 16 positions (these and the stride-2 and dilated cases below): the input
  // gradient is a Gemm and a col2im product (inputGradientAsGemm); larger ones a ConvTranspose.
  // From 32 output positions at stride 1 (LARGE_IMAGE): the input gradient is a Conv with the
  // flipped weight.
  { op: 'Conv', label: 'Conv stride 1 pad 1 on a 4×8 image (flipped-weight Conv, at the limit)', inputs: [f([1, 2, 4, 8]), f([2, 2, 3, 3])], attrs: { pads: [1, 1, 1, 1] }, ...F32 },
  { op: 'Conv', label: 'Conv stride 1 pad 1 on a 16×16 image (flipped-weight Conv)', inputs: [f([1, 2, 16, 16]), f([2, 2, 3, 3]), f([2])], attrs: { pads: [1, 1, 1, 1] }, ...F32 },
  { op: 'Conv', label: 'Conv stride 1 dilated, uneven pads, 17×16 output (flipped-weight Conv)', inputs: [f([1, 1, 18, 17]), f([2, 1, 3, 3])], attrs: { dilations: [2, 2], pads: [2, 1, 1, 2] }, ...F32 },
  { op: 'Conv', label: 'Conv stride 1 pad 1 on a 5×5 image (ConvTranspose)', inputs: [f([1, 2, 5, 5]), f([2, 2, 3, 3])], attrs: { pads: [1, 1, 1, 1] }, ...F32 },
  // The weight gradient's two product forms (PER_IMAGE_POSITIONS_PER_CHANNEL): per image and summed, and one for the batch.
  { op: 'Conv', label: 'Conv stride 2 on 2 images of 12×10 (weight gradient per image, summed)', inputs: [f([2, 2, 12, 10]), f([2, 2, 3, 3]), f([2])], attrs: { strides: [2, 2], pads: [1, 1, 1, 1] }, ...F32 },
  { op: 'Conv', label: 'Conv stride 1 pad 1, 2 images of 5×5 into 4 channels (weight gradient as one product)', inputs: [f([2, 2, 5, 5]), f([4, 2, 3, 3])], attrs: { pads: [1, 1, 1, 1] }, ...F32 },
  { op: 'Conv', label: 'Conv stride 1 pad 1 on a small image (a ResNet 3×3)', inputs: [f([2, 3, 4, 4]), f([4, 3, 3, 3])], attrs: { pads: [1, 1, 1, 1] }, ...F32 },
  { op: 'Conv', label: 'Conv stride 1 uneven pads, non-square kernel', inputs: [f([2, 2, 3, 3]), f([3, 2, 3, 2]), f([3])], attrs: { pads: [0, 1, 2, 0] }, ...F32 },
  { op: 'Conv', label: 'Conv 1×1 stride 1', inputs: [f([2, 3, 3, 3]), f([2, 3, 1, 1])], ...F32 },
  { op: 'Conv', label: 'Conv stride 2 pad 1', inputs: [f([2, 2, 6, 6]), f([3, 2, 3, 3]), f([3])], attrs: { strides: [2, 2], pads: [1, 1, 1, 1] }, ...F32 },
  // Few input channels at stride 2: the weight gradient's im2col rows are runs of 2 pixels, 4 per
  // 7-wide window, and X gets an extra right column for the last window (17 + 6 → 24 wide).
  { op: 'Conv', label: 'Conv 7×7 stride 2 pad 3 on 3 channels (an RGB stem: im2col rows by pixel pairs)', inputs: [f([2, 3, 20, 17]), f([4, 3, 7, 7])], attrs: { strides: [2, 2], pads: [3, 3, 3, 3] }, ...F32 },
  { op: 'Conv', label: 'Conv stride 2 odd size', inputs: [f([1, 2, 7, 6]), f([3, 2, 3, 2])], attrs: { strides: [2, 2], pads: [0, 1, 0, 0] }, ...F32 },
  { op: 'Conv', label: 'Conv dilation 2', inputs: [f([2, 2, 7, 7]), f([2, 2, 3, 3])], attrs: { dilations: [2, 2] }, ...F32 },
  { op: 'Conv', label: 'Conv groups 2', inputs: [f([2, 4, 5, 5]), f([6, 2, 3, 3]), f([6])], attrs: { group: 2, pads: [1, 1, 1, 1] }, ...F32 },
  { op: 'Conv', label: 'Conv depthwise with symbolic batch and spatial sizes', inputs: [f([2, 3, 5, 4], { symbolic: [0, 2, 3] }), f([3, 1, 3, 3]), f([3])], attrs: { group: 3, pads: [1, 1, 1, 1] }, ...F32 },
  { op: 'Add', label: 'Add broadcast over symbolic dims (run-time reduction)', inputs: [f([2, 3, 4], { symbolic: [0, 1] }), f([1, 3, 1], { symbolic: [0, 2] })] },
  { op: 'Conv', label: 'Conv depthwise', inputs: [f([2, 3, 5, 5]), f([3, 1, 3, 3])], attrs: { group: 3 }, ...F32 },
  { op: 'Conv', label: 'Conv 1D', inputs: [f([2, 3, 8]), f([4, 3, 3]), f([4])], attrs: { strides: [2], pads: [1, 1] }, ...F32 },
  { op: 'Conv', label: 'Conv 1×1 stride 2 (a ResNet shortcut)', inputs: [f([2, 3, 5, 5]), f([4, 3, 1, 1])], attrs: { strides: [2, 2] }, ...F32 },
  { op: 'Conv', label: 'Conv 1×1 stride 2 on an even height (ConvTranspose with output_padding on one axis)', inputs: [f([2, 3, 12, 9]), f([4, 3, 1, 1])], attrs: { strides: [2, 2] }, ...F32 },
  // Symbolic spatial sizes: the weight gradient cannot be an im2col product and is a Conv over transposed tensors.
  { op: 'Conv', label: 'Conv 2D with symbolic spatial sizes', inputs: [f([2, 2, 5, 4], { symbolic: [0, 2, 3] }), f([3, 2, 3, 3]), f([3])], attrs: { pads: [1, 1, 1, 1] }, ...F32 },
  { op: 'Conv', label: 'Conv auto_pad SAME_UPPER', inputs: [f([1, 2, 5, 5]), f([2, 2, 3, 3])], attrs: { auto_pad: 'SAME_UPPER', strides: [2, 2] }, ...F32 },
  { op: 'MaxPool', label: 'MaxPool 2x2 stride 2', inputs: [f([2, 2, 4, 4], { sample: distinct })], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
  { op: 'MaxPool', label: 'MaxPool 3x3 stride 2 pad 1', inputs: [f([1, 2, 5, 5], { sample: distinct })], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] } },
  { op: 'AveragePool', label: 'AveragePool 2x2 stride 2', inputs: [f([2, 2, 4, 4])], attrs: { kernel_shape: [2, 2], strides: [2, 2] }, ...F32 },
  { op: 'AveragePool', label: 'AveragePool 2x2 stride 2 on an odd height (the last row unread: output_padding)', inputs: [f([2, 2, 5, 4])], attrs: { kernel_shape: [2, 2], strides: [2, 2] }, ...F32 },
  { op: 'AveragePool', label: 'AveragePool 3x3 pad 1 excluding pads', inputs: [f([1, 2, 5, 5])], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, ...F32 },
  { op: 'AveragePool', label: 'AveragePool 3x3 pad 1 counting pads', inputs: [f([1, 2, 5, 5])], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], count_include_pad: 1, strides: [2, 2] }, ...F32 },
  { op: 'GlobalAveragePool', label: 'GlobalAveragePool', inputs: [f([2, 3, 4, 5])], ...F32 },
  {
    op: 'BatchNormalization', label: 'BatchNormalization training_mode 1',
    inputs: [f([4, 3, 2, 2]), f([3], { sample: positive }), f([3]), f([3], { grad: false }), f([3], { grad: false, sample: positive })],
    attrs: { training_mode: 1, epsilon: 1e-5 }, floats: ['epsilon'], outputs: 3, lossOutputs: 1,
  },
  {
    op: 'BatchNormalization', label: 'BatchNormalization training_mode 0',
    inputs: [f([4, 3, 2, 2]), f([3], { sample: positive }), f([3]), f([3], { grad: false }), f([3], { grad: false, sample: positive })],
    attrs: { training_mode: 0, epsilon: 1e-5 }, floats: ['epsilon'],
  },
  { op: 'BatchNormalization', label: 'BatchNormalization 2-D input, training', inputs: [f([5, 3]), f([3]), f([3]), f([3], { grad: false }), f([3], { grad: false, sample: positive })], attrs: { training_mode: 1 }, outputs: 3, lossOutputs: 1 },
  // SmallConv: Conv's rule, expanded to one Gemm over the batch (programs/smallConv.ts).
  { op: 'SmallConv', label: 'SmallConv composite, 3×3 pad 1 with bias', domain: COMPOSITE_DOMAIN, inputs: [f([2, 3, 2, 2]), f([4, 3, 3, 3]), f([4])], attrs: { pads: [1, 1, 1, 1] }, outputShapes: [[2, 4, 2, 2]] },
  { op: 'SmallConv', label: 'SmallConv composite, stride 2, uneven pads', domain: COMPOSITE_DOMAIN, inputs: [f([2, 2, 4, 3]), f([3, 2, 3, 2])], attrs: { strides: [2, 2], pads: [1, 0, 0, 1] }, outputShapes: [[2, 3, 2, 2]] },
  { op: 'SmallConv', label: 'SmallConv composite, 1×1', domain: COMPOSITE_DOMAIN, inputs: [f([3, 4, 1, 2]), f([2, 4, 1, 1])], outputShapes: [[3, 2, 1, 2]] },
  {
    op: 'BatchNormTraining', label: 'BatchNormTraining composite (x, scale, bias → y, mean, variance)', domain: COMPOSITE_DOMAIN,
    inputs: [f([4, 3, 2, 2]), f([3], { sample: positive }), f([3])], attrs: { epsilon: 1e-5 }, floats: ['epsilon'],
    outputs: 3, lossOutputs: 1, outputShapes: [[4, 3, 2, 2], [1, 3, 1, 1], [1, 3, 1, 1]],
  },
  {
    op: 'BatchNormTraining', label: 'BatchNormTraining composite, 2-D input', domain: COMPOSITE_DOMAIN,
    inputs: [f([5, 3]), f([3]), f([3])], outputs: 3, lossOutputs: 1, outputShapes: [[5, 3], [1, 3], [1, 3]],
  },
  // Ranks 3 and 5 reduce each sample's positions, then the batch (rules/norm.ts, reduceInTwo).
  {
    op: 'BatchNormTraining', label: 'BatchNormTraining composite, 3-D input', domain: COMPOSITE_DOMAIN,
    inputs: [f([3, 2, 5]), f([2], { sample: positive }), f([2])], outputs: 3, lossOutputs: 1, outputShapes: [[3, 2, 5], [1, 2, 1], [1, 2, 1]],
  },
  {
    op: 'BatchNormTraining', label: 'BatchNormTraining composite, 5-D input', domain: COMPOSITE_DOMAIN,
    inputs: [f([2, 2, 2, 3, 2]), f([2], { sample: positive }), f([2])], outputs: 3, lossOutputs: 1, outputShapes: [[2, 2, 2, 3, 2], [1, 2, 1, 1, 1], [1, 2, 1, 1, 1]],
  },
  { op: 'LayerNormalization', label: 'LayerNormalization last axis', inputs: [f([2, 3, 4]), f([4]), f([4])], attrs: { axis: -1, epsilon: 1e-5 }, floats: ['epsilon'], ...F32 },
  { op: 'LayerNormalization', label: 'LayerNormalization axis 1', inputs: [f([2, 3, 4]), f([3, 4]), f([3, 4])], attrs: { axis: 1 }, ...F32 },
  { op: 'LayerNormalization', label: 'LayerNormalization without bias', inputs: [f([3, 5]), f([5])], ...F32 },
  { op: 'Reshape', label: 'Reshape with -1', inputs: [f([2, 3, 4]), ints([-1, 4])] },
  { op: 'Reshape', label: 'Reshape with 0', inputs: [f([2, 3, 4]), ints([0, 12])] },
  { op: 'Flatten', label: 'Flatten axis 2', inputs: [f([2, 3, 4])], attrs: { axis: 2 } },
  { op: 'Transpose', label: 'Transpose perm [2,0,1]', inputs: [f([2, 3, 4])], attrs: { perm: [2, 0, 1] } },
  { op: 'Transpose', label: 'Transpose default', inputs: [f([2, 3])] },
  { op: 'Squeeze', label: 'Squeeze axis 1', inputs: [f([2, 1, 3]), ints([1])] },
  { op: 'Unsqueeze', label: 'Unsqueeze axes [0,2]', inputs: [f([2, 3]), ints([0, 2])] },
  { op: 'Expand', label: 'Expand [3,1] to [2,3,4]', inputs: [f([3, 1]), ints([2, 3, 4])] },
  { op: 'Concat', label: 'Concat three inputs, axis 1', inputs: [f([2, 1]), f([2, 3]), f([2, 2], { grad: false })], attrs: { axis: 1 } },
  { op: 'Concat', label: 'Concat axis -1', inputs: [f([2, 2, 1]), f([2, 2, 2])], attrs: { axis: -1 } },
  { op: 'Split', label: 'Split by sizes', inputs: [f([2, 6]), ints([2, 4])], attrs: { axis: 1 }, outputs: 2 },
  { op: 'Split', label: 'Split evenly, one output unused', inputs: [f([6, 2])], attrs: { axis: 0, num_outputs: 3 }, outputs: 3, lossOutputs: 2 },
  { op: 'Slice', label: 'Slice two axes', inputs: [f([4, 5]), ints([1, 0]), ints([3, -1]), ints([0, 1])] },
  { op: 'Slice', label: 'Slice to the end from a negative start', inputs: [f([3, 5]), ints([-2]), ints([2 ** 53]), ints([1])] },
  { op: 'Gather', label: 'Gather embedding rows, repeated ids', inputs: [f([5, 3]), intTensor([2, 4], [0, 2, 2, 4, 1, 0, 4, 4])], attrs: { axis: 0 } },
  { op: 'Gather', label: 'Gather axis 1 with a scalar index', inputs: [f([2, 3, 4]), scalarInt(0)], attrs: { axis: 1 } },
  { op: 'Gather', label: 'Gather negative indices', inputs: [f([4, 2]), intTensor([3], [-1, 0, -1])], attrs: { axis: 0 } },
  { op: 'GatherElements', label: 'GatherElements axis 1', inputs: [f([3, 4]), intTensor([3, 2], [0, 3, 1, 1, 2, 0])], attrs: { axis: 1 } },
  { op: 'ReduceSum', label: 'ReduceSum axes [0,2]', inputs: [f([2, 3, 4]), ints([0, 2])], attrs: { keepdims: 0 } },
  { op: 'ReduceSum', label: 'ReduceSum all, keepdims', inputs: [f([2, 3])] },
  { op: 'ReduceMean', label: 'ReduceMean axis 1 keepdims', inputs: [f([2, 3, 4]), ints([1])], attrs: { keepdims: 1 } },
  { op: 'ReduceMean', label: 'ReduceMean axis -1', inputs: [f([2, 3, 4]), ints([-1])], attrs: { keepdims: 0 } },
  { op: 'ReduceMean', label: 'ReduceMean all', inputs: [f([2, 3])], attrs: { keepdims: 0 } },
  { op: 'ReduceSumSquare', label: 'ReduceSumSquare axis 1', inputs: [f([2, 3]), ints([1])], attrs: { keepdims: 0 } },
  ...unary('Sin'),
  ...unary('Cos'),
  ...unary('Tan', F32, (r) => r() * 2 - 1),
  ...unary('Sinh', F32),
  ...unary('Cosh', F32),
  ...unary('Atan', F32),
  ...unary('Softplus', F32),
  ...unary('HardSigmoid', { ...F32, attrs: { alpha: 1 / 6, beta: 0.5 }, floats: ['alpha', 'beta'] }, awayFrom([-3, 3], 6)),
  { op: 'HardSigmoid', label: 'HardSigmoid default alpha and beta', inputs: [f([3, 4], { sample: awayFrom([-2.5, 2.5], 4) })], ...F32 },
  ...unary('HardSwish', F32, awayFrom([-3, 3], 6)),
  { op: 'CastLike', label: 'CastLike to the same float type', inputs: [f([2, 3]), cf([], [0])] },
  { op: 'Trilu', label: 'Trilu upper', inputs: [f([3, 4])] },
  { op: 'Trilu', label: 'Trilu lower with k=1, batched', inputs: [f([2, 3, 4]), scalarInt(1)], attrs: { upper: 0 } },
  { op: 'Slice', label: 'Slice with starts and ends fed at run time, to the end', inputs: [f([3, 6]), fedInts([1, 2]), fedInts([3, 2 ** 62]), ints([0, 1])] },
  { op: 'Slice', label: 'Slice with negative starts fed at run time', inputs: [f([2, 5]), fedInts([-3]), fedInts([-1]), ints([1])] },
  { op: 'Slice', label: 'Slice every second row and column (patch merging)', inputs: [f([5, 6]), ints([0, 1]), ints([2 ** 53, 2 ** 53]), ints([0, 1]), ints([2, 2])] },
  { op: 'Slice', label: 'Slice backwards with step -2', inputs: [f([3, 7]), ints([-1]), ints([-(2 ** 53)]), ints([1]), ints([-2])] },
  { op: 'Slice', label: 'Slice with step 3 fed at run time', inputs: [f([2, 8]), fedInts([1]), fedInts([8]), ints([1]), fedInts([3])] },
  { op: 'Tile', label: 'Tile with repeats fed at run time', inputs: [f([2, 3]), fedInts([2, 2])] },
  { op: 'Pad', label: 'Pad constant with pads fed at run time', inputs: [f([2, 3]), fedInts([1, 0, 0, 2])] },
  { op: 'Tile', label: 'Tile [2,3] by [2,1]', inputs: [f([2, 3]), ints([2, 1])] },
  { op: 'Tile', label: 'Tile [2,1,3] by [1,3,2]', inputs: [f([2, 1, 3]), ints([1, 3, 2])] },
  { op: 'Pad', label: 'Pad constant', inputs: [f([2, 3]), ints([1, 0, 2, 1]), cf([], [0.5])] },
  { op: 'Pad', label: 'Pad constant with a negative pad (crop)', inputs: [f([3, 4]), ints([0, -1, 1, 0])] },
  { op: 'Pad', label: 'Pad reflect on axes [2,3]', inputs: [f([1, 2, 4, 5]), ints([2, 1, 1, 3]), { shape: [], kind: 'float', omitted: true }, ints([2, 3])], attrs: { mode: 'reflect' } },
  { op: 'Pad', label: 'Pad edge', inputs: [f([2, 3, 4]), ints([0, 2, 1, 0, 1, 3])], attrs: { mode: 'edge' } },
  { op: 'Pad', label: 'Pad wrap, a pad as wide as its axis', inputs: [f([2, 3, 4]), ints([0, 3, 3, 0, 2, 1])], attrs: { mode: 'wrap' }, opset: 19 },
  { op: 'GatherND', label: 'GatherND index pairs, one repeated, one negative', inputs: [f([3, 4, 2]), intTensor([3, 2], [0, 1, 2, -1, 0, 1])] },
  { op: 'GatherND', label: 'GatherND batch_dims 1 (last-token pooling)', inputs: [f([2, 3, 4]), intTensor([2, 1], [2, 0])], attrs: { batch_dims: 1 } },
  { op: 'GatherND', label: 'GatherND batch_dims 1, two picks per row', inputs: [f([2, 3, 4]), intTensor([2, 2, 1], [2, 2, 0, 1])], attrs: { batch_dims: 1 } },
  { op: 'ScatterND', label: 'ScatterND rows overwrite data', inputs: [f([4, 3]), intTensor([2, 1], [1, 3]), f([2, 3])] },
  { op: 'ScatterND', label: 'ScatterND elements added', inputs: [f([3, 3]), intTensor([2, 2], [0, 1, 2, 2]), f([2])], attrs: { reduction: 'add' } },
  { op: 'Einsum', label: 'Einsum ij,jk->ik', inputs: [f([3, 4]), f([4, 5])], attrs: { equation: 'ij,jk->ik' } },
  { op: 'Einsum', label: 'Einsum batched attention scores', inputs: [f([2, 3, 4]), f([2, 5, 4])], attrs: { equation: 'bid,bjd->bij' } },
  { op: 'Einsum', label: 'Einsum with ellipsis', inputs: [f([2, 3, 4]), f([4, 2])], attrs: { equation: '...ij,jk->...ik' } },
  { op: 'Einsum', label: 'Einsum implicit output', inputs: [f([3, 4]), f([4, 5])], attrs: { equation: 'ij,jk' } },
  { op: 'Einsum', label: 'Einsum a letter only one operand sums', inputs: [f([3, 4]), f([3])], attrs: { equation: 'ij,i->i' } },
  { op: 'Einsum', label: 'Einsum full contraction', inputs: [f([3, 4]), f([3, 4])], attrs: { equation: 'ij,ij->' } },
  { op: 'Einsum', label: 'Einsum of one operand: sum an axis and transpose', inputs: [f([2, 3, 4])], attrs: { equation: 'ijk->ki' } },
  { op: 'ReduceMax', label: 'ReduceMax axis 1', inputs: [f([2, 3, 4], { sample: distinct }), ints([1])], attrs: { keepdims: 0 } },
  { op: 'ReduceMax', label: 'ReduceMax all, keepdims', inputs: [f([2, 3], { sample: distinct })] },
  { op: 'ReduceMin', label: 'ReduceMin axes [0,2]', inputs: [f([2, 3, 4], { sample: distinct }), ints([0, 2])], attrs: { keepdims: 1 } },
  { op: 'ReduceL2', label: 'ReduceL2 axis -1', inputs: [f([2, 3, 4]), ints([-1])], attrs: { keepdims: 0 } },
  { op: 'ReduceL2', label: 'ReduceL2 all', inputs: [f([2, 3])] },
  { op: 'ReduceLogSumExp', label: 'ReduceLogSumExp axis 1', inputs: [f([2, 3, 4]), ints([1])], attrs: { keepdims: 0 } },
  { op: 'ReduceLogSumExp', label: 'ReduceLogSumExp all, keepdims', inputs: [f([2, 3])] },
  ...resizeCases(),
  { op: 'ConvTranspose', label: 'ConvTranspose 2D with bias', inputs: [f([2, 2, 4, 4]), f([2, 3, 3, 3]), f([3])], ...F32 },
  {
    op: 'ConvTranspose', label: 'ConvTranspose stride 2 pad 1 output_padding 1',
    inputs: [f([1, 2, 3, 4]), f([2, 2, 3, 3]), f([2])], attrs: { strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] }, ...F32,
  },
  { op: 'ConvTranspose', label: 'ConvTranspose groups 2, dilation 2', inputs: [f([2, 4, 3, 3]), f([4, 1, 2, 2])], attrs: { group: 2, dilations: [2, 2] }, ...F32 },
  { op: 'ConvTranspose', label: 'ConvTranspose 1D stride 2', inputs: [f([2, 3, 5]), f([3, 2, 4]), f([2])], attrs: { strides: [2], pads: [1, 1] }, ...F32 },
  { op: 'InstanceNormalization', label: 'InstanceNormalization 2D', inputs: [f([2, 3, 2, 3]), f([3], { sample: positive }), f([3])], attrs: { epsilon: 1e-5 }, floats: ['epsilon'], ...F32 },
  { op: 'InstanceNormalization', label: 'InstanceNormalization 1D', inputs: [f([2, 3, 5]), f([3]), f([3])], ...F32 },
  {
    op: 'GroupNormalization', label: 'GroupNormalization opset 18 (scale per group)',
    inputs: [f([2, 4, 3, 2]), f([2], { sample: positive }), f([2])], attrs: { num_groups: 2, epsilon: 1e-5 }, floats: ['epsilon'],
  },
  {
    op: 'GroupNormalization', label: 'GroupNormalization opset 21 (scale per channel)',
    // Opset 21 computes its statistics in float32 (stash_type 1) even for float64 inputs.
    inputs: [f([2, 4, 3, 2]), f([4], { sample: positive }), f([4])], attrs: { num_groups: 2 }, opset: 21, ...F32,
  },
  {
    op: 'SoftmaxCrossEntropyLoss', label: 'cross-entropy, mean',
    inputs: [f([4, 3]), intTensor([4], [0, 2, 1, 2])], outputs: 2, lossOutputs: 1,
  },
  {
    op: 'SoftmaxCrossEntropyLoss', label: 'cross-entropy with class weights and an ignored target',
    inputs: [f([5, 3]), intTensor([5], [0, 2, -100, 1, 2]), cf([3], [1, 2, 0.5])], attrs: { ignore_index: -100 }, outputs: 2, lossOutputs: 1,
  },
  {
    op: 'SoftmaxCrossEntropyLoss', label: 'cross-entropy, sum, spatial',
    inputs: [f([2, 3, 2]), intTensor([2, 2], [0, 2, 1, 1])], attrs: { reduction: 'sum' }, outputs: 2, lossOutputs: 1,
  },
  {
    op: 'SoftmaxCrossEntropyLoss', label: 'cross-entropy, loss and log_prob outputs both used',
    inputs: [f([3, 4]), intTensor([3], [3, 0, 1])], outputs: 2,
  },
  {
    op: 'SoftmaxCrossEntropyLoss', label: 'cross-entropy, none',
    inputs: [f([3, 4]), intTensor([3], [3, 0, 1])], attrs: { reduction: 'none' }, outputs: 2, lossOutputs: 1,
  },
];
