// Reads data files into records, each remembering where it came from (line for JSONL and CSV,
// item number for JSON, row for Parquet) so that every data error can point at it. JSONL and CSV
// are streamed line by line, Parquet row group by row group (parquet.ts); a JSON file is one
// document and is parsed whole.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { parse as parseCsv } from 'csv-parse';
import { DataError } from '../errors';
import { readParquet } from './parquet';

export interface DataRecord {
  /** 1-based line (JSONL, CSV), item index (JSON) or row (Parquet). */
  line: number;
  values: Record<string, unknown>;
  /** The image file the record's pixels were decoded from (image data). */
  image?: string;
}

export type DataFormat = 'jsonl' | 'json' | 'csv' | 'parquet';

export function formatOf(file: string): DataFormat {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  if (ext === '.json') return 'json';
  if (ext === '.csv') return 'csv';
  if (ext === '.parquet') return 'parquet';
  throw new DataError(file, undefined, `unsupported data format "${ext}"; use .jsonl, .json, .csv or .parquet`);
}

function openOrFail(file: string): fs.ReadStream {
  if (!fs.existsSync(file)) throw new DataError(file, undefined, 'data file not found');
  if (fs.statSync(file).isDirectory()) throw new DataError(file, undefined, 'is a folder; expected a data file');
  return fs.createReadStream(file, { encoding: 'utf8' });
}

/** Streams the records of a data file. */
export async function* readRecords(file: string): AsyncGenerator<DataRecord> {
  const format = formatOf(file);
  if (format === 'jsonl') yield* readJsonl(file);
  else if (format === 'csv') yield* readCsv(file);
  else if (format === 'parquet') {
    if (!fs.existsSync(file)) throw new DataError(file, undefined, 'data file not found');
    yield* readParquet(file);
  } else yield* readJson(file);
}

/** One JSONL line as a record; `first` when it is the file's first line (which may start with a BOM). */
export function jsonlRecord(file: string, line: number, text: string, first: boolean): DataRecord {
  let values: unknown;
  try {
    // A UTF-8 byte order mark (Windows editors write one) is not part of the first record.
    values = JSON.parse(first ? text.replace(/^\ufeff/, '') : text);
  } catch (e) {
    throw new DataError(file, line, `not valid JSON: ${(e as Error).message}`);
  }
  if (!values || typeof values !== 'object' || Array.isArray(values)) throw new DataError(file, line, 'each line must be a JSON object');
  return { line, values: values as Record<string, unknown> };
}

async function* readJsonl(file: string): AsyncGenerator<DataRecord> {
  const lines = readline.createInterface({ input: openOrFail(file), crlfDelay: Infinity });
  let n = 0;
  for await (const text of lines) {
    n++;
    if (!text.trim()) continue;
    yield jsonlRecord(file, n, text, n === 1);
  }
}

async function* readJson(file: string): AsyncGenerator<DataRecord> {
  let doc: unknown;
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8').replace(/^\ufeff/, ''));
  } catch (e) {
    if (!fs.existsSync(file)) throw new DataError(file, undefined, 'data file not found');
    throw new DataError(file, undefined, `not valid JSON: ${(e as Error).message}`);
  }
  // An array of records, {"data": [...]} as Hugging Face datasets writes, or columns of arrays.
  let rows: unknown = doc;
  if (doc && typeof doc === 'object' && !Array.isArray(doc)) {
    const obj = doc as Record<string, unknown>;
    if (Array.isArray(obj.data)) rows = obj.data;
    else if (Object.values(obj).every(Array.isArray)) {
      const cols = Object.entries(obj) as [string, unknown[]][];
      const n = cols[0]?.[1].length ?? 0;
      if (cols.some(([, c]) => c.length !== n)) throw new DataError(file, undefined, 'columns have different lengths');
      rows = Array.from({ length: n }, (_, i) => Object.fromEntries(cols.map(([k, c]) => [k, c[i]])));
    }
  }
  if (!Array.isArray(rows)) throw new DataError(file, undefined, 'expected an array of records, {"data": [...]}, or a mapping of column arrays');
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    if (!r || typeof r !== 'object' || Array.isArray(r)) throw new DataError(file, i + 1, `record ${i + 1} is not an object`);
    yield { line: i + 1, values: r as Record<string, unknown> };
  }
}

/** CSV cells: numbers become numbers, JSON arrays ("[1, 2]") become arrays, the rest stays text. */
export function csvCell(text: string): unknown {
  const s = text.trim();
  if (s === '') return null;
  if (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) return Number(s);
  if (s.startsWith('[')) {
    try {
      return JSON.parse(s);
    } catch {
      return text;
    }
  }
  return text;
}

async function* readCsv(file: string): AsyncGenerator<DataRecord> {
  const parser = openOrFail(file).pipe(parseCsv({ columns: true, skip_empty_lines: true, info: true, bom: true, relax_column_count: false }));
  try {
    for await (const item of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
      const values: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(item.record)) values[k] = csvCell(v);
      yield { line: item.info.lines, values };
    }
  } catch (e) {
    if (e instanceof DataError) throw e;
    const err = e as Error & { lines?: number };
    throw new DataError(file, err.lines, `not valid CSV: ${err.message}`);
  }
}

/** Reads every record of a file into memory. */
export async function readAllRecords(file: string): Promise<DataRecord[]> {
  const out: DataRecord[] = [];
  for await (const r of readRecords(file)) out.push(r);
  if (out.length === 0) throw new DataError(file, undefined, 'the data file holds no records');
  return out;
}
