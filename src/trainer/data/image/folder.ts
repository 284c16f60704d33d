// A folder in Hugging Face datasets' `imagefolder` layout as a record source: one subfolder per
// class (its name is the label; the names sorted give the ids), PNG and JPEG files inside (also in
// deeper folders, labelled by their class folder). Images directly in the folder have no label
// (data to predict on). Records are {image: absolute path, label: class name}, like the rows of
// an image-path data file; decoding happens when records become examples (imageSetup.ts).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError } from '../../errors';
import { DataRecord } from '../readers';
import { MemorySource, RecordSource } from '../source';
import { isImageFile } from './decode';

/** Image files under `dir` (hidden entries skipped), sorted, as paths relative to `dir`. */
function imagesUnder(dir: string, rel = ''): string[] {
  const out: string[] = [];
  const entries = fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).filter((e) => !e.name.startsWith('.'));
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const child = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...imagesUnder(dir, child));
    else if (isImageFile(e.name)) out.push(child);
  }
  return out;
}

export class ImageFolderSource extends MemorySource {
  private constructor(file: string, records: DataRecord[]) {
    super(file, records);
  }

  /** Lists the folder's images (undefined when it holds none); images both loose and in class folders are an error. */
  static open(folder: string, column: string): ImageFolderSource | undefined {
    const files = imagesUnder(folder);
    if (!files.length) return undefined;
    const loose = files.filter((f) => !f.includes('/'));
    if (loose.length && loose.length < files.length) {
      throw new DataError(path.join(folder, loose[0]), undefined, 'is directly in the image folder, beside class subfolders; put every image in the subfolder of its class');
    }
    const records = files.map((f, i) => {
      const values: Record<string, unknown> = { [column]: path.join(folder, ...f.split('/')) };
      if (f.includes('/')) values.label = f.slice(0, f.indexOf('/'));
      return { line: i + 1, values };
    });
    return new ImageFolderSource(folder, records);
  }

}

/** A source whose examples are rebuilt on each access (`streaming`) instead of kept in memory. */
export function streamed(source: RecordSource): RecordSource {
  if (source.streaming) return source;
  return { file: source.file, count: source.count, streaming: true, read: (i) => source.read(i), scan: () => source.scan() };
}
