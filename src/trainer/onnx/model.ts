// Reads and writes ONNX model files (protobuf via protobufjs's generated bindings), including
// tensors kept in external-data files, and converts between GraphProto and the engine's Graph.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { Writer } from 'protobufjs/minimal';
import { onnx } from './generated/onnx';
import { Attribute, Dim, Graph, Node, ValueInfo } from './graph';
import { QuantizedWeight, findQuantizedWeight } from './quantized';
import { DataType, Tensor, allocate, bytesPerElement, fromBytes, sizeOf, toBytes, typeName } from './tensor';
import { readFully, writeFileDurably } from '../io/durable';

/** A loaded model: the decoded proto (kept for metadata on export, without its graph) and the editable graph. */
export interface Model {
  path: string;
  proto: onnx.ModelProto;
  graph: Graph;
}

export class ModelFormatError extends Error {}

/** A model whose weights are quantized integers: gradient steps cannot train them. */
export class QuantizedModelError extends ModelFormatError {
  constructor(readonly file: string, readonly weight: QuantizedWeight) {
    super(`${file} holds quantized weights (${describeQuantizedWeight(weight)}); training needs the float32 model`);
  }
}

/** "int8 initializer "w" read by MatMulInteger", for messages. */
export function describeQuantizedWeight(w: QuantizedWeight): string {
  return `${w.type} initializer "${w.initializer}" read by ${w.op}`;
}

/** Protobuf cannot hold a message of 2 GiB: no ONNX file is this big or bigger. */
export const PROTOBUF_LIMIT = 2 ** 31;

/** Loads an ONNX file, resolving external-data tensors relative to its folder. */
export function loadModel(file: string): Model {
  // Protobuf cannot hold 2 GiB: models that large keep their weights in external data files and
  // their .onnx stays small. A bigger .onnx is not a valid ONNX file, whatever wrote it.
  if (fs.statSync(file).size >= PROTOBUF_LIMIT) {
    throw new ModelFormatError(`${file} is over 2 GB, more than an ONNX (protobuf) file can hold; export it with its weights as external data (optimum does so for large models; torch.onnx.export(..., external_data=True))`);
  }
  const bytes = fs.readFileSync(file);
  let proto: onnx.ModelProto;
  try {
    proto = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new ModelFormatError(`${file} is not a valid ONNX model (${(e as Error).message})`);
  }
  if (!proto.graph) throw new ModelFormatError(`${file} holds no graph`);
  const quantized = findQuantizedWeight(proto.graph);
  if (quantized) throw new QuantizedModelError(file, quantized);
  const graph = graphFromProto(proto.graph, path.dirname(file));
  for (const imp of proto.opsetImport) {
    const domain = imp.domain ?? '';
    if (domain === '' || domain === 'ai.onnx') graph.opset = Number(imp.version);
    else graph.otherOpsets.push({ domain, version: Number(imp.version) });
  }
  if (!graph.opset) throw new ModelFormatError(`${file} does not import the default ONNX opset`);
  // The graph now holds every tensor (copied: typed arrays need aligned offsets); the proto is
  // kept for its metadata only, and its graph's byte views would keep the whole file in memory.
  proto.graph = null;
  return { path: file, proto, graph };
}

export function graphFromProto(g: onnx.IGraphProto, baseDir: string): Graph {
  const graph = new Graph();
  graph.name = g.name || 'graph';
  for (const t of g.initializer ?? []) graph.initializers.set(t.name ?? '', tensorFromProto(t, baseDir));
  for (const v of g.input ?? []) {
    // Old exporters list initializers among the inputs; those are parameters, not feeds.
    if (graph.initializers.has(v.name ?? '')) continue;
    graph.inputs.push(valueInfoFromProto(v));
  }
  graph.outputs = (g.output ?? []).map(valueInfoFromProto);
  for (const v of g.valueInfo ?? []) {
    const vi = valueInfoFromProto(v);
    graph.valueInfo.set(vi.name, vi);
  }
  graph.nodes = (g.node ?? []).map((n, i) => nodeFromProto(n, i, baseDir));
  return graph;
}

function nodeFromProto(n: onnx.INodeProto, index: number, baseDir: string): Node {
  const attrs = new Map<string, Attribute>();
  for (const a of n.attribute ?? []) attrs.set(a.name ?? '', attributeFromProto(a, baseDir));
  return {
    name: n.name || `${n.opType}_${index}`,
    op: n.opType ?? '',
    domain: n.domain === 'ai.onnx' ? '' : n.domain ?? '',
    inputs: [...(n.input ?? [])],
    outputs: [...(n.output ?? [])],
    attrs,
    ...(n.metadataProps?.length ? { metadata: new Map(n.metadataProps.map((e) => [e.key ?? '', e.value ?? ''])) } : {}),
  };
}

function attributeFromProto(a: onnx.IAttributeProto, baseDir: string): Attribute {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.type) {
    case T.INT:
      return { kind: 'int', value: Number(a.i ?? 0) };
    case T.FLOAT:
      return { kind: 'float', value: a.f ?? 0 };
    case T.STRING:
      return { kind: 'string', value: Buffer.from(a.s ?? new Uint8Array()).toString('utf8') };
    case T.INTS:
      return { kind: 'ints', value: (a.ints ?? []).map(Number) };
    case T.FLOATS:
      return { kind: 'floats', value: [...(a.floats ?? [])] };
    case T.STRINGS:
      return { kind: 'strings', value: (a.strings ?? []).map((s) => Buffer.from(s).toString('utf8')) };
    case T.TENSOR:
      return { kind: 'tensor', value: tensorFromProto(a.t ?? {}, baseDir) };
    default:
      return { kind: 'raw', value: a };
  }
}

function valueInfoFromProto(v: onnx.IValueInfoProto): ValueInfo {
  const tt = v.type?.tensorType;
  const shape = tt?.shape ? tt.shape.dim?.map((d, i): Dim => {
    if (d.dimValue !== undefined && d.dimValue !== null && Number(d.dimValue) > 0) return Number(d.dimValue);
    return d.dimParam || `${v.name}_dim${i}`;
  }) ?? [] : undefined;
  return { name: v.name ?? '', type: (tt?.elemType ?? 0) as DataType, shape };
}

/** Decodes a TensorProto into a typed array, reading external data where the proto points to it. */
export function tensorFromProto(t: onnx.ITensorProto, baseDir: string): Tensor {
  const type = (t.dataType ?? 0) as DataType;
  const dims = (t.dims ?? []).map(Number);
  const n = sizeOf(dims);
  const name = t.name ?? '?';
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    return { type, dims, data: readExternal(t, baseDir, type, n) };
  }
  if (t.rawData && t.rawData.length > 0) return { type, dims, data: fromBytes(type, t.rawData, n) };
  const data = allocate(type, n);
  const src: ArrayLike<number | bigint> | undefined =
    type === DataType.FLOAT ? t.floatData ?? undefined
      : type === DataType.DOUBLE ? t.doubleData ?? undefined
        : type === DataType.INT64 ? t.int64Data ?? undefined
          : type === DataType.UINT64 || type === DataType.UINT32 ? t.uint64Data ?? undefined
            : t.int32Data ?? undefined;
  if (n > 0 && (!src || src.length !== n)) {
    throw new ModelFormatError(`tensor "${name}" (${typeName(type)} [${dims}]) holds ${src?.length ?? 0} values, expected ${n}`);
  }
  for (let i = 0; i < n; i++) {
    const v = src![i];
    if (data instanceof BigInt64Array || data instanceof BigUint64Array) data[i] = BigInt(v);
    else (data as Float32Array)[i] = Number(v);
  }
  return { type, dims, data };
}

function readExternal(t: onnx.ITensorProto, baseDir: string, type: DataType, n: number) {
  const kv = new Map((t.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
  const location = kv.get('location');
  if (!location) throw new ModelFormatError(`tensor "${t.name}" is external but names no location`);
  const file = path.resolve(baseDir, location);
  const offset = Number(kv.get('offset') ?? 0);
  const length = Number(kv.get('length') ?? n * bytesPerElement(type));
  if (length !== n * bytesPerElement(type)) {
    throw new ModelFormatError(`${file}: tensor "${t.name}" (${typeName(type)} [${t.dims}]) has length ${length}, expected ${n * bytesPerElement(type)}`);
  }
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    throw new ModelFormatError(`external data file ${file} for tensor "${t.name}" cannot be opened`);
  }
  try {
    // Read straight into the tensor's own memory: a model's external bytes are held once.
    const data = allocate(type, n);
    const got = readFully(fd, toBytes(data), offset);
    if (got !== length) throw new ModelFormatError(`${file} ends before tensor "${t.name}" (offset ${offset}, length ${length})`);
    return data;
  } finally {
    fs.closeSync(fd);
  }
}

/** Where a saved model's tensors go: inline, or into one external-data file beside it. */
export interface SaveOptions {
  /** Initializers bigger than this many bytes go to the external file; total size decides too. */
  externalDataThreshold?: number;
}

/** Protobuf cannot hold 2 GiB; big models move their tensors to `<file>.data`. */
const INLINE_LIMIT = 1 << 30;

/** Builds the ModelProto of `graph`, keeping the metadata (producer, opsets, metadata_props) of `base`. */
export function modelToProto(graph: Graph, base?: onnx.IModelProto, external?: ExternalPlacement): onnx.ModelProto {
  const opsets: onnx.IOperatorSetIdProto[] = [{ domain: '', version: graph.opset }];
  for (const o of graph.otherOpsets) opsets.push({ domain: o.domain, version: o.version });
  return onnx.ModelProto.create({
    irVersion: Math.max(Number(base?.irVersion ?? 0), irVersionFor(graph.opset)),
    producerName: base?.producerName || 'onnx-trainer',
    producerVersion: base?.producerVersion ?? '',
    domain: base?.domain ?? '',
    modelVersion: base?.modelVersion ?? 0,
    docString: base?.docString ?? '',
    metadataProps: base?.metadataProps ?? [],
    functions: base?.functions ?? [],
    opsetImport: opsets,
    graph: graphToProto(graph, external),
  });
}

function irVersionFor(opset: number): number {
  // Lowest IR version that a given default-domain opset requires (onnx/helper.py's table).
  if (opset >= 23) return 11;
  if (opset >= 21) return 10;
  if (opset >= 19) return 9;
  if (opset >= 15) return 8;
  return 7;
}

export function graphToProto(graph: Graph, external?: ExternalPlacement): onnx.IGraphProto {
  return {
    name: graph.name,
    node: graph.nodes.map(nodeToProto),
    input: graph.inputs.map(valueInfoToProto),
    output: graph.outputs.map(valueInfoToProto),
    initializer: [...graph.initializers].map(([name, t]) => tensorToProto(name, t, external)),
  };
}

function nodeToProto(n: Node): onnx.INodeProto {
  return {
    name: n.name,
    opType: n.op,
    domain: n.domain,
    input: n.inputs,
    output: n.outputs,
    attribute: [...n.attrs].map(([name, a]) => attributeToProto(name, a)),
    ...(n.metadata?.size ? { metadataProps: [...n.metadata].map(([key, value]) => ({ key, value })) } : {}),
  };
}

function attributeToProto(name: string, a: Attribute): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.kind) {
    case 'int':
      return { name, type: T.INT, i: a.value };
    case 'float':
      return { name, type: T.FLOAT, f: a.value };
    case 'string':
      return { name, type: T.STRING, s: Buffer.from(a.value, 'utf8') };
    case 'ints':
      return { name, type: T.INTS, ints: a.value };
    case 'floats':
      return { name, type: T.FLOATS, floats: a.value };
    case 'strings':
      return { name, type: T.STRINGS, strings: a.value.map((s) => Buffer.from(s, 'utf8')) };
    case 'tensor':
      return { name, type: T.TENSOR, t: tensorToProto('', a.value) };
    case 'raw':
      return { ...a.value, name };
  }
}

function valueInfoToProto(v: ValueInfo): onnx.IValueInfoProto {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: v.type,
        shape: v.shape ? { dim: v.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } : undefined,
      },
    },
  };
}

/** Where a tensor's bytes live outside the model file, or undefined to keep it inline. */
export type ExternalPlacement = (name: string, t: Tensor) => { location: string; offset: number; length: number } | undefined;

export function tensorToProto(name: string, t: Tensor, external?: ExternalPlacement): onnx.ITensorProto {
  const place = external?.(name, t);
  if (place) {
    return {
      name,
      dataType: t.type,
      dims: t.dims,
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        { key: 'location', value: place.location },
        { key: 'offset', value: String(place.offset) },
        { key: 'length', value: String(place.length) },
      ],
    };
  }
  return { name, dataType: t.type, dims: t.dims, rawData: toBytes(t.data) };
}

/** Collects tensors for one external-data file (offsets aligned to 4 KiB, as onnx does). */
export class ExternalWriter {
  private chunks: Uint8Array[] = [];
  private size = 0;
  constructor(readonly location: string, readonly threshold: number) {}

  /** The placement function for modelToProto: tensors above the threshold go to this file. */
  readonly place: ExternalPlacement = (_name, t) => {
    const raw = toBytes(t.data);
    if (raw.byteLength < this.threshold) return undefined;
    return { location: this.location, offset: this.append(raw), length: raw.byteLength };
  };

  append(bytes: Uint8Array): number {
    const pad = (4096 - (this.size % 4096)) % 4096;
    if (pad) this.push(new Uint8Array(pad));
    const offset = this.size;
    this.push(bytes);
    return offset;
  }

  private push(b: Uint8Array) {
    this.chunks.push(b);
    this.size += b.byteLength;
  }

  get byteLength(): number {
    return this.size;
  }

  writeTo(file: string) {
    writeFileDurably(file, this.chunks);
  }
}

function initializerBytes(graph: Graph): number {
  let n = 0;
  for (const t of graph.initializers.values()) n += t.data.byteLength;
  return n;
}

/**
 * Writes `graph` as an ONNX file. Models whose initializers exceed 1 GiB keep their tensors in
 * `<file>.data` next to it. Both files are written under temporary names and renamed into place.
 */
export function saveModel(file: string, graph: Graph, base?: onnx.IModelProto, opts: SaveOptions = {}): void {
  const useExternal = opts.externalDataThreshold !== undefined || initializerBytes(graph) > INLINE_LIMIT;
  const dataName = `${path.basename(file)}.data`;
  const external = useExternal ? new ExternalWriter(dataName, opts.externalDataThreshold ?? 1024) : undefined;
  const bytes = onnx.ModelProto.encode(modelToProto(graph, base, external?.place)).finish();
  if (external) external.writeTo(path.join(path.dirname(file), dataName));
  writeFileDurably(file, bytes);
}

/**
 * The ONNX file of `graph` with every tensor inline, as pieces to write one after another. Each
 * initializer's bytes are the tensor's own memory, not copied into one buffer, so a model near
 * the 2 GiB limit is not held twice while it is written. Protobuf readers accept a message's
 * fields in any order, so the graph's initializers simply follow its other fields.
 */
export function encodeModelPieces(graph: Graph, base?: onnx.IModelProto): Uint8Array[] {
  const proto = modelToProto(graph, base);
  const initializers = proto.graph!.initializer ?? [];
  const graphHead = onnx.GraphProto.encode({ ...proto.graph!, initializer: [] }).finish();
  const tensors: Uint8Array[] = [];
  let graphLength = graphHead.byteLength;
  for (const t of initializers) {
    const raw = t.rawData ?? new Uint8Array(0);
    const meta = onnx.TensorProto.encode({ ...t, rawData: undefined }).finish();
    const rawHead = Writer.create().uint32((9 << 3) | 2).uint32(raw.byteLength).finish(); // raw_data = 9
    const head = Writer.create().uint32((5 << 3) | 2).uint32(meta.byteLength + rawHead.byteLength + raw.byteLength).finish(); // initializer = 5
    tensors.push(head, meta, rawHead, raw);
    graphLength += head.byteLength + meta.byteLength + rawHead.byteLength + raw.byteLength;
  }
  const modelHead = onnx.ModelProto.encode({ ...proto, graph: null }).finish();
  const graphField = Writer.create().uint32((7 << 3) | 2).uint32(graphLength).finish(); // graph = 7
  return [modelHead, graphField, graphHead, ...tensors];
}

/** Serializes a graph for an InferenceSession (no external data: sessions get bytes). */
export function serializeGraph(graph: Graph): Uint8Array {
  return onnx.ModelProto.encode(modelToProto(graph)).finish();
}
