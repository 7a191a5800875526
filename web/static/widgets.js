// Building blocks the tabs and the profile share: panels, stat cards, tables
// whose body is swapped on each update, bars, sparklines, arrows, heatmaps.

import { h, s } from './dom.js';
import { explainable } from './explain.js';
import { fmtInt, fmtNum, userName } from './format.js';
import { getLang, t } from './i18n.js';

/** A titled panel; `actions` go to the right of the title (e.g. a CSV link). */
export function panel(title, options, ...body) {
  const { actions = null, className = '', hint = null } = options || {};
  return h('section', { class: ['panel', className] },
    h('div', { class: 'panel-head' },
      h('h2', null, title),
      hint ? h('span', { class: 'panel-hint' }, hint) : null,
      actions ? h('div', { class: 'panel-actions' }, actions) : null),
    ...body);
}

/** The CSV export link of a tab for a period. */
/** The tab's list as CSV (headers in the page's language) and as JSON. */
export function exportLink(kind, period, filter = 'all') {
  const name = `insights_${kind}_${period}${filter === 'all' ? '' : `_${filter}`}`;
  const query = (lang) => {
    const q = new URLSearchParams({ period });
    if (lang) q.set('lang', lang);
    if (filter !== 'all') q.set('filter', filter);
    return q;
  };
  return h('span', { class: 'export-links' },
    h('a', {
      class: 'btn btn-small', href: `/api/export/${kind}.csv?${query(getLang())}`,
      download: `${name}.csv`, 'data-export': kind,
    }, t('export.csv')),
    h('a', {
      class: 'btn btn-small', href: `/api/export/${kind}.json?${query(null)}`,
      download: `${name}.json`, 'data-export-json': kind,
    }, t('export.json')));
}

/**
 * A row of stat cards. defs: [{key, label, hint?, tone?}]. The element with
 * data-stat="<key>" holds only the number, for tests and screen readers alike.
 */
export function statCards(defs) {
  const values = new Map();
  const el = h('div', { class: 'cards' }, defs.map((d) => {
    const value = h('div', { class: 'card-value num', 'data-stat': d.key }, '—');
    values.set(d.key, value);
    return h('div', { class: ['card', d.tone ? `tone-${d.tone}` : null] },
      h('div', { class: 'card-label' }, d.label),
      value,
      d.hint ? h('div', { class: 'card-hint' }, d.hint) : null);
  }));
  return {
    el,
    update(data) {
      for (const [key, node] of values) {
        const v = data[key];
        node.textContent = fmtInt(v);
      }
    },
  };
}

/**
 * A table patched in place on each update: rows are keyed (rowKey, else the row's
 * data-user-id, else its index), a row's cells are replaced only when their markup
 * changed, and rows move only as far as the new order needs. So focus, selection and
 * an open score explanation survive live updates; a row whose place among the others
 * changed is marked (class row-moved) for a moment.
 * columns: [{label (text or a node: see windowed), num?, className?, minor?,
 *            sortKey?(row, i), cell(row, i) -> Node|string|number}]
 * A minor column is left out on a phone until the table's "All columns" toggle asks
 * for it (CSS), so the important columns fit the screen first.
 * rowAttrs(row) -> attributes of the <tr> (e.g. data-user-id); caption names the table
 * for assistive tech.
 */
export function dataTable(columns, {
  rowAttrs = null, empty = null, className = '', onRowClick = null, rowKey = null,
  sort = null, onSort = null, caption = null,
} = {}) {
  const tbody = h('tbody');
  const colClass = (c) => [c.num ? 'num' : null, c.className, c.minor ? 'col-minor' : null];
  // Sorted by a column ({col, dir}) or, when null, in the server's order.
  let sorting = sort && columns[sort.col] && columns[sort.col].label ? sort : null;
  let shown = [];
  const heads = columns.map((c, col) => {
    const th = h('th', { scope: 'col', class: colClass(c) });
    if (!c.label) return th;       // a column without a name (an arrow) is not sorted by
    th.append(h('button', {
      type: 'button', class: 'sort-btn', onclick: () => sortBy(col),
    }, c.label, h('span', { class: 'sort-mark', 'aria-hidden': 'true' })));
    return th;
  });
  const table = h('table', { class: ['data', className] },
    caption ? h('caption', { class: 'visually-hidden' }, caption) : null,
    h('thead', null, h('tr', null, heads)), tbody);
  const note = h('p', { class: 'empty', hidden: true }, empty || t('empty'));
  const el = h('div', { class: 'table-wrap' }, columnsToggle(columns), table, note);
  if (onRowClick) {
    tbody.addEventListener('click', (e) => {
      const tr = e.target instanceof Element ? e.target.closest('tr') : null;
      if (!tr || (e.target instanceof Element && e.target.closest('a, button'))) return;
      onRowClick(tr, e);
    });
  }
  const keyOf = (row, i) => {
    if (rowKey) return String(rowKey(row, i));
    const attrs = rowAttrs ? rowAttrs(row, i) : null;
    return attrs && attrs['data-user-id'] !== undefined ? `u${attrs['data-user-id']}` : `i${i}`;
  };
  const render = (row, i) => {
    const attrs = { ...(rowAttrs ? rowAttrs(row, i) : {}), 'data-row-key': keyOf(row, i) };
    return h('tr', attrs, columns.map((c) => {
      const v = c.cell(row, i);
      return h('td', { class: colClass(c) },
        typeof v === 'number' ? fmtInt(v) : v);
    }));
  };
  const show = () => {
    heads.forEach((th, col) => {
      const on = sorting && sorting.col === col;
      if (on) th.setAttribute('aria-sort', sorting.dir === 'asc' ? 'ascending' : 'descending');
      else th.removeAttribute('aria-sort');
    });
    const list = sorting ? sortedRows(shown, columns[sorting.col], sorting.dir) : shown;
    patchRows(tbody, list.map(({ row, i }) => render(row, i)));
  };
  // First click: highest first for numbers, A to Z for text; then the other way; then
  // back to the server's order.
  const sortBy = (col) => {
    const first = columns[col].num || columns[col].sortKey ? 'desc' : 'asc';
    if (!sorting || sorting.col !== col) sorting = { col, dir: first };
    else if (sorting.dir === first) sorting = { col, dir: first === 'asc' ? 'desc' : 'asc' };
    else sorting = null;
    show();
    if (onSort) onSort(sorting);
  };
  return {
    el,
    update(rows) {
      const list = Array.isArray(rows) ? rows : [];
      shown = list.map((row, i) => ({ row, i }));    // i: the row's place as sent
      show();
      note.hidden = list.length > 0;
      table.hidden = list.length === 0;
    },
  };
}

/** The phone's "All columns" toggle of a table with minor columns (hidden on wider screens). */
function columnsToggle(columns) {
  if (!columns.some((c) => c.minor)) return null;
  const button = h('button', {
    type: 'button', class: 'btn btn-small cols-toggle', 'aria-pressed': 'false',
    onclick: () => {
      const all = button.getAttribute('aria-pressed') !== 'true';
      button.setAttribute('aria-pressed', String(all));
      button.closest('.table-wrap').classList.toggle('all-columns', all);
    },
  }, t('table.all_columns'));
  return button;
}

/** A column label with its window under it ("JS errors" / "7 days"), read as one. */
export function windowed(label, window) {
  return h('span', { class: 'col-label' }, label,
    h('span', { class: 'visually-hidden' }, ', '),
    h('span', { class: 'col-window' }, window));
}

/** The window of the period's counts: "today", "7 days" or "30 days". */
export function periodWindow(period) {
  return t(`window.${period}`);
}

/**
 * A chart's text alternative: its data as a table, behind a "Show as table"
 * disclosure under the chart. It is patched in place like every dataTable, so it
 * follows live updates and stays open once opened.
 */
export function chartTable(caption, columns, rowKey) {
  const table = dataTable(columns, { rowKey, caption, className: 'chart-data' });
  const el = h('details', { class: 'chart-table' },
    h('summary', null, t('chart.show_table')), table.el);
  return { el, update: table.update };
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

/** The column's sort key of a row: ``sortKey``, else the number or text the cell shows. */
function sortKey(column, row, i) {
  if (column.sortKey) return column.sortKey(row, i);
  const v = column.cell(row, i);
  if (typeof v === 'number') return v;
  return v instanceof Node ? v.textContent : String(v ?? '');
}

/** Rows by a column (nulls last whichever way; ties keep the server's order). */
function sortedRows(rows, column, dir) {
  const sign = dir === 'asc' ? 1 : -1;
  const keyed = rows.map((r) => ({ r, k: sortKey(column, r.row, r.i) }));
  keyed.sort((a, b) => {
    const x = a.k; const y = b.k;
    const xNone = x === null || x === undefined || x === ''; const yNone = y === null || y === undefined || y === '';
    if (xNone || yNone) return xNone === yNone ? a.r.i - b.r.i : (xNone ? 1 : -1);
    const c = typeof x === 'number' && typeof y === 'number' ? x - y : collator.compare(String(x), String(y));
    return c === 0 ? a.r.i - b.r.i : sign * c;
  });
  return keyed.map((k) => k.r);
}

const MOVED_MS = 1500;

/** Make tbody's rows the rendered ``fresh`` ones, reusing each row of the same key. */
function patchRows(tbody, fresh) {
  const active = document.activeElement;
  const focused = active && tbody.contains(active) ? active : null;
  const old = new Map([...tbody.children].map((tr) => [tr.dataset.rowKey, tr]));
  const rankBefore = new Map([...tbody.children].map((tr, i) => [tr.dataset.rowKey, i]));
  const rows = fresh.map((tr) => {
    const kept = old.get(tr.dataset.rowKey);
    if (!kept) return tr;
    old.delete(tr.dataset.rowKey);
    patchRow(kept, tr);
    return kept;
  });
  old.forEach((tr) => tr.remove());
  rows.forEach((tr, i) => {
    if (tbody.children[i] !== tr) tbody.insertBefore(tr, tbody.children[i] || null);
  });
  // Moved: its place among the rows that were there before changed.
  const stayed = rows.filter((tr) => rankBefore.has(tr.dataset.rowKey));
  const order = [...stayed].sort((a, b) => rankBefore.get(a.dataset.rowKey) - rankBefore.get(b.dataset.rowKey));
  stayed.forEach((tr, i) => { if (order[i] !== tr) markMoved(tr); });
  if (focused && focused.isConnected && document.activeElement !== focused) {
    focused.focus({ preventScroll: true });
  }
}

function patchRow(tr, fresh) {
  if (tr.classList.contains('row-moved')) fresh.classList.add('row-moved');   // until its time
  [...tr.attributes].forEach(({ name }) => { if (!fresh.hasAttribute(name)) tr.removeAttribute(name); });
  [...fresh.attributes].forEach(({ name, value }) => {
    if (tr.getAttribute(name) !== value) tr.setAttribute(name, value);
  });
  [...fresh.children].forEach((td, i) => {
    const cell = tr.children[i];
    if (!cell) tr.append(td);
    else if (cell.outerHTML !== td.outerHTML) cell.replaceWith(td);
  });
  while (tr.children.length > fresh.children.length) tr.lastElementChild.remove();
}

const movedTimers = new WeakMap();

function markMoved(tr) {
  tr.classList.add('row-moved');
  clearTimeout(movedTimers.get(tr));
  movedTimers.set(tr, setTimeout(() => tr.classList.remove('row-moved'), MOVED_MS));
}

/** A form control with its label (the label wraps it, so no id is needed). */
export function formField(label, control) {
  return h('label', { class: 'field' }, h('span', { class: 'field-label' }, label), control);
}

/** A horizontal bar, pct 0..100. */
export function bar(pct, tone = '') {
  const fill = h('span', { class: ['bar-fill', tone ? `tone-${tone}` : null] });
  fill.style.setProperty('width', `${Math.max(0, Math.min(100, Number(pct) || 0))}%`);
  return h('span', { class: 'bar', 'aria-hidden': 'true' }, fill);
}

/** A label, a bar and a count in one cell-sized row. */
export function barRow(label, pct, count, { tone = '', labelTitle = null, mono = true } = {}) {
  return h('div', { class: ['bar-row', mono ? 'mono' : null] },
    h('span', { class: 'bar-label', title: labelTitle || (typeof label === 'string' ? label : null) }, label),
    bar(pct, tone),
    h('span', { class: 'bar-count num' }, fmtInt(count)));
}

/** A list of bar rows, or the empty note. */
export function barList(items, { empty = null, tone = '', mono = true } = {}) {
  if (!items || items.length === 0) return h('p', { class: 'empty' }, empty || t('empty'));
  return h('div', { class: 'bar-list' },
    items.map((it) => barRow(it.label, it.pct, it.count, { tone, mono })));
}

/** A 7-day sparkline as inline SVG (no canvas per row: 50 rows stay cheap). */
export function sparkline(values, { width = 84, height = 22 } = {}) {
  const list = (Array.isArray(values) ? values : []).map((v) => Number(v) || 0);
  const svg = s('svg', {
    class: 'sparkline', width, height, viewBox: `0 0 ${width} ${height}`,
    role: 'img', 'aria-label': t('spark.label', { values: list.map(fmtInt).join('; ') }),
  });
  if (list.length === 0) return svg;
  const max = Math.max(1, ...list);
  const step = list.length > 1 ? (width - 4) / (list.length - 1) : 0;
  const points = list.map((v, i) => [2 + i * step, height - 2 - (v / max) * (height - 4)]);
  const line = points.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ');
  const area = `2,${height - 2} ${line} ${(2 + (list.length - 1) * step).toFixed(1)},${height - 2}`;
  svg.append(
    s('polygon', { class: 'spark-area', points: area }),
    s('polyline', { class: 'spark-line', points: line }),
    s('circle', { class: 'spark-dot', cx: points.at(-1)[0], cy: points.at(-1)[1], r: 2 }),
    s('title', null, list.map(fmtInt).join(' · ')));
  return svg;
}

/** Week-over-week change: ▲ 12% / ▼ 8% / 0% / — (no views in either period). */
export function wowArrow(wow) {
  if (wow === null || wow === undefined) {
    return h('span', { class: 'wow flat', title: t('wow.none'), 'data-wow': '' }, '—');
  }
  const n = Number(wow);
  const dir = n > 0 ? 'up' : n < 0 ? 'down' : 'flat';
  const arrow = n > 0 ? '▲ ' : n < 0 ? '▼ ' : '';
  return h('span', { class: ['wow', dir], 'data-wow': String(n), title: t('wow.title') },
    `${arrow}${fmtInt(Math.abs(n))}%`);
}

export function badge(text, tone = 'neutral') {
  return h('span', { class: ['badge', `tone-${tone}`] }, text);
}

/** A user's name (a link to the profile) over the e-mail. */
export function userCell(user) {
  const id = Number(user && user.id);
  return h('div', { class: 'user-cell' },
    h('a', { href: `#/users/${id}`, class: 'user-link', 'data-user-link': String(id) }, userName(user)),
    user && user.email && user.name ? h('span', { class: 'user-email' }, user.email) : null);
}

/** A score with a small bar; explainable when the row carries components. */
export function scoreCell(kind, score, components, key, note = null) {
  const n = Number(score) || 0;
  const value = h('span', { class: 'score-value num' }, fmtInt(n));
  const wrap = h('span', { class: ['score', `score-${kind}`, `level-${scoreLevel(kind, n)}`] },
    bar(n, kind === 'problem' ? 'red' : 'blue'), value);
  explainable(wrap, { kind, score: n, components, key, note });
  return wrap;
}

export function scoreLevel(kind, n) {
  if (kind === 'problem') return n >= 60 ? 'high' : n >= 25 ? 'mid' : 'low';
  return n >= 60 ? 'high' : n >= 20 ? 'mid' : 'low';
}

/**
 * A heatmap grid: rows [{label, cells: [{count, intensity}]}], columns labelled
 * colLabels. Intensity 0..100 shades the cell (a CSS custom property).
 */
export function heatmap(rows, colLabels, { cellTitle } = {}) {
  const grid = h('div', { class: 'heatmap', role: 'table' });
  grid.style.setProperty('--cols', String(colLabels.length));
  // Rows are there for assistive tech only (display: contents keeps the grid).
  grid.append(h('div', { class: 'hm-line', role: 'row' },
    h('div', { class: 'hm-corner', role: 'columnheader' }),
    ...colLabels.map((c, i) => h('div', { class: ['hm-col', i % 3 ? 'hm-col-minor' : null],
      role: 'columnheader' }, h('span', null, c)))));
  for (const row of rows) {
    const line = h('div', { class: 'hm-line', role: 'row' },
      h('div', { class: 'hm-row', role: 'rowheader' }, row.label));
    grid.append(line);
    row.cells.forEach((cell, i) => {
      const el = h('div', {
        class: 'hm-cell', role: 'cell',
        title: cellTitle ? cellTitle(row, i, cell) : fmtInt(cell.count),
        'data-count': String(cell.count),
      }, h('span', { class: 'visually-hidden' }, fmtInt(cell.count)));
      const k = Math.max(0, Math.min(100, Number(cell.intensity) || 0)) / 100;
      el.style.setProperty('--k', k.toFixed(3));
      if (k > 0.55) el.classList.add('dark');
      line.append(el);
    });
  }
  // Each cell holds its count (visually hidden): the grid is the chart's own data table.
  // Focusable, so a keyboard can scroll it where it is wider than the screen.
  return h('div', { class: 'heatmap-wrap', tabindex: '0' }, grid);
}

/** A chart's canvas, named for assistive tech (its data is in the chartTable below it). */
export function canvasBox(className = '', label = null) {
  const canvas = h('canvas', label ? { role: 'img', 'aria-label': t('chart.label', { title: label }) } : null);
  return { canvas, el: h('div', { class: ['chart-box', className] }, canvas) };
}

export function kv(label, value, statKey = null, unit = null) {
  return h('div', { class: 'kv' },
    h('div', { class: 'kv-label' }, label),
    h('div', { class: 'kv-value' },
      h('span', { class: 'num', 'data-stat': statKey }, value),
      unit ? h('span', { class: 'kv-unit' }, unit) : null));
}

export { fmtNum };
