// Engagement tab: stat cards and the most engaged users with trends.

import { h } from '../dom.js';
import { fmtInt } from '../format.js';
import { t } from '../i18n.js';
import {
  badge, dataTable, exportLink, panel, periodWindow, scoreCell, sparkline, statCards, userCell,
  windowed, wowArrow,
} from '../widgets.js';

const STATUS_TONE = { active: 'green', at_risk: 'amber', dormant: 'grey' };

export function createEngagementTab(ctx) {
  const cards = statCards([
    { key: 'active_7d', label: t(`engagement.active.${ctx.period}`), tone: 'green' },
    { key: 'at_risk', label: t('engagement.at_risk'), hint: t('engagement.at_risk.hint'), tone: 'amber' },
    { key: 'dormant', label: t('engagement.dormant'), hint: t('engagement.dormant.hint') },
    { key: 'new_this_month', label: t('engagement.new_this_month') },
  ]);
  const note = t('explain.note.engagement');
  // The score counts over the month window whatever the period (semantics 14); sessions,
  // views and their change over the period; the sparkline the last 7 days (semantics 16).
  const period = periodWindow(ctx.period);
  const table = dataTable([
    { label: t('col.user'), cell: (r) => userCell(r.user) },
    { label: windowed(t('col.engagement_score'), t('window.month')), className: 'col-score',
      sortKey: (r) => r.score,
      cell: (r) => scoreCell('engagement', r.score, r.components, `engagement:${r.user.id}`, note) },
    { label: windowed(t('col.sessions'), period), num: true, minor: true, cell: (r) => r.sessions },
    { label: windowed(t('col.page_views'), period), num: true, minor: true, cell: (r) => r.page_views },
    { label: windowed(t('col.wow'), t('window.vs_previous')), num: true, minor: true,
      sortKey: (r) => r.wow, cell: (r) => wowArrow(r.wow) },
    { label: windowed(t('col.trend7'), t('window.last7')), minor: true,
      sortKey: (r) => (r.sparkline || []).reduce((a, b) => a + b, 0),
      cell: (r) => sparkline(r.sparkline) },
    { label: t('col.status'), sortKey: (r) => ['dormant', 'at_risk', 'active'].indexOf(r.status),
      cell: (r) => badge(t(`status.${r.status}`), STATUS_TONE[r.status] || 'neutral') },
  ], {
    rowAttrs: (r) => ({ 'data-user-id': String(r.user.id), 'data-status': r.status, class: 'clickable' }),
    sort: ctx.sort, onSort: ctx.setSort, caption: t('engagement.list'),
    empty: t('engagement.empty'),
    onRowClick: (tr) => ctx.openUser(tr.dataset.userId),
  });
  // The list by status, with how many users of the whole list have each.
  const statusButtons = ['all', 'active', 'at_risk', 'dormant'].map((s) => h('button', {
    type: 'button', 'data-status-filter': s, 'aria-pressed': String(s === ctx.status),
    onclick: () => { if (s !== ctx.status) ctx.setStatus(s); },
  }, t(s === 'all' ? 'filter.all' : `status.${s}`), ' ', h('span', { class: 'num seg-count' })));
  const statusSelect = h('div', {
    class: 'seg seg-small', role: 'group', 'aria-label': t('engagement.status_filter'),
  }, ...statusButtons);
  const list = panel(t(ctx.status === 'all' ? 'engagement.list' : `engagement.list.${ctx.status}`), {
    actions: h('div', { class: 'panel-actions-row' }, statusSelect,
      exportLink('engagement', ctx.period, ctx.status)),
    hint: t('engagement.list.hint'),
  }, table.el);
  const count = h('span', { class: 'panel-count num' });
  list.querySelector('.panel-head h2').append(' ', count);
  const el = h('div', { class: 'tab tab-engagement' }, cards.el, list);
  return {
    el,
    update(data) {
      cards.update(data);
      const rows = data.engagement_list || [];
      count.textContent = `(${fmtInt(rows.length)})`;
      table.update(rows);
      const counts = data.statuses || {};
      const total = Object.values(counts).reduce((a, b) => a + b, 0);
      statusButtons.forEach((b) => {
        const s = b.dataset.statusFilter;
        b.querySelector('.seg-count').textContent = `(${fmtInt(s === 'all' ? total : counts[s] || 0)})`;
      });
    },
    destroy() {},
  };
}
