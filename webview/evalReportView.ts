// The panel's view of eval_report.json: the confusion matrix (rows true, columns predicted, as
// sklearn), shaded by each true class's share so that small and large classes read alike; the
// per-class precision / recall / F1 table; and the misclassified examples, which open the data
// file at their line when clicked. Colours are the theme's: --vscode-charts-blue mixed into the
// editor background (at most 55%, so the theme's foreground text stays readable on it).

import type { PanelEvalReport } from '../src/webviewProtocol';

/** Past this many classes the column headers show class ids (names stay in the tooltips). */
const NAMED_COLUMNS = 12;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

const score = (x: number) => x.toFixed(3);

function matrixTable(r: PanelEvalReport, matrix: number[][]): HTMLElement {
  const compact = r.labels.length > NAMED_COLUMNS;
  const table = el('table', `confusion${compact ? ' compact' : ''}`);
  table.setAttribute('aria-label', 'Confusion matrix: rows are true labels, columns predicted labels');
  const head = el('tr');
  const corner = el('th', 'corner', 'true ╲ predicted');
  head.append(corner);
  r.labels.forEach((name, k) => {
    const th = el('th', 'col', compact ? String(k) : name);
    th.title = `predicted ${name} (id ${k})`;
    th.scope = 'col';
    head.append(th);
  });
  table.append(head);
  matrix.forEach((row, t) => {
    const tr = el('tr');
    const th = el('th', 'row', compact ? `${t} ${r.labels[t]}` : r.labels[t]);
    th.title = `true ${r.labels[t]} (id ${t})`;
    th.scope = 'row';
    tr.append(th);
    const total = row.reduce((a, b) => a + b, 0);
    row.forEach((count, p) => {
      const share = total ? count / total : 0;
      const td = el('td', t === p ? 'cell diagonal' : 'cell', String(count));
      td.dataset.count = String(count);
      // At most 55% blue: the theme's foreground text stays readable on it in light and dark themes.
      td.style.setProperty('--share', `${Math.round(share * 55)}%`);
      if (share > 0.5) td.classList.add('strong');
      // Faint zeros let the few non-zero cells of a large matrix stand out.
      if (count === 0) td.classList.add('zero');
      td.title = `true ${r.labels[t]} → predicted ${r.labels[p]}: ${count} (${(share * 100).toFixed(1)}% of ${r.labels[t]})`;
      tr.append(td);
    });
    table.append(tr);
  });
  return table;
}

function classTable(r: PanelEvalReport): HTMLElement {
  const table = el('table', 'per-class');
  const head = el('tr');
  for (const h of ['label', 'precision', 'recall', 'f1-score', 'support']) head.append(el('th', undefined, h));
  table.append(head);
  for (const c of r.perClass) {
    const tr = el('tr');
    tr.append(el('td', 'label', c.label), el('td', 'num', score(c.precision)), el('td', 'num', score(c.recall)), el('td', 'num', score(c.f1)), el('td', 'num', String(c.support)));
    table.append(tr);
  }
  return table;
}

function examplesList(r: PanelEvalReport, open: (index: number) => void): HTMLElement {
  const box = el('div', 'misclassified');
  const shown = r.misclassified.length;
  box.append(el('h3', undefined, `Misclassified: ${r.misclassifiedTotal} of ${r.numSamples}${shown < r.misclassifiedTotal ? ` (the ${shown} most confident shown)` : ''}`));
  const list = el('ol');
  for (const m of r.misclassified) {
    const li = el('li');
    const where = m.image ?? `${r.position} ${m.line}`;
    const button = el('button', 'example', `${where}: ${m.trueLabel} → ${m.predictedLabel}${m.probability !== undefined ? ` (p=${m.probability.toFixed(2)})` : ''}`);
    button.type = 'button';
    button.title = m.image ? `Open ${m.image}` : `Open ${r.dataFile} at ${where}`;
    button.dataset.line = String(m.line);
    button.addEventListener('click', () => open(m.index));
    li.append(button);
    list.append(li);
  }
  box.append(list);
  return box;
}

/** One run's evaluation report as a section of the panel. */
export function renderEvalReport(runLabel: string, r: PanelEvalReport, open: (index: number) => void): HTMLElement {
  const section = el('section', 'eval-report');
  section.append(el('h2', undefined, `Where the model errs — ${runLabel}${r.checkpoint ? ` (${r.checkpoint})` : ''}`));
  section.append(el('p', 'summary', `${r.dataFile}: ${r.numSamples} samples · accuracy ${score(r.accuracy)} · macro F1 ${score(r.macroF1)} · weighted F1 ${score(r.weightedF1)}`));
  if (r.confusionMatrix) {
    const scroll = el('div', 'matrix-scroll');
    scroll.append(el('div', 'axis axis-x', 'Predicted label'), matrixTable(r, r.confusionMatrix));
    section.append(scroll);
  }
  section.append(classTable(r), examplesList(r, open));
  return section;
}
