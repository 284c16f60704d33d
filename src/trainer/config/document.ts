// Reads a config file (YAML, or JSON, which YAML 1.2 parses too) keeping every key's line, so
// that each error can name the line where the user typed the value.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { Document, LineCounter, isMap, isScalar, parseDocument } from 'yaml';
import { ConfigError } from '../errors';

export type KeyPath = (string | number)[];

export class ConfigDocument {
  private constructor(
    readonly file: string,
    readonly data: unknown,
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  get dir(): string {
    return path.dirname(this.file);
  }

  static load(file: string): ConfigDocument {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      throw new ConfigError(file, undefined, undefined, 'cannot read the config file (does it exist?)');
    }
    return ConfigDocument.parse(file, text);
  }

  static parse(file: string, text: string): ConfigDocument {
    // A binary file (or one in another encoding) would be echoed back in YAML's error message.
    // eslint-disable-next-line no-control-regex
    if (/[\x00-\x08\x0e-\x1f\ufffd]/.test(text)) throw new ConfigError(file, undefined, undefined, 'not a text file (expected YAML or JSON in UTF-8)');
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
    if (doc.errors.length) {
      const e = doc.errors[0];
      const line = lines.linePos(e.pos[0]).line;
      throw new ConfigError(file, undefined, line, `not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${e.message.split('\n')[0]}`);
    }
    let data: unknown;
    try {
      data = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      // yaml refuses documents whose aliases expand exponentially (a "billion laughs" bomb).
      throw new ConfigError(file, undefined, undefined, `not a usable YAML document: ${(e as Error).message.split('\n')[0]}`);
    }
    return new ConfigDocument(file, data, doc, lines);
  }

  /** Line of the key at `keyPath` (or of its value, for list items). */
  lineOf(keyPath: KeyPath): number | undefined {
    let node: unknown = this.doc.contents;
    let offset: number | undefined;
    for (const k of keyPath) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(k));
        if (!pair) return offset === undefined ? undefined : this.lines.linePos(offset).line;
        offset = (pair.key as { range?: [number, number, number] }).range?.[0] ?? offset;
        node = pair.value;
      } else if (node && typeof node === 'object' && 'items' in node && Array.isArray((node as { items: unknown[] }).items)) {
        const item = (node as { items: unknown[] }).items[Number(k)];
        const range = (item as { range?: [number, number, number] } | undefined)?.range;
        if (range) offset = range[0];
        node = item;
      } else break;
    }
    return offset === undefined ? undefined : this.lines.linePos(offset).line;
  }

  error(keyPath: KeyPath, message: string): ConfigError {
    return new ConfigError(this.file, keyPath.join('.') || undefined, this.lineOf(keyPath), message);
  }
}
