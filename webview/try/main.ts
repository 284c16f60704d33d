// The Try view (browser side): a form for the model's input (text, a pair, question + context,
// an image file, or a data record) and its answer in the task's natural form. Plain DOM with the
// theme's CSS variables; the answer is drawn by answerView.ts (pure, unit-tested).

import type { ExtensionToTry, TryForm, TryToExtension } from '../../src/tryViewProtocol';
import type { TryInput } from '../../src/protocol';
import { assertNever } from '../../src/protocol';
import { AnswerNode, answerNodes } from './answerView';

interface VsCodeApi {
  postMessage(msg: TryToExtension): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const form = document.getElementById('form') as HTMLFormElement;
const status = document.getElementById('status')!;
const answer = document.getElementById('answer')!;
let imagePath: string | undefined;

function field(name: string, label: string, opts: { rows?: number; placeholder?: string } = {}): HTMLTextAreaElement {
  const wrap = document.createElement('label');
  wrap.className = 'field';
  wrap.textContent = label;
  const area = document.createElement('textarea');
  area.name = name;
  area.rows = opts.rows ?? 3;
  area.placeholder = opts.placeholder ?? '';
  wrap.appendChild(area);
  form.appendChild(wrap);
  return area;
}

function setup(kind: TryForm) {
  form.replaceChildren();
  switch (kind) {
    case 'text':
      field('text', 'Text', { placeholder: 'Type a sentence, then Try (Ctrl+Enter)' });
      break;
    case 'pair':
      field('text', 'Text', { placeholder: 'Type a sentence, then Try (Ctrl+Enter)' });
      field('textPair', 'Second text (sentence pairs only)', { rows: 2 });
      break;
    case 'qa':
      field('question', 'Question', { rows: 2 });
      field('context', 'Context', { rows: 6 });
      break;
    case 'image': {
      const pick = document.createElement('button');
      pick.type = 'button';
      pick.id = 'pick';
      pick.textContent = 'Choose an image…';
      pick.addEventListener('click', () => vscode.postMessage({ type: 'pickImage' }));
      const shown = document.createElement('span');
      shown.id = 'image-path';
      form.append(pick, shown);
      break;
    }
    case 'record':
      field('record', 'A data record (JSON), as in your data files', { rows: 4, placeholder: '{"features": [0.5, 1.2]}' });
      break;
    default:
      assertNever(kind);
  }
  const submit = document.createElement('button');
  submit.type = 'submit';
  submit.id = 'try';
  submit.textContent = 'Try';
  form.appendChild(submit);
  form.querySelector('textarea')?.focus();
}

function inputOf(): TryInput {
  const input: TryInput = {};
  for (const area of Array.from(form.querySelectorAll('textarea'))) {
    if (area.value.trim()) (input as Record<string, string>)[area.name] = area.value;
  }
  if (imagePath) input.image = imagePath;
  return input;
}

function draw(nodes: AnswerNode[], into: HTMLElement) {
  into.replaceChildren(...nodes.map((n) => {
    const el = document.createElement(n.tag);
    if (n.className) el.className = n.className;
    if (n.text !== undefined) el.textContent = n.text;
    if (n.title) el.title = n.title;
    if (n.width !== undefined) el.style.width = `${n.width}%`;
    if (n.children) draw(n.children, el);
    return el;
  }));
}

form.addEventListener('submit', (e) => {
  e.preventDefault();
  vscode.postMessage({ type: 'ask', input: inputOf() });
});
form.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) form.requestSubmit();
});

window.addEventListener('message', (event: MessageEvent<ExtensionToTry>) => {
  const m = event.data;
  switch (m.type) {
    case 'setup':
      setup(m.form);
      break;
    case 'busy':
      status.textContent = m.message;
      status.dataset.state = 'busy';
      break;
    case 'answer':
      status.textContent = `Answered in ${m.seconds.toFixed(1)} s`;
      status.dataset.state = 'done';
      draw(answerNodes(m.answer), answer);
      break;
    case 'error':
      status.textContent = m.message;
      status.dataset.state = 'error';
      answer.replaceChildren();
      break;
    case 'image':
      imagePath = m.path;
      document.getElementById('image-path')!.textContent = m.path;
      break;
    default:
      assertNever(m);
  }
});

vscode.postMessage({ type: 'ready' });
