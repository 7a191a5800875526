// Paths tab: where sessions start and end, the common steps, the pages people
// leave from and how long sessions are.

import { h, fill } from '../dom.js';
import { fmtPct } from '../format.js';
import { t } from '../i18n.js';
import { bar, barList, dataTable, panel, periodWindow, windowed } from '../widgets.js';

// Server bucket labels (English, or the reference's Polish) -> i18n keys.
const BUCKETS = {
  '1 page': 'bucket.1', '2 pages': 'bucket.2', '3-5 pages': 'bucket.3_5',
  '6-10 pages': 'bucket.6_10', '10+ pages': 'bucket.10plus',
  '1 strona': 'bucket.1', '2 strony': 'bucket.2', '3-5 stron': 'bucket.3_5',
  '6-10 stron': 'bucket.6_10', '10+ stron': 'bucket.10plus',
};

function bucketLabel(bucket) {
  return BUCKETS[bucket] ? t(BUCKETS[bucket]) : bucket;
}

function pathItems(rows) {
  return (rows || []).map((r) => ({ label: r.path, pct: r.bar_pct, count: r.count }));
}

export function createPathsTab(ctx) {
  const period = periodWindow(ctx.period);     // every count of the tab (semantics 20)
  const entry = h('div');
  const exit = h('div');
  const lengths = h('div');
  const transitions = dataTable([
    { label: t('col.from'), className: 'col-path', cell: (r) => h('span', { class: 'path', title: r.from }, r.from) },
    { label: '', className: 'col-arrow', cell: () => h('span', { class: 'arrow', 'aria-hidden': 'true' }, '→') },
    { label: t('col.to'), className: 'col-path', cell: (r) => h('span', { class: 'path', title: r.to }, r.to) },
    { label: windowed(t('col.count'), period), num: true, cell: (r) => r.count },
  ], { rowKey: (r) => `${r.from}\n${r.to}`, sort: ctx.sort, onSort: ctx.setSort,
    caption: t('paths.transitions'), empty: t('paths.empty') });
  const dropoff = dataTable([
    { label: t('col.path'), className: 'col-path', cell: (r) => h('span', { class: 'path', title: r.path }, r.path) },
    { label: windowed(t('col.views'), period), num: true, minor: true, cell: (r) => r.views },
    { label: windowed(t('col.exits'), period), num: true, minor: true, cell: (r) => r.exits },
    { label: windowed(t('col.exit_rate'), period), className: 'col-barnum', sortKey: (r) => r.exit_rate,
      cell: (r) => h('span', { class: 'bar-num' }, bar(r.exit_rate, 'red'), h('span', { class: 'num' }, fmtPct(r.exit_rate))) },
  ], { rowKey: (r) => r.path, caption: t('paths.dropoff'), empty: t('paths.empty') });
  const hint = t(`period.hint.${ctx.period}`);
  const el = h('div', { class: 'tab tab-paths' },
    h('div', { class: 'grid-3' },
      panel(t('paths.entry'), { hint }, entry),
      panel(t('paths.exit'), { hint }, exit),
      panel(t('paths.lengths'), { hint }, lengths)),
    h('div', { class: 'grid-2' },
      panel(t('paths.transitions'), null, transitions.el),
      panel(t('paths.dropoff'), { hint: t('paths.dropoff.hint') }, dropoff.el)));
  return {
    el,
    update(data) {
      fill(entry, barList(pathItems(data.entry_pages), { empty: t('paths.empty') }));
      fill(exit, barList(pathItems(data.exit_pages), { empty: t('paths.empty'), tone: 'amber' }));
      fill(lengths, barList((data.session_lengths || []).map((r) => ({
        label: bucketLabel(r.bucket), pct: r.bar_pct, count: r.count,
      })), { empty: t('paths.empty'), tone: 'teal', mono: false }));
      transitions.update(data.transitions);
      dropoff.update(data.dropoff);
    },
    destroy() {},
  };
}
