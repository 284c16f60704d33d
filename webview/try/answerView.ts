// What the Try view draws for an answer, as a small tree of elements: no DOM here, so unit tests
// run it in Node and main.ts turns it into elements.

import type { TryAnswer } from '../../src/protocol';

export interface AnswerNode {
  tag: 'div' | 'span' | 'p' | 'mark' | 'ol' | 'li';
  className?: string;
  text?: string;
  title?: string;
  /** A bar's width in percent. */
  width?: number;
  children?: AnswerNode[];
}

const percent = (p: number) => `${(100 * p).toFixed(1)}%`;

function bar(label: string, score: number, predicted: boolean): AnswerNode {
  return {
    tag: 'div', className: `score${predicted ? ' predicted' : ''}`,
    children: [
      { tag: 'span', className: 'label', text: label },
      { tag: 'span', className: 'bar', children: [{ tag: 'span', className: 'fill', width: 100 * score }] },
      { tag: 'span', className: 'value', text: percent(score) },
    ],
  };
}

/** The elements of an answer; classification shows the top 10 labels. */
export function answerNodes(a: TryAnswer): AnswerNode[] {
  switch (a.kind) {
    case 'labels':
      return [
        { tag: 'p', className: 'summary', text: a.multiLabel ? `Labels above 0.5: ${a.labels.filter((l) => l.predicted).map((l) => l.label).join(', ') || 'none'}` : `${a.labels[0].label} (${percent(a.labels[0].score)})` },
        ...a.labels.slice(0, 10).map((l) => bar(l.label, l.score, l.predicted)),
      ];
    case 'values':
      return [{ tag: 'p', className: 'summary', text: a.values.map((v) => v.toPrecision(6)).join(', ') }];
    case 'tags':
      return [{
        tag: 'p', className: 'tags',
        children: a.words.map((w, i) => {
          const tag = a.tags[i] ?? '';
          return tag && tag !== 'O' ? { tag: 'mark', title: tag, children: [{ tag: 'span', text: w }, { tag: 'span', className: 'tag', text: tag }] } : { tag: 'span', text: `${w} ` };
        }),
      }];
    case 'span': {
      if (a.start < 0) return [{ tag: 'p', className: 'summary', text: a.answer ? `Answer: ${a.answer}` : 'No answer found in the context.' }];
      const end = a.start + a.answer.length;
      return [
        { tag: 'p', className: 'summary', text: `Answer: ${a.context.slice(a.start, end)}` },
        { tag: 'p', className: 'context', children: [{ tag: 'span', text: a.context.slice(0, a.start) }, { tag: 'mark', text: a.context.slice(a.start, end) }, { tag: 'span', text: a.context.slice(end) }] },
      ];
    }
    case 'fills':
      if (a.fills.length === 0) return [{ tag: 'p', className: 'summary', text: 'No [MASK] token in the text: write one where a word should be filled in.' }];
      return a.fills.map((f, i) => ({
        tag: 'div', className: 'fill-mask',
        children: [{ tag: 'p', className: 'summary', text: `Mask ${i + 1} (token ${f.position})` }, ...f.candidates.map((c, k) => bar(c.token, c.score, k === 0))],
      }));
    case 'generation':
      return [{ tag: 'p', className: 'generation', children: [{ tag: 'span', className: 'prompt', text: a.prompt }, { tag: 'mark', text: a.text.startsWith(a.prompt) ? a.text.slice(a.prompt.length) : a.text }] }];
  }
}
