// "Why is this score N?": a popover listing a score's components (which
// events, how many, the weight of each, the points each gives) and the cap.
// Hover or keyboard focus shows it; a click or tap pins it open until a click
// elsewhere or Escape. One popover element (#explain) serves the whole page.

import { h, fill } from './dom.js';
import { fmtInt, fmtNum } from './format.js';
import { t } from './i18n.js';

export const SCORE_CAP = 100;

const info = new WeakMap();   // score element -> {kind, score, components, note}
let pop = null;
let anchor = null;
let pinned = false;

/**
 * Makes `el` show the explanation of a score. Without components (an older
 * server) nothing is attached and the score is plain text.
 * kind: 'problem' | 'engagement'; key: stable across re-renders (e.g.
 * "problem:42"), so an open popover survives a live update.
 */
export function explainable(el, { kind, score, components, key, note }) {
  if (!Array.isArray(components) || components.length === 0) return el;
  info.set(el, { kind, score, components, note });
  // In the markup too: a table keeps a cell whose markup did not change (widgets.js).
  el.dataset.components = JSON.stringify(components);
  el.classList.add('explainable');
  el.tabIndex = 0;
  el.setAttribute('role', 'button');
  el.setAttribute('aria-haspopup', 'dialog');
  el.dataset.explainKey = key;
  el.dataset.score = kind;
  el.title = '';
  return el;
}

function componentLabel(name) {
  const key = `comp.${name}`;
  const label = t(key);
  return label === key ? name : label;
}

// Counts, weights and points in the units a person reads. Engagement time comes in
// seconds at 2/60 points a second; it is shown as minutes at 2 points a minute.
function describe(component) {
  const { name, count, weight, points } = component;
  if (name === 'seconds') {
    return {
      count: `${fmtNum(count / 60, 1)} ${t('unit.min')}`,
      weight: `× ${fmtNum(weight * 60, 2)} / ${t('unit.min')}`,
      points: fmtNum(points, 2),
    };
  }
  if (name === 'is_locked') {
    return { count: count ? t('yes') : t('no'), weight: `+${fmtNum(weight, 2)}`, points: fmtNum(points, 2) };
  }
  return { count: fmtNum(count, 2), weight: `× ${fmtNum(weight, 2)}`, points: fmtNum(points, 2) };
}

function build(data) {
  const { kind, score, components, note } = data;
  // Left to right like the server, so the sum matches the float the score comes from.
  let sum = 0;
  for (const c of components) sum += Number(c.points) || 0;
  const rows = components.map((c) => {
    const d = describe(c);
    return h('tr', { class: Number(c.points) ? null : 'zero', 'data-component': c.name },
      h('th', { scope: 'row' }, componentLabel(c.name)),
      h('td', { class: 'num' }, d.count),
      h('td', { class: 'num' }, d.weight),
      h('td', { class: 'num' }, d.points));
  });
  const capped = sum > SCORE_CAP;
  const formula = kind === 'engagement' ? t('explain.formula.engagement') : t('explain.formula.problem');
  return [
    h('div', { class: 'explain-title' },
      t(`explain.title.${kind}`), ' ', h('strong', { class: 'num' }, fmtInt(score))),
    h('table', { class: 'explain-table' },
      h('thead', null, h('tr', null,
        h('th', { scope: 'col' }, t('explain.col.event')),
        h('th', { scope: 'col', class: 'num' }, t('explain.col.count')),
        h('th', { scope: 'col', class: 'num' }, t('explain.col.weight')),
        h('th', { scope: 'col', class: 'num' }, t('explain.col.points')))),
      h('tbody', null, rows),
      h('tfoot', null,
        h('tr', null, h('th', { scope: 'row', colspan: 3 }, t('explain.sum')),
          h('td', { class: 'num' }, fmtNum(sum, 2))),
        h('tr', { class: capped ? 'capped' : null, 'data-cap': SCORE_CAP },
          h('th', { scope: 'row', colspan: 3 }, t('explain.cap', { cap: SCORE_CAP })),
          h('td', { class: 'num' }, capped ? t('explain.capped') : t('explain.notcapped'))),
        h('tr', { class: 'total' }, h('th', { scope: 'row', colspan: 3 }, t('explain.score')),
          h('td', { class: 'num' }, fmtInt(score))))),
    h('p', { class: 'explain-note' }, formula),
    note ? h('p', { class: 'explain-note' }, note) : null,
  ];
}

function place() {
  if (!pop || !anchor) return;
  if (window.matchMedia('(max-width: 640px)').matches) {
    // A bottom sheet on phones (CSS); no coordinates.
    pop.style.removeProperty('left');
    pop.style.removeProperty('top');
    return;
  }
  const r = anchor.getBoundingClientRect();
  const width = pop.offsetWidth;
  const height = pop.offsetHeight;
  let left = r.left + window.scrollX;
  left = Math.min(left, window.scrollX + document.documentElement.clientWidth - width - 8);
  left = Math.max(window.scrollX + 8, left);
  let top = r.bottom + window.scrollY + 6;
  if (r.bottom + height + 12 > window.innerHeight && r.top > height + 12) {
    top = r.top + window.scrollY - height - 6;   // no room below: above it
  }
  pop.style.setProperty('left', `${left}px`);
  pop.style.setProperty('top', `${top}px`);
}

function show(el, pin) {
  const data = info.get(el);
  if (!data || !pop) return;
  if (anchor && anchor !== el) anchor.removeAttribute('aria-expanded');
  anchor = el;
  pinned = pin;
  fill(pop, ...build(data).filter(Boolean));
  pop.dataset.kind = data.kind;
  pop.dataset.for = el.dataset.explainKey;
  pop.dataset.pinned = pin ? '1' : '0';
  pop.hidden = false;
  pop.dataset.open = '1';
  el.setAttribute('aria-expanded', 'true');
  place();
}

export function hideExplain() {
  if (!pop) return;
  pop.hidden = true;
  pop.dataset.open = '0';
  pinned = false;
  if (anchor) anchor.removeAttribute('aria-expanded');
  anchor = null;
}

/** After a re-render: follow the open popover to the new element with the same key. */
export function reattachExplain(root = document) {
  if (!anchor || !pop || pop.hidden) return;
  if (anchor.isConnected) {
    const data = info.get(anchor);
    if (data) show(anchor, pinned);
    return;
  }
  const key = pop.dataset.for;
  const next = Array.from(root.querySelectorAll('[data-explain-key]'))
    .find((el) => el.dataset.explainKey === key);
  if (next && info.has(next)) show(next, pinned);
  else hideExplain();
}

function target(event) {
  const el = event.target instanceof Element ? event.target.closest('.explainable') : null;
  return el && info.has(el) ? el : null;
}

/** Wires the page-wide listeners once. */
export function initExplain(popover) {
  pop = popover;
  pop.hidden = true;
  pop.dataset.open = '0';
  pop.setAttribute('role', 'dialog');
  document.addEventListener('mouseover', (e) => {
    const el = target(e);
    if (el && !pinned && el !== anchor) show(el, false);
  });
  document.addEventListener('mouseout', (e) => {
    const el = target(e);
    if (el && el === anchor && !pinned && !el.contains(e.relatedTarget)) hideExplain();
  });
  document.addEventListener('focusin', (e) => {
    const el = target(e);
    if (el && !pinned) show(el, false);
  });
  document.addEventListener('focusout', (e) => {
    const el = target(e);
    if (el && el === anchor && !pinned) hideExplain();
  });
  document.addEventListener('click', (e) => {
    const el = target(e);
    if (el) {
      // The score sits in a clickable user row: explain, do not navigate.
      e.preventDefault();
      e.stopPropagation();
      if (el === anchor && pinned) hideExplain();
      else show(el, true);
      return;
    }
    if (pinned && !(e.target instanceof Node && pop.contains(e.target))) hideExplain();
  }, true);
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') hideExplain();
    const el = target(e);
    if (el && (e.key === 'Enter' || e.key === ' ')) {
      e.preventDefault();
      if (el === anchor && pinned) hideExplain();
      else show(el, true);
    }
  });
  window.addEventListener('resize', place);
}
