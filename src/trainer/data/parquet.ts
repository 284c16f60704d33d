// Parquet data files (what Hugging Face datasets publishes), read with hyparquet one row group at
// a time so that memory holds a single row group, never the whole file. Records are numbered by
// row (1-based), which data errors report where other formats report a line.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AsyncBuffer, FileMetaData } from 'hyparquet' with { 'resolution-mode': 'import' };
import { DataError } from '../errors';
import type { DataRecord } from './readers';

/** Values as the other formats give them: JSON-like numbers, strings, arrays and objects. */
function plain(file: string, row: number, column: string, v: unknown): unknown {
  if (typeof v === 'bigint') {
    const n = Number(v);
    if (!Number.isSafeInteger(n)) throw new DataError(file, row, `column "${column}": the integer ${v} is beyond 2^53 and would lose digits`);
    return n;
  }
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v) || ArrayBuffer.isView(v)) return Array.from(v as ArrayLike<unknown>, (x) => plain(file, row, column, x));
  if (typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(file, row, column, x)]));
  return v;
}

/** An open file read in the byte ranges hyparquet asks for (its footer, then column chunks). */
function fileBuffer(handle: fs.promises.FileHandle, size: number): AsyncBuffer {
  return {
    byteLength: size,
    async slice(start: number, end = size) {
      const out = new Uint8Array(end - start);
      await handle.read(out, 0, out.length, start);
      return out.buffer;
    },
  };
}

/** Streams the rows of a Parquet file, one row group in memory at a time. */
export async function* readParquet(file: string): AsyncGenerator<DataRecord> {
  // hyparquet is an ES module; this bundle is CommonJS, so it is loaded on first use.
  const { parquetMetadataAsync, parquetReadObjects } = await import('hyparquet');
  const { compressors } = await import('hyparquet-compressors');
  const unreadable = (e: unknown) => new DataError(file, undefined, `not a readable Parquet file: ${(e as Error).message}`);
  const handle = await fs.promises.open(file, 'r');
  try {
    const buffer = fileBuffer(handle, (await handle.stat()).size);
    let metadata: FileMetaData;
    try {
      metadata = await parquetMetadataAsync(buffer);
    } catch (e) {
      throw unreadable(e);
    }
    let rowStart = 0;
    for (const group of metadata.row_groups) {
      const rowEnd = rowStart + Number(group.num_rows);
      let rows: Record<string, unknown>[];
      try {
        rows = await parquetReadObjects({ file: buffer, metadata, rowStart, rowEnd, compressors });
      } catch (e) {
        throw unreadable(e);
      }
      for (let k = 0; k < rows.length; k++) {
        const line = rowStart + k + 1;
        const values: Record<string, unknown> = {};
        for (const [column, v] of Object.entries(rows[k])) values[column] = plain(file, line, column, v);
        yield { line, values };
      }
      rowStart = rowEnd;
    }
  } finally {
    await handle.close();
  }
}

let spoolDir: string | undefined;
let spooled = 0;

/**
 * Copies a Parquet file's rows into a JSONL file (one row per line, so line numbers are row
 * numbers) in a temporary folder removed when the process exits. Streaming reads records in any
 * order, which row groups do not allow cheaply; the copy costs disk, not memory.
 */
export async function spoolParquet(file: string): Promise<string> {
  if (!spoolDir) {
    spoolDir = fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-trainer-parquet-'));
    const dir = spoolDir;
    process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  }
  const out = path.join(spoolDir, `${spooled++}-${path.basename(file)}.jsonl`);
  const fd = fs.openSync(out, 'w');
  try {
    let chunk: string[] = [];
    for await (const r of readParquet(file)) {
      chunk.push(JSON.stringify(r.values));
      if (chunk.length === 4096) {
        fs.writeSync(fd, chunk.join('\n') + '\n');
        chunk = [];
      }
    }
    if (chunk.length) fs.writeSync(fd, chunk.join('\n') + '\n');
  } finally {
    fs.closeSync(fd);
  }
  return out;
}
