// Alerts view: the newest alerts (rule, user, value, delivery), live like the tabs;
// under them the rules (changed by ADMINs) and, for ADMINs, the hooks.

import { getJSON, postJSON } from '../api.js';
import { clear, h } from '../dom.js';
import { fmtDateTime, fmtInt, fmtRelative, fmtValue } from '../format.js';
import { t } from '../i18n.js';
import { badge, dataTable, panel } from '../widgets.js';
import { createHooks } from './alerthooks.js';
import { createRules } from './alertrules.js';

const DELIVERY_TONES = { delivered: 'green', failed: 'red', sending: 'amber', waiting: 'neutral' };
// The hooks' state (a hook the dispatcher disabled) is read again at most this often.
const HOOKS_REFRESH_MS = 10000;

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
      cell: (r) => (r.previous === null ? fmtValue(r.value) : `${fmtValue(r.previous)} → ${fmtValue(r.value)}`) },
    { label: t('col.delivery'),
      cell: (r) => h('button', { type: 'button', class: 'link-button',
        'data-deliveries-for': String(r.id), title: t('alerts.deliveries.open') },
      badge(t(`alerts.delivery.${r.delivery.replace(' ', '_')}`),
        DELIVERY_TONES[r.delivery] || 'neutral')) },
  ], {
    rowAttrs: (r) => ({ 'data-alert-id': String(r.id), 'data-user-id': String(r.user_id),
      class: 'clickable' }),
    empty: t('alerts.empty'),
    onRowClick: (tr) => ctx.openUser(tr.dataset.userId),
  });
  const list = panel(t('alerts.list'), { hint: t('alerts.list.hint') }, table.el);
  const count = h('span', { class: 'panel-count num' });
  list.querySelector('.panel-head h2').append(' ', count);
  const detail = h('div', { id: 'alert-deliveries', 'aria-live': 'polite' });
  const admin = isAdmin();
  const rules = createRules({ admin });
  const hooks = admin ? createHooks() : null;
  let hooksReadAt = Date.now();
  const el = h('div', { class: 'tab tab-alerts' }, list, detail, rules.el, hooks && hooks.el);
  // A delivery badge opens that alert's deliveries (not the profile, as the row does).
  list.addEventListener('click', (e) => {
    const b = e.target instanceof Element ? e.target.closest('[data-deliveries-for]') : null;
    if (!b) return;
    e.stopPropagation();
    showDeliveries(detail, b.dataset.deliveriesFor);
  }, true);
  return {
    el,
    update(data) {
      const rows = data.alerts || [];
      count.textContent = `(${fmtInt(rows.length)})`;
      table.update(rows);
      if (hooks && Date.now() - hooksReadAt > HOOKS_REFRESH_MS) {
        hooksReadAt = Date.now();
        hooks.load();
      }
    },
    destroy() {},
  };
}

/** One alert's deliveries, each hook with its attempts, under the list. */
async function showDeliveries(container, alertId) {
  let found;
  try {
    found = await getJSON(`/api/alerts/${Number(alertId)}/deliveries`);
  } catch (err) {
    clear(container).append(h('p', { class: 'notice notice-error' }, t('error.network')));
    return;
  }
  const body = found.length === 0
    ? [h('p', { class: 'empty' }, t('alerts.deliveries.none'))]
    : found.map((d) => h('div', { class: 'delivery', 'data-delivery-id': String(d.id) },
      h('h3', null, `${d.hook} `, badge(t(`alerts.state.${d.state}`),
        d.state === 'delivered' ? 'green' : d.state === 'failed' ? 'red' : 'amber')),
      attemptsTable(d.attempts)));
  const resend = found.length && isAdmin()
    ? h('button', { type: 'button', class: 'btn', 'data-resend': found[0].notification_id },
      t('alerts.resend'))
    : null;
  if (resend) {
    resend.addEventListener('click', async () => {
      resend.disabled = true;
      try {
        await postJSON(`/api/alerts/notifications/${encodeURIComponent(found[0].notification_id)}/resend`);
      } finally {
        showDeliveries(container, alertId);
      }
    });
  }
  clear(container).append(panel(t('alerts.deliveries', { id: alertId }), {
    hint: found.length ? found[0].notification_id : null, actions: resend }, ...body));
}

/** Only ADMINs may send a notification again (the API refuses the others too). */
function isAdmin() {
  const role = document.querySelector('.account-role');
  return Boolean(role) && role.textContent.trim() === 'ADMIN';
}

function attemptsTable(attempts) {
  const table = dataTable([
    { label: '#', num: true, cell: (a) => a.attempt },
    { label: t('col.when'), className: 'nowrap', cell: (a) => fmtDateTime(a.started_at) },
    { label: t('col.duration_ms'), num: true, cell: (a) => fmtInt(a.duration_ms) },
    { label: t('col.status'), num: true, cell: (a) => (a.status_code === null ? '—' : a.status_code) },
    { label: t('col.error'), cell: (a) => a.error || '' },
  ], { empty: t('alerts.attempts.none') });
  table.update(attempts);
  return table.el;
}
