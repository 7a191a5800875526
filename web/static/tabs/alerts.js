// Alerts view: the newest alerts (rule, user, value, delivery), live like the tabs.

import { h } from '../dom.js';
import { fmtDateTime, fmtInt, fmtRelative } from '../format.js';
import { t } from '../i18n.js';
import { badge, dataTable, panel } from '../widgets.js';

const DELIVERY_TONES = { delivered: 'green', failed: 'red', sending: 'amber', waiting: 'neutral' };

export function createAlertsTab(ctx) {
  const table = dataTable([
    { label: t('col.when'), className: 'nowrap',
      cell: (r) => h('span', { title: fmtDateTime(r.occurred_at) }, fmtRelative(r.occurred_at)) },
    { label: t('col.rule'), cell: (r) => r.rule },
    { label: t('col.user'),
      cell: (r) => h('a', { href: `#/users/${Number(r.user_id)}`, class: 'user-link',
        'data-user-link': String(r.user_id) }, `#${r.user_id}`) },
    { label: t('col.alert'),
      cell: (r) => badge(t(`alerts.kind.${r.kind}`), r.kind === 'firing' ? 'red' : 'green') },
    { label: t('col.value'), num: true,
      cell: (r) => (r.previous === null ? r.value : `${r.previous} → ${r.value}`) },
    { label: t('col.delivery'),
      cell: (r) => badge(t(`alerts.delivery.${r.delivery.replace(' ', '_')}`),
        DELIVERY_TONES[r.delivery] || 'neutral') },
  ], {
    rowAttrs: (r) => ({ 'data-alert-id': String(r.id), 'data-user-id': String(r.user_id),
      class: 'clickable' }),
    empty: t('alerts.empty'),
    onRowClick: (tr) => ctx.openUser(tr.dataset.userId),
  });
  const list = panel(t('alerts.list'), { hint: t('alerts.list.hint') }, table.el);
  const count = h('span', { class: 'panel-count num' });
  list.querySelector('.panel-head h2').append(' ', count);
  const el = h('div', { class: 'tab tab-alerts' }, list);
  return {
    el,
    update(data) {
      const rows = data.alerts || [];
      count.textContent = `(${fmtInt(rows.length)})`;
      table.update(rows);
    },
    destroy() {},
  };
}
