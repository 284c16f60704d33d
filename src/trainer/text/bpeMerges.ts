// Learns BPE merges from counted words, as the Rust `tokenizers` BpeTrainer does (models/bpe/
// trainer.rs), which is also the core of its WordPieceTrainer: repeatedly merge the most frequent
// adjacent pair of symbols, across every word, into a new symbol, until the vocabulary is big
// enough or no pair is frequent enough. A pair's count is the sum of the counts of the words it
// occurs in, once per occurrence.
//
// Ties go to the smallest (left id, right id), Rust's rule, so the result is deterministic given
// the initial ids. Two things differ from Rust on purpose: Rust never lowers the count of the
// pair it just merged and merges only the words recorded with the queue entry it popped, which
// can repeat a merge when two merges produce the same string; here counts stay exact, and each
// merge happens once in every word that holds the pair.

export interface CountedWord {
  /** Symbol ids, left to right. */
  symbols: number[];
  count: number;
}

export interface MergeOptions {
  /** Stop once the vocabulary holds this many tokens. */
  vocabSize: number;
  /** Stop when the best pair occurs fewer times than this. */
  minFrequency: number;
  /** Marks a symbol that continues a word ("##"); dropped from the right part when merging. */
  continuingPrefix: string;
}

/** Pairs are keyed as left · 2^26 + right: exact in a double, and ordered like (left, right). */
const SHIFT = 2 ** 26;

/** A binary max-heap of (count, pair key): larger count first, then the smaller key. */
class PairHeap {
  private readonly counts: number[] = [];
  private readonly keys: number[] = [];

  get size(): number {
    return this.keys.length;
  }

  private before(i: number, j: number): boolean {
    return this.counts[i] !== this.counts[j] ? this.counts[i] > this.counts[j] : this.keys[i] < this.keys[j];
  }

  private swap(i: number, j: number): void {
    [this.counts[i], this.counts[j]] = [this.counts[j], this.counts[i]];
    [this.keys[i], this.keys[j]] = [this.keys[j], this.keys[i]];
  }

  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    for (let i = this.keys.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  pop(): { count: number; key: number } {
    const top = { count: this.counts[0], key: this.keys[0] };
    const last = this.keys.length - 1;
    this.swap(0, last);
    this.counts.pop();
    this.keys.pop();
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      const r = l + 1;
      let best = i;
      if (l < last && this.before(l, best)) best = l;
      if (r < last && this.before(r, best)) best = r;
      if (best === i) break;
      this.swap(i, best);
      i = best;
    }
    return top;
  }
}

/**
 * Merges symbols in `words` (changed in place) and grows `vocab` (id → token) with the merged
 * tokens; returns the merges in order, as pairs of ids.
 */
export function learnMerges(words: CountedWord[], vocab: string[], options: MergeOptions): [number, number][] {
  const ids = new Map(vocab.map((token, id) => [token, id]));
  const pairCounts = new Map<number, number>();
  const where = new Map<number, Set<number>>();
  const changed = new Set<number>();
  let wordIndex = 0;
  const add = (key: number, delta: number) => {
    pairCounts.set(key, (pairCounts.get(key) ?? 0) + delta);
    if (delta <= 0) return;
    changed.add(key);
    let set = where.get(key);
    if (!set) where.set(key, (set = new Set()));
    set.add(wordIndex);
  };
  for (wordIndex = 0; wordIndex < words.length; wordIndex++) {
    const { symbols, count } = words[wordIndex];
    for (let i = 0; i + 1 < symbols.length; i++) add(symbols[i] * SHIFT + symbols[i + 1], count);
  }
  const heap = new PairHeap();
  for (const key of changed) heap.push(pairCounts.get(key)!, key);

  const merges: [number, number][] = [];
  const prefix = options.continuingPrefix;
  while (vocab.length < options.vocabSize && heap.size > 0) {
    const top = heap.pop();
    const current = pairCounts.get(top.key) ?? 0;
    if (current !== top.count) {
      // A stale entry: the count fell since it was queued (rises are queued when they happen).
      if (current > 0) heap.push(current, top.key);
      continue;
    }
    if (current < 1 || current < options.minFrequency) break;
    const a = Math.floor(top.key / SHIFT);
    const b = top.key % SHIFT;
    const right = vocab[b].startsWith(prefix) ? vocab[b].slice(prefix.length) : vocab[b];
    const token = vocab[a] + right;
    let id = ids.get(token);
    if (id === undefined) {
      id = vocab.length;
      if (id >= SHIFT) throw new Error(`BPE vocabulary larger than ${SHIFT}`);
      vocab.push(token);
      ids.set(token, id);
    }
    merges.push([a, b]);

    changed.clear();
    const holders = where.get(top.key) ?? new Set<number>();
    where.delete(top.key);
    // `add` records the word by the shared wordIndex, hence the loop variable outside the loop.
    for (wordIndex of holders) mergeWord(words[wordIndex], a, b, id, add);
    for (const key of changed) {
      const count = pairCounts.get(key)!;
      if (count > 0) heap.push(count, key);
    }
  }
  return merges;
}

/**
 * Replaces each occurrence of (a, b) in the word, left to right, by `id`, reporting the pair
 * counts that change. The left neighbour is read from the output so far, so a run like
 * "a b a b" counts (ab, ab) once, as Rust's in-place merge does.
 */
function mergeWord(word: CountedWord, a: number, b: number, id: number, add: (key: number, delta: number) => void): void {
  const s = word.symbols;
  const c = word.count;
  const out: number[] = [];
  let i = 0;
  while (i < s.length) {
    if (s[i] === a && i + 1 < s.length && s[i + 1] === b) {
      if (out.length > 0) {
        const left = out[out.length - 1];
        add(left * SHIFT + a, -c);
        add(left * SHIFT + id, c);
      }
      if (i + 2 < s.length) {
        add(b * SHIFT + s[i + 2], -c);
        add(id * SHIFT + s[i + 2], c);
      }
      add(a * SHIFT + b, -c);
      out.push(id);
      i += 2;
    } else {
      out.push(s[i]);
      i++;
    }
  }
  word.symbols = out;
}
