// Pages tab: the section map, the top 50 pages and the pages nobody visits.

import { h, fill } from '../dom.js';
import { fmtDuration, fmtInt } from '../format.js';
import { t } from '../i18n.js';
import { bar, dataTable, exportLink, panel, periodWindow, windowed } from '../widgets.js';

function sectionTile(s) {
  const k = Math.max(0, Math.min(100, Number(s.intensity) || 0)) / 100;
  const tile = h('div', { class: 'section-tile', 'data-section': s.name },
    h('div', { class: 'section-name' }, s.name),
    h('div', { class: 'section-views num' }, fmtInt(s.views)),
    h('div', { class: 'section-meta' },
      h('span', null, t('pages.unique_n', { n: fmtInt(s.unique_users) })),
      h('span', null, t('pages.avg_time_n', { time: fmtDuration(s.avg_time) }))));
  tile.style.setProperty('--k', k.toFixed(3));
  return tile;
}

function pathCell(path) {
  return h('span', { class: 'path', title: path }, path);
}

export function createPagesTab(ctx) {
  const tiles = h('div', { class: 'section-grid' });
  const period = periodWindow(ctx.period);     // every column of the top pages
  const top = dataTable([
    { label: '#', num: true, className: 'col-rank', minor: true, cell: (_r, i) => i + 1 },
    { label: t('col.path'), className: 'col-path', cell: (r) => pathCell(r.path) },
    { label: windowed(t('col.views'), period), className: 'col-barnum', sortKey: (r) => r.views,
      cell: (r) => h('span', { class: 'bar-num' }, bar(r.bar_pct), h('span', { class: 'num' }, fmtInt(r.views))) },
    { label: windowed(t('col.unique_users'), period), num: true, minor: true, cell: (r) => r.unique_users },
    { label: windowed(t('col.avg_time'), period), num: true, minor: true, sortKey: (r) => r.avg_time,
      cell: (r) => fmtDuration(r.avg_time) },
    { label: windowed(t('col.avg_scroll'), period), num: true, minor: true, sortKey: (r) => r.avg_scroll,
      cell: (r) => `${fmtInt(r.avg_scroll)}%` },
    { label: windowed(t('col.avg_load'), period), num: true, minor: true, sortKey: (r) => r.avg_load,
      cell: (r) => h('span', { class: r.avg_load > 3000 ? 'text-bad' : null }, `${fmtInt(r.avg_load)} ms`) },
  ], {
    rowAttrs: (r) => ({ 'data-path': r.path }), rowKey: (r) => r.path,
    sort: ctx.sort, onSort: ctx.setSort, caption: t('pages.top'), empty: t('pages.empty'),
  });
  const ignored = dataTable([
    { label: t('col.path'), className: 'col-path', cell: (r) => pathCell(r.path) },
    { label: windowed(t('col.views'), t('window.month')), num: true, cell: (r) => r.views },
  ], { rowKey: (r) => r.path, caption: t('pages.ignored'), empty: t('pages.ignored.empty') });
  const el = h('div', { class: 'tab tab-pages' },
    panel(t('pages.sections'), { hint: t(`period.hint.${ctx.period}`) }, tiles),
    h('div', { class: 'grid-2-1' },
      panel(t('pages.top'), { actions: exportLink('pages', ctx.period) }, top.el),
      panel(t('pages.ignored'), { hint: t('pages.ignored.hint') }, ignored.el)));
  return {
    el,
    update(data) {
      fill(tiles, ...(data.sections || []).map(sectionTile));
      top.update(data.top_pages);
      ignored.update(data.ignored_pages);
    },
    destroy() {},
  };
}
