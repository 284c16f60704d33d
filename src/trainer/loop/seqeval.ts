// Entity-level precision, recall and F1 over IOB2 tag sequences, as seqeval's default
// (conlleval-compatible) mode scores them — what Hugging Face's run_ner example reports — and
// token accuracy. A tag is "B-TYPE", "I-TYPE" or "O"; an I- tag that does not continue an
// entity of its type starts one, as conlleval does.

export interface Entity {
  type: string;
  start: number;
  /** Inclusive. */
  end: number;
}

function split(tag: string): { prefix: string; type: string } {
  const m = /^([BIES])[-_](.+)$/.exec(tag);
  return m ? { prefix: m[1], type: m[2] } : { prefix: tag === 'O' ? 'O' : 'B', type: tag === 'O' ? '' : tag };
}

/** The entities of one tag sequence. */
export function entitiesOf(tags: readonly string[]): Entity[] {
  const out: Entity[] = [];
  let current: Entity | undefined;
  tags.forEach((tag, i) => {
    const { prefix, type } = split(tag);
    const continues = current && (prefix === 'I' || prefix === 'E') && type === current.type;
    if (continues) {
      current!.end = i;
    } else {
      current = prefix === 'O' ? undefined : { type, start: i, end: i };
      if (current) out.push(current);
    }
    if (prefix === 'E' || prefix === 'S') current = undefined;
  });
  return out;
}

/** Micro-averaged entity precision / recall / F1 and token accuracy over sentences. */
export function seqevalScores(predicted: readonly string[][], gold: readonly string[][]): { precision: number; recall: number; f1: number; accuracy: number } {
  let found = 0;
  let expected = 0;
  let correct = 0;
  let tokens = 0;
  let right = 0;
  predicted.forEach((p, s) => {
    const key = (e: Entity) => `${e.type}:${e.start}:${e.end}`;
    const want = new Set(entitiesOf(gold[s]).map(key));
    const got = entitiesOf(p).map(key);
    found += got.length;
    expected += want.size;
    correct += got.filter((k) => want.has(k)).length;
    p.forEach((t, i) => {
      tokens++;
      if (t === gold[s][i]) right++;
    });
  });
  const precision = found ? correct / found : 0;
  const recall = expected ? correct / expected : 0;
  const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
  return { precision, recall, f1, accuracy: tokens ? right / tokens : 0 };
}
