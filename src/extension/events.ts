// Events and disposables without the `vscode` module, so that the parts of the extension that
// hold no UI (runs, run directories) can be tested in plain Node. Shapes match vscode.Event and
// vscode.Disposable, so both kinds mix freely in one DisposableStore.

export interface Disposable {
  dispose(): unknown;
}

export type Event<T> = (listener: (e: T) => unknown) => Disposable;

/** A typed event source; `listenerCount` lets tests check that every subscription was disposed. */
export class Emitter<T> {
  private listeners = new Set<(e: T) => unknown>();

  readonly event: Event<T> = (listener) => {
    // Wrapping makes a listener subscribed twice count twice, as in VS Code.
    const entry = (e: T) => listener(e);
    this.listeners.add(entry);
    return { dispose: () => this.listeners.delete(entry) };
  };

  fire(e: T): void {
    for (const l of [...this.listeners]) {
      try {
        l(e);
      } catch (err) {
        // One broken listener must not starve the others.
        console.error(err);
      }
    }
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  dispose(): void {
    this.listeners.clear();
  }
}

/**
 * Runs `fn` at most once per `ms`: the first request opens a window and later requests in it
 * merge into that one call. Views use it to redraw twice a second while a run reports progress.
 */
export class Throttle implements Disposable {
  private pending: NodeJS.Timeout | undefined;
  /** `ms`: the delay, or a function of the moment of the request that gives it. */
  constructor(private readonly fn: () => void, private readonly ms: number | (() => number)) {}

  request(): void {
    if (this.pending) return;
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.fn();
    }, typeof this.ms === 'number' ? this.ms : this.ms());
  }

  dispose(): void {
    clearTimeout(this.pending);
    this.pending = undefined;
  }
}

/** Owns disposables and disposes them newest first, once. */
export class DisposableStore implements Disposable {
  private items: Disposable[] = [];
  private disposed = false;

  add<T extends Disposable>(d: T): T {
    if (this.disposed) {
      d.dispose();
    } else {
      this.items.push(d);
    }
    return d;
  }

  /** Runs `fn` on dispose. */
  onDispose(fn: () => void): void {
    this.add({ dispose: fn });
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  get size(): number {
    return this.items.length;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const items = this.items.reverse();
    this.items = [];
    for (const d of items) {
      try {
        d.dispose();
      } catch (err) {
        console.error(err);
      }
    }
  }
}
