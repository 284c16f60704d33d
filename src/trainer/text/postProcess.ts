// Adds the special tokens and token type ids of a tokenizer.json post-processor, on ids, the way
// the Rust `tokenizers` crate does (processors/template.rs, bert.rs, roberta.rs). This is done
// here rather than by @huggingface/tokenizers because truncation must happen between encoding and
// post-processing, and because the library differs from Rust in places: its RobertaProcessing
// gives the second sequence type id 1 (Rust: 0 everywhere) and its ByteLevel post-processor drops
// the second sequence of a pair.

import { PostProcessorJson } from './tokenizerJson';

/** One encoded text before special tokens: ids and the token strings they came from. */
export interface Segment {
  ids: number[];
  tokens: string[];
}

/** A post-processed encoding, as parallel arrays. */
export interface Processed {
  ids: number[];
  tokens: string[];
  typeIds: number[];
  /** 1 where a post-processor added a special token, 0 on text tokens. */
  specialMask: number[];
}

/** What the post-processors read: the segments (first, optional second), each with its type ids. */
interface Parts {
  segments: Processed[];
}

/**
 * How many tokens the post-processor adds to one sequence or to a pair; the truncation budget is
 * max_length minus this (Rust: `PostProcessor::added_tokens`).
 */
export function addedTokenCount(pp: PostProcessorJson | null, isPair: boolean): number {
  if (!pp) return 0;
  switch (pp.type) {
    case 'TemplateProcessing':
      return (isPair ? pp.pair : pp.single).reduce(
        (n, piece) => n + ('SpecialToken' in piece ? (pp.special_tokens[piece.SpecialToken.id]?.ids.length ?? 0) : 0),
        0,
      );
    case 'BertProcessing':
      return isPair ? 3 : 2;
    case 'RobertaProcessing':
      return isPair ? 4 : 2;
    case 'ByteLevel':
      return 0;
    case 'Sequence':
      return pp.processors.reduce((n, p) => n + addedTokenCount(p, isPair), 0);
  }
}

function text(segment: Segment, typeId: number): Processed {
  return { ids: segment.ids, tokens: segment.tokens, typeIds: segment.ids.map(() => typeId), specialMask: segment.ids.map(() => 0) };
}

function special(ids: number[], tokens: string[], typeId: number): Processed {
  return { ids, tokens, typeIds: ids.map(() => typeId), specialMask: ids.map(() => 1) };
}

function withType(p: Processed, typeId: number): Processed {
  return { ...p, typeIds: p.ids.map(() => typeId) };
}

function concat(parts: readonly Processed[]): Processed {
  return {
    ids: parts.flatMap((p) => p.ids),
    tokens: parts.flatMap((p) => p.tokens),
    typeIds: parts.flatMap((p) => p.typeIds),
    specialMask: parts.flatMap((p) => p.specialMask),
  };
}

/** Applies one post-processor to the segments; returns one segment (templates merge) or the same count. */
function apply(pp: PostProcessorJson, parts: Parts, addSpecial: boolean): Parts {
  const [a, b] = parts.segments;
  switch (pp.type) {
    case 'TemplateProcessing': {
      const out: Processed[] = [];
      for (const piece of b ? pp.pair : pp.single) {
        if ('Sequence' in piece) {
          const seq = piece.Sequence.id === 'A' ? a : b;
          if (seq) out.push(withType(seq, piece.Sequence.type_id));
        } else if (addSpecial) {
          const tok = pp.special_tokens[piece.SpecialToken.id];
          out.push(special(tok.ids, tok.tokens, piece.SpecialToken.type_id));
        }
      }
      return { segments: [concat(out)] };
    }
    case 'BertProcessing': {
      if (!addSpecial) return parts;
      const [sepToken, sepId] = pp.sep;
      const [clsToken, clsId] = pp.cls;
      const first = concat([special([clsId], [clsToken], 0), a, special([sepId], [sepToken], 0)]);
      return { segments: b ? [first, concat([b, special([sepId], [sepToken], 1)])] : [first] };
    }
    case 'RobertaProcessing': {
      // "Roberta is weird, and every encoding is type_id=0" (roberta.rs).
      const a0 = withType(a, 0);
      const b0 = b && withType(b, 0);
      if (!addSpecial) return { segments: b0 ? [a0, b0] : [a0] };
      const sep = special([pp.sep[1]], [pp.sep[0]], 0);
      const first = concat([special([pp.cls[1]], [pp.cls[0]], 0), a0, sep]);
      return { segments: b0 ? [first, concat([sep, b0, sep])] : [first] };
    }
    case 'ByteLevel':
      return parts; // only trims offsets, which Trainer does not keep
    case 'Sequence':
      return pp.processors.reduce((acc, p) => apply(p, acc, addSpecial), parts);
  }
}

/**
 * The final encoding of `a` (and `b`), already truncated. Without a post-processor the first
 * sequence has type id 0 and the second 1, as the Rust encoder assigns them.
 */
export function postProcess(pp: PostProcessorJson | null, a: Segment, b: Segment | undefined, addSpecial: boolean): Processed {
  const parts: Parts = { segments: b ? [text(a, 0), text(b, 1)] : [text(a, 0)] };
  return concat((pp ? apply(pp, parts, addSpecial) : parts).segments);
}

interface TemplateSpecialTokenLike {
  ids?: unknown;
}

/** Checks the post-processor is one of the types above; returns what is wrong, or undefined. */
export function postProcessorProblem(pp: unknown, key = 'post_processor'): string | undefined {
  if (pp === null || pp === undefined) return undefined;
  if (typeof pp !== 'object') return `${key}: expected an object or null`;
  const p = pp as Record<string, unknown>;
  switch (p.type) {
    case 'TemplateProcessing': {
      if (!Array.isArray(p.single) || !Array.isArray(p.pair)) return `${key}: TemplateProcessing needs "single" and "pair" templates`;
      const specials = (p.special_tokens ?? {}) as Record<string, TemplateSpecialTokenLike>;
      for (const piece of [...p.single, ...p.pair] as Record<string, { id?: string }>[]) {
        const id = piece?.SpecialToken?.id;
        if (id !== undefined && !Array.isArray(specials[id]?.ids)) return `${key}.special_tokens: no entry for "${id}" used in the template`;
      }
      return undefined;
    }
    case 'BertProcessing':
    case 'RobertaProcessing':
      return Array.isArray(p.sep) && Array.isArray(p.cls) ? undefined : `${key}: ${p.type} needs "sep" and "cls" as [token, id]`;
    case 'ByteLevel':
      return undefined;
    case 'Sequence':
      if (!Array.isArray(p.processors)) return `${key}.processors: expected an array`;
      for (let i = 0; i < p.processors.length; i++) {
        const problem = postProcessorProblem(p.processors[i], `${key}.processors[${i}]`);
        if (problem) return problem;
      }
      return undefined;
    default:
      return `${key}.type: unsupported post-processor "${String(p.type)}"`;
  }
}
