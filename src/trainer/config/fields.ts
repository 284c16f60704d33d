// The vocabulary config sections are declared in: typed fields with defaults and docs. One
// declaration drives validation (with line-precise messages), defaults, hover docs and the
// JSON Schema that editors use for completion.

import { suggest } from '../errors';
import { ConfigDocument, KeyPath } from './document';

export type FieldType =
  | { kind: 'string' }
  | { kind: 'number'; min?: number; max?: number; exclusiveMin?: boolean }
  | { kind: 'integer'; min?: number }
  | { kind: 'boolean' }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'null' }
  | { kind: 'array'; items: FieldType }
  | { kind: 'object' }
  | { kind: 'union'; of: readonly FieldType[] };

export interface Field {
  type: FieldType;
  default?: unknown;
  doc: string;
  /** Older names accepted for this field (e.g. evaluation_strategy). */
  aliases?: string[];
  /** The field must be present. */
  required?: boolean;
}

export type Section = Record<string, Field>;

/**
 * The field-type builders. Each keeps what the value's TypeScript type needs (an enum's values, a
 * union's members), so that a section's value type is derived from its table (SectionValues).
 */
export const t = {
  string: { kind: 'string' } as const,
  number: (min?: number, max?: number) => ({ kind: 'number', min, max }) as const,
  integer: (min?: number) => ({ kind: 'integer', min }) as const,
  boolean: { kind: 'boolean' } as const,
  enumOf: <V extends string>(...values: V[]): { kind: 'enum'; values: readonly V[] } => ({ kind: 'enum', values }),
  nullable: <F extends FieldType>(inner: F): { kind: 'union'; of: readonly [F, { kind: 'null' }] } => ({ kind: 'union', of: [inner, { kind: 'null' }] }),
  array: <F extends FieldType>(items: F): { kind: 'array'; items: F } => ({ kind: 'array', items }),
  object: { kind: 'object' } as const,
  union: <F extends readonly FieldType[]>(...of: F): { kind: 'union'; of: F } => ({ kind: 'union', of }),
};

/** The TypeScript type of a value that fits a field type. */
export type ValueOf<F> =
  F extends { kind: 'string' } ? string
  : F extends { kind: 'number' | 'integer' } ? number
  : F extends { kind: 'boolean' } ? boolean
  : F extends { kind: 'enum'; values: readonly (infer V)[] } ? V
  : F extends { kind: 'null' } ? null
  : F extends { kind: 'array'; items: infer I } ? ValueOf<I>[]
  : F extends { kind: 'object' } ? Record<string, unknown>
  : F extends { kind: 'union'; of: readonly (infer U)[] } ? ValueOf<U>
  : never;

type Present<F> = F extends { default: unknown } | { required: true } ? true : false;

/** A validated section's values: fields with a default (or required) are always there, the others optional. */
export type SectionValues<S extends Section> = {
  [K in keyof S as Present<S[K]> extends true ? K : never]: ValueOf<S[K]['type']>;
} & {
  [K in keyof S as Present<S[K]> extends true ? never : K]?: ValueOf<S[K]['type']>;
};

/** "an integer", "one of no, steps, epoch"… for messages. */
export function describeType(ft: FieldType): string {
  switch (ft.kind) {
    case 'string':
      return 'a string';
    case 'number':
      return ft.min !== undefined && ft.max !== undefined ? `a number from ${ft.min} to ${ft.max}` : ft.min !== undefined ? `a number ≥ ${ft.min}` : 'a number';
    case 'integer':
      return ft.min !== undefined ? `an integer ≥ ${ft.min}` : 'an integer';
    case 'boolean':
      return 'true or false';
    case 'enum':
      return `one of ${ft.values.join(', ')}`;
    case 'null':
      return 'null';
    case 'array':
      return `a list of ${describeType(ft.items).replace(/^an? /, '')}s`;
    case 'object':
      return 'a mapping';
    case 'union':
      return ft.of.map(describeType).join(' or ');
  }
}

/** Whether `v` fits `ft` (without messages; unions try each member). */
export function fits(ft: FieldType, v: unknown): boolean {
  switch (ft.kind) {
    case 'string':
      return typeof v === 'string';
    case 'number':
      return typeof v === 'number' && Number.isFinite(v) && (ft.min === undefined || v >= ft.min) && (ft.max === undefined || v <= ft.max);
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v) && (ft.min === undefined || v >= ft.min);
    case 'boolean':
      return typeof v === 'boolean';
    case 'enum':
      return typeof v === 'string' && ft.values.includes(v);
    case 'null':
      return v === null;
    case 'array':
      return Array.isArray(v) && v.every((x) => fits(ft.items, x));
    case 'object':
      return !!v && typeof v === 'object' && !Array.isArray(v);
    case 'union':
      return ft.of.some((m) => fits(m, v));
  }
}

function show(v: unknown): string {
  return typeof v === 'string' ? `"${v}"` : JSON.stringify(v);
}

/**
 * Validates one section (a mapping at `at`) against its fields: unknown keys (with the nearest
 * valid name), wrong types, missing required keys. Returns values with defaults filled in and
 * aliases renamed to their current names.
 */
export function validateSection<S extends Section>(doc: ConfigDocument, at: KeyPath, value: unknown, section: S): SectionValues<S> {
  if (value === undefined || value === null) value = {};
  if (typeof value !== 'object' || Array.isArray(value)) throw doc.error(at, `expected a mapping of keys, got ${show(value)}`);
  const out: Record<string, unknown> = {};
  const aliasOf = new Map<string, string>();
  for (const [name, f] of Object.entries(section)) for (const a of f.aliases ?? []) aliasOf.set(a, name);
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const name = section[key] ? key : aliasOf.get(key);
    if (!name) {
      const near = suggest(key, [...Object.keys(section), ...aliasOf.keys()]);
      throw doc.error([...at, key], `unknown key${near ? `; did you mean "${near}"?` : ` (valid keys: ${Object.keys(section).join(', ')})`}`);
    }
    if (name !== key && key in out) throw doc.error([...at, key], `both "${key}" and "${name}" are set; keep "${name}"`);
    const f = section[name];
    if (!fits(f.type, v)) {
      let msg = `expected ${describeType(f.type)}, got ${show(v)}`;
      if (f.type.kind === 'enum' && typeof v === 'string') {
        const near = suggest(v, f.type.values);
        if (near) msg += `; did you mean "${near}"?`;
      }
      throw doc.error([...at, key], msg);
    }
    out[name] = v;
  }
  for (const [name, f] of Object.entries(section)) {
    if (name in out) continue;
    if (f.required) throw doc.error(at, `missing required key "${name}" (${f.doc})`);
    if (f.default !== undefined) out[name] = f.default;
  }
  // Every value fits its field's type (checked above) and defaults fill the rest: the one place
  // where checked values take the type their table describes.
  return out as SectionValues<S>;
}

/** JSON Schema (draft-07) of a field type. */
export function typeSchema(ft: FieldType): Record<string, unknown> {
  switch (ft.kind) {
    case 'string':
      return { type: 'string' };
    case 'number':
      return { type: 'number', ...(ft.min !== undefined ? { minimum: ft.min } : {}), ...(ft.max !== undefined ? { maximum: ft.max } : {}) };
    case 'integer':
      return { type: 'integer', ...(ft.min !== undefined ? { minimum: ft.min } : {}) };
    case 'boolean':
      return { type: 'boolean' };
    case 'enum':
      return { enum: [...ft.values] };
    case 'null':
      return { type: 'null' };
    case 'array':
      return { type: 'array', items: typeSchema(ft.items) };
    case 'object':
      return { type: 'object' };
    case 'union':
      return { anyOf: ft.of.map(typeSchema) };
  }
}

export function sectionSchema(section: Section, description: string): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(section)) {
    properties[name] = { ...typeSchema(f.type), description: f.doc, ...(f.default !== undefined ? { default: f.default } : {}) };
    for (const a of f.aliases ?? []) properties[a] = { ...typeSchema(f.type), description: `Old name of ${name}. ${f.doc}`, deprecated: true };
  }
  const required = Object.entries(section).filter(([, f]) => f.required).map(([n]) => n);
  return { type: 'object', description, properties, additionalProperties: false, ...(required.length ? { required } : {}) };
}
