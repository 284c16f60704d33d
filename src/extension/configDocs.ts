// Documentation of config keys for hovers, from the engine's field tables (the same tables that
// validate configs and generate the JSON Schema), and the key under the cursor of a YAML text.
// No `vscode` here.

import { isMap, isScalar, parseDocument } from 'yaml';
import { DATA_FIELDS, MODEL_FIELDS, TOP_FIELDS } from '../trainer/config/config';
import { Field, Section, describeType } from '../trainer/config/fields';
import { TRAINING_FIELDS } from '../trainer/config/trainingArguments';
import { IMAGE_FIELDS } from '../trainer/config/imageFields';

const SECTIONS: Record<string, Section> = { model: MODEL_FIELDS, data: DATA_FIELDS, training: TRAINING_FIELDS, 'data.image': IMAGE_FIELDS };

export interface KeyAt {
  path: string[];
  /** Offsets of the key's text. */
  start: number;
  end: number;
}

/** The mapping key whose text contains `offset`, with its path from the top ("training.learning_rate"). */
export function keyAt(text: string, offset: number): KeyAt | undefined {
  const doc = parseDocument(text, { keepSourceTokens: false });
  let found: KeyAt | undefined;
  const walk = (node: unknown, path: string[]) => {
    if (found || !isMap(node)) return;
    for (const pair of node.items) {
      if (!isScalar(pair.key)) continue;
      const name = String(pair.key.value);
      const range = pair.key.range;
      if (range && offset >= range[0] && offset <= range[1]) {
        found = { path: [...path, name], start: range[0], end: range[1] };
        return;
      }
      walk(pair.value, [...path, name]);
    }
  };
  walk(doc.contents, []);
  return found;
}

/** The field a key path names (aliases included), with its current name. */
export function fieldAt(path: readonly string[]): { name: string; field: Field; section: string } | undefined {
  const top: Section = TOP_FIELDS;
  if (path.length === 1) return top[path[0]] ? { name: path[0], field: top[path[0]], section: '' } : undefined;
  // A nested section (data.image) is named by its path.
  const first = path.slice(0, -1).join('.');
  const second = path[path.length - 1];
  const section = SECTIONS[first];
  if (!section) return undefined;
  if (section[second]) return { name: second, field: section[second], section: first };
  for (const [name, f] of Object.entries(section)) if (f.aliases?.includes(second)) return { name, field: f, section: first };
  return undefined;
}

/** Markdown hover text for a key path, or undefined for keys the tables do not know. */
export function hoverMarkdown(path: readonly string[]): string | undefined {
  const hit = fieldAt(path);
  if (!hit) return undefined;
  const { name, field, section } = hit;
  const qualified = section ? `${section}.${name}` : name;
  const lines = [`**${qualified}** — ${describeType(field.type)}`, '', field.doc];
  if (field.default !== undefined) lines.push('', `Default: \`${JSON.stringify(field.default)}\``);
  if (name !== path[path.length - 1]) lines.push('', `\`${path[path.length - 1]}\` is the old name of \`${name}\`.`);
  if (section === 'training') lines.push('', 'Same name and meaning as Hugging Face `TrainingArguments`.');
  return lines.join('\n');
}

/** The [start, end) columns a diagnostic underlines on a line: the key there, or the line's text. */
export function lineSpan(lineText: string, key: string | undefined): [number, number] {
  const last = key?.split('.').pop();
  if (last) {
    const m = new RegExp(`(^|[\\s"'{,-])(${last.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')})["']?\\s*:`).exec(lineText);
    if (m) {
      const start = m.index + m[1].length;
      return [start, start + m[2].length];
    }
  }
  const start = lineText.length - lineText.trimStart().length;
  return [start, Math.max(lineText.trimEnd().length, start + 1)];
}
