// Download progress on stderr, like huggingface_hub's tqdm bars: a bar redrawn in place on a
// terminal, one line per file elsewhere (pipes, CI, the extension's output channel).

/** What the downloader tells about each file it fetches. */
export interface DownloadProgress {
  /** A file starts (or resumes at `already` bytes of `total`). */
  start(file: string, total: number, already: number): void;
  /** `bytes` more arrived. */
  advance(bytes: number): void;
  /** The file is complete. */
  done(): void;
  /** Another process is downloading the file; this one waits for it. */
  wait(file: string, pid: number): void;
}

/** Sizes as huggingface_hub prints them (decimal units). */
export function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i ? v.toFixed(1) : v}${units[i]}`;
}

/** A progress reporter writing to `write` (stderr): a redrawn bar when `bar`, plain lines otherwise. */
export function downloadProgress(write: (text: string) => void, bar: boolean): DownloadProgress {
  let file = '';
  let total = 0;
  let received = 0;
  let resumedAt = 0;
  let started = 0;
  let lastDraw = 0;
  const draw = (force: boolean) => {
    const now = performance.now();
    if (!force && now - lastDraw < 100) return;
    lastDraw = now;
    const fraction = total > 0 ? Math.min(1, received / total) : 1;
    const width = 24;
    const filled = Math.round(fraction * width);
    const seconds = (now - started) / 1000;
    const rate = seconds > 0 ? (received - resumedAt) / seconds : 0;
    write(`\r${file}: ${String(Math.round(fraction * 100)).padStart(3)}%|${'█'.repeat(filled)}${' '.repeat(width - filled)}| ` +
      `${formatBytes(received)}/${formatBytes(total)} [${formatBytes(rate)}/s]\x1b[K`);
  };
  return {
    start(name, size, already) {
      file = name;
      total = size;
      received = already;
      resumedAt = already;
      started = performance.now();
      if (bar) draw(true);
      else write(`Downloading ${name} (${formatBytes(size)}${already ? `, resuming at ${formatBytes(already)}` : ''})\n`);
    },
    advance(bytes) {
      received += bytes;
      if (bar) draw(false);
    },
    done() {
      if (bar) {
        draw(true);
        write('\n');
      }
    },
    wait(name, pid) {
      write(`Waiting for process ${pid}, which is downloading ${name}\n`);
    },
  };
}

/** Reports nothing (library use, tests that do not look at progress). */
export const NO_PROGRESS: DownloadProgress = { start() {}, advance() {}, done() {}, wait() {} };
