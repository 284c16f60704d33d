// Where records come from: all in memory (small files, and JSON documents), or — for JSONL and
// CSV files larger than `STREAM_THRESHOLD` or when asked — an index of byte offsets, one per
// record, so that a data set larger than memory is read record by record, in any order. A
// Parquet file streams through a JSONL copy of its rows (parquet.ts).

import * as fs from 'node:fs';
import { parse as parseCsv } from 'csv-parse/sync';
import { DataError } from '../errors';
import { spoolParquet } from './parquet';
import { DataRecord, csvCell, formatOf, jsonlRecord, readAllRecords } from './readers';

/** Files above this size are indexed instead of read into memory (`data.streaming: auto`). */
export const STREAM_THRESHOLD = 256 * 2 ** 20;

export interface RecordSource {
  file: string;
  count: number;
  /** Record i (0-based). */
  read(i: number): DataRecord;
  /** Every record in file order. */
  scan(): Iterable<DataRecord>;
  /** Whether records are read from disk on demand. */
  streaming: boolean;
}

export class MemorySource implements RecordSource {
  readonly streaming = false;
  constructor(readonly file: string, readonly records: DataRecord[]) {}
  get count() {
    return this.records.length;
  }
  read(i: number): DataRecord {
    return this.records[i];
  }
  scan(): Iterable<DataRecord> {
    return this.records;
  }
}

/** Byte ranges of the lines of a file (a JSONL record per line), read in chunks. */
function lineRanges(file: string): { starts: number[]; ends: number[]; lines: number[] } {
  const fd = fs.openSync(file, 'r');
  const chunk = Buffer.alloc(1 << 20);
  const starts: number[] = [];
  const ends: number[] = [];
  const lines: number[] = [];
  let pos = 0;
  let lineStart = 0;
  let line = 1;
  let blank = true;
  try {
    for (;;) {
      const n = fs.readSync(fd, chunk, 0, chunk.length, pos);
      if (n === 0) break;
      for (let i = 0; i < n; i++) {
        const c = chunk[i];
        if (c === 0x0a) {
          if (!blank) {
            starts.push(lineStart);
            ends.push(pos + i);
            lines.push(line);
          }
          lineStart = pos + i + 1;
          line++;
          blank = true;
        } else if (c !== 0x20 && c !== 0x0d && c !== 0x09) blank = false;
      }
      pos += n;
    }
    if (!blank) {
      starts.push(lineStart);
      ends.push(pos);
      lines.push(line);
    }
  } finally {
    fs.closeSync(fd);
  }
  return { starts, ends, lines };
}

function readRange(fd: number, start: number, end: number): string {
  const buf = Buffer.alloc(end - start);
  fs.readSync(fd, buf, 0, buf.length, start);
  return buf.toString('utf8');
}

/**
 * A JSONL or CSV file read on demand. CSV records are indexed by the byte counts csv-parse
 * reports, so quoted newlines inside a field are handled; the header is kept to name the columns.
 */
export class IndexedFileSource implements RecordSource {
  readonly streaming = true;
  private fd: number;
  private constructor(readonly file: string, private readonly format: 'jsonl' | 'csv', private readonly starts: number[],
    private readonly ends: number[], private readonly lines: number[], private readonly header: string[] = [], readPath = file) {
    this.fd = fs.openSync(readPath, 'r');
  }

  static open(file: string): IndexedFileSource {
    const format = formatOf(file);
    if (format === 'json') throw new DataError(file, undefined, 'a JSON document cannot be streamed; use JSONL, CSV or Parquet for data larger than memory');
    if (format === 'parquet') throw new DataError(file, undefined, 'a Parquet file streams through IndexedFileSource.openParquet');
    if (format === 'jsonl') {
      const { starts, ends, lines } = lineRanges(file);
      return new IndexedFileSource(file, 'jsonl', starts, ends, lines);
    }
    return IndexedFileSource.indexCsv(file);
  }

  /** A Parquet file through its JSONL copy; records keep the Parquet file's name and row numbers. */
  static async openParquet(file: string): Promise<IndexedFileSource> {
    const copy = await spoolParquet(file);
    const { starts, ends, lines } = lineRanges(copy);
    return new IndexedFileSource(file, 'jsonl', starts, ends, lines, [], copy);
  }

  private static indexCsv(file: string): IndexedFileSource {
    const { starts, ends, lines } = lineRanges(file);
    if (!starts.length) throw new DataError(file, undefined, 'the data file holds no records');
    const fd = fs.openSync(file, 'r');
    let header: string[];
    try {
      header = (parseCsv(readRange(fd, starts[0], ends[0]), { bom: true }) as string[][])[0];
    } finally {
      fs.closeSync(fd);
    }
    // Join physical lines into records where a quoted field spans a newline (odd quote count).
    const rs: number[] = [];
    const re: number[] = [];
    const rl: number[] = [];
    const fd2 = fs.openSync(file, 'r');
    try {
      let open = -1;
      let quotes = 0;
      for (let k = 1; k < starts.length; k++) {
        const text = readRange(fd2, starts[k], ends[k]);
        if (open < 0) open = k;
        quotes += (text.match(/"/g) ?? []).length;
        if (quotes % 2 === 0) {
          rs.push(starts[open]);
          re.push(ends[k]);
          // csv-parse, which reads CSV files into memory, numbers a record by its last line.
          rl.push(lines[k]);
          open = -1;
          quotes = 0;
        }
      }
      if (open >= 0) throw new DataError(file, lines[open], 'not valid CSV: a quoted field is never closed');
    } finally {
      fs.closeSync(fd2);
    }
    return new IndexedFileSource(file, 'csv', rs, re, rl, header);
  }

  get count() {
    return this.starts.length;
  }

  read(i: number): DataRecord {
    const text = readRange(this.fd, this.starts[i], this.ends[i]);
    const line = this.lines[i];
    if (this.format === 'jsonl') return jsonlRecord(this.file, line, text, i === 0);
    let cells: string[];
    try {
      cells = (parseCsv(text, { relax_quotes: false }) as string[][])[0] ?? [];
    } catch (e) {
      throw new DataError(this.file, line, `not valid CSV: ${(e as Error).message}`);
    }
    if (cells.length !== this.header.length) throw new DataError(this.file, line, `has ${cells.length} fields, the header has ${this.header.length}`);
    return { line, values: Object.fromEntries(this.header.map((h, k) => [h, csvCell(cells[k])])) };
  }

  *scan(): Iterable<DataRecord> {
    for (let i = 0; i < this.count; i++) yield this.read(i);
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

/** Opens a data file: indexed when it is large (or `streaming` says so), else read whole. */
export async function openSource(file: string, streaming: 'auto' | boolean = 'auto'): Promise<RecordSource> {
  if (!fs.existsSync(file)) throw new DataError(file, undefined, 'data file not found');
  const big = fs.statSync(file).size > STREAM_THRESHOLD;
  const stream = streaming === true || (streaming === 'auto' && big && formatOf(file) !== 'json');
  if (!stream) return new MemorySource(file, await readAllRecords(file));
  const source = formatOf(file) === 'parquet' ? await IndexedFileSource.openParquet(file) : IndexedFileSource.open(file);
  if (source.count === 0) throw new DataError(file, undefined, 'the data file holds no records');
  return source;
}
