// The facts shape inference keeps per value: element type, shape (symbolic where unknown), and
// for small integer tensors their contents, so that shape arithmetic (Shape → Gather → Concat →
// Reshape) stays symbolic instead of collapsing to "unknown".

import { Node, Dim, attrInt, attrInts } from '../graph';
import { DataType, Tensor } from '../tensor';

export interface Facts {
  type: DataType;
  /** undefined when the rank is unknown */
  shape?: Dim[];
  /** contents of a small int64/int32 tensor (rank 0 or 1), symbolic where needed */
  value?: Dim[];
  /** contents of a small float constant (rank 0 or 1): Resize's scales */
  floats?: number[];
}

/** Tensors up to this many elements have their values tracked. */
export const VALUE_LIMIT = 64;

export function factsOfTensor(t: Tensor): Facts {
  const f: Facts = { type: t.type, shape: [...t.dims] };
  const isInt = t.type === DataType.INT64 || t.type === DataType.INT32;
  if (isInt && t.dims.length <= 1 && t.data.length <= VALUE_LIMIT) {
    f.value = Array.from(t.data as ArrayLike<number | bigint>, (v) => Number(v));
  }
  const isFloat = t.type === DataType.FLOAT || t.type === DataType.DOUBLE;
  if (isFloat && t.dims.length <= 1 && t.data.length <= VALUE_LIMIT) f.floats = Array.from(t.data as ArrayLike<number>);
  return f;
}

/** What an inference function sees of one node. */
export class InferCtx {
  constructor(
    readonly node: Node,
    readonly inputs: (Facts | undefined)[],
    readonly opset: number,
  ) {}

  has(i: number): boolean {
    return !!this.node.inputs[i] && !!this.inputs[i];
  }

  in(i: number): Facts | undefined {
    return this.node.inputs[i] ? this.inputs[i] : undefined;
  }

  type(i: number): DataType {
    return this.inputs[i]?.type ?? DataType.FLOAT;
  }

  shape(i: number): Dim[] | undefined {
    return this.in(i)?.shape;
  }

  rank(i: number): number | undefined {
    return this.in(i)?.shape?.length;
  }

  value(i: number): Dim[] | undefined {
    return this.in(i)?.value;
  }

  /** Known numeric contents of input i. */
  ints(i: number): number[] | undefined {
    const v = this.value(i);
    return v && v.every((d) => typeof d === 'number') ? (v as number[]) : undefined;
  }

  attrInt(name: string, fallback: number): number {
    return attrInt(this.node, name, fallback);
  }

  attrInts(name: string): number[] | undefined {
    return attrInts(this.node, name);
  }

  /** Axes given as an attribute (older opsets) or as input `inputIndex` (newer ones). */
  axes(inputIndex: number): number[] | undefined | 'unknown' {
    const fromAttr = this.attrInts('axes');
    if (fromAttr) return fromAttr;
    if (this.node.inputs[inputIndex]) return this.ints(inputIndex) ?? 'unknown';
    return undefined;
  }
}

export type InferFn = (ctx: InferCtx) => (Facts | undefined)[];
