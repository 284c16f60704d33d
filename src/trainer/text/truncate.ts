// Truncation with Hugging Face's default strategy for `truncation=True`: 'longest_first', the
// way the Rust `tokenizers` crate computes it (utils/truncation.rs), which is what a fast
// tokenizer — the one AutoTokenizer loads — does. Tokens come off the end (right side).
//
// Longest-first means "take tokens off the longer sequence, one at a time". Rust computes the
// result in closed form; the only thing the phrase leaves open is ties, and Rust's rule is: when
// both must be cut, the shorter budget half goes to the sequence that was shorter (to the first
// if they were equal). Python's slow tokenizers break ties the other way (they cut the second),
// so a slow and a fast tokenizer can differ by one token per sequence; this follows the fast one.

/**
 * How many tokens to keep of a sequence of length `n1` and its pair of length `n2` (undefined
 * for a single sequence) so that together they fit `maxLength`.
 */
export function longestFirst(n1: number, n2: number | undefined, maxLength: number): [number, number] {
  if (n2 === undefined) return [Math.min(n1, maxLength), 0];
  if (n1 + n2 <= maxLength) return [n1, n2];
  const swap = n1 > n2;
  let short = swap ? n2 : n1;
  let long: number;
  // Only the longer one is cut, unless the shorter one alone takes half the budget or more.
  if (short > maxLength) long = short;
  else long = Math.max(short, maxLength - short);
  if (short + long > maxLength) {
    short = Math.floor(maxLength / 2);
    long = short + (maxLength % 2);
  }
  return swap ? [long, short] : [short, long];
}
