// Terminal output of a run: a progress bar with ETA and samples/s on a terminal (stderr), and
// each log entry printed as a line, as Hugging Face's ProgressCallback / PrinterCallback do.

import type { TrainerCallback } from '../loop/callbacks';

export interface ProgressOptions {
  /** Write a redrawn bar (a TTY) or only log lines (pipes, CI). */
  bar: boolean;
  write: (text: string) => void;
  samplesPerStep: number;
}

function formatTime(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const two = (n: number) => String(n).padStart(2, '0');
  return h ? `${h}:${two(m)}:${two(sec)}` : `${two(m)}:${two(sec)}`;
}

/** Four significant digits, as Hugging Face's printer (":.4g"). */
function formatValue(v: number): string {
  if (Number.isInteger(v) || !Number.isFinite(v)) return String(v);
  return Math.abs(v) >= 1e-4 && Math.abs(v) < 1e6 ? String(Number(v.toPrecision(4))) : v.toExponential(3);
}

export function progressCallback(opts: ProgressOptions): TrainerCallback {
  let start = 0;
  let firstStep = 0;
  let lastDraw = 0;
  let drawn = false;
  const draw = (step: number, total: number, force = false) => {
    const now = performance.now();
    if (!force && now - lastDraw < 100) return;
    lastDraw = now;
    const done = step - firstStep;
    const elapsed = (now - start) / 1000;
    const rate = done > 0 ? done / elapsed : 0;
    const eta = rate > 0 ? (total - step) / rate : Infinity;
    const width = 30;
    const filled = Math.round((width * step) / Math.max(total, 1));
    const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
    const pct = Math.floor((100 * step) / Math.max(total, 1));
    opts.write(`\r${String(pct).padStart(3)}%|${bar}| ${step}/${total} [${formatTime(elapsed)}<${formatTime(eta)}, ${(rate * opts.samplesPerStep).toFixed(1)} samples/s]`);
    drawn = true;
  };
  const clear = () => {
    if (drawn) opts.write('\r\x1b[2K');
    drawn = false;
  };
  return {
    name: 'ProgressCallback',
    on_train_begin: (_a, state) => {
      start = performance.now();
      firstStep = state.global_step;
      if (opts.bar) draw(state.global_step, state.max_steps, true);
    },
    on_step_end: (_a, state) => {
      if (opts.bar) draw(state.global_step, state.max_steps);
    },
    on_log: (_a, state, _c, extras) => {
      const logs = extras.logs ?? {};
      const text = Object.entries(logs).map(([k, v]) => `'${k}': ${formatValue(v)}`).join(', ');
      if (opts.bar) clear();
      opts.write(`{${text}}\n`);
      if (opts.bar && state.max_steps) draw(state.global_step, state.max_steps, true);
    },
    on_train_end: (_a, state) => {
      if (opts.bar) {
        draw(state.global_step, state.max_steps, true);
        opts.write('\n');
      }
    },
  };
}
