// Problems tab: stat cards and the users in trouble, worst first.

import { h } from '../dom.js';
import { fmtInt, fmtRelative, fmtDateTime } from '../format.js';
import { t } from '../i18n.js';
import {
  badge, dataTable, exportLink, panel, periodWindow, scoreCell, statCards, userCell, windowed,
} from '../widgets.js';

export function createProblemsTab(ctx) {
  const cards = statCards([
    { key: 'locked_accounts', label: t('problems.locked_accounts'), tone: 'red' },
    { key: 'failed_logins', label: t('problems.failed_logins'), hint: t(`period.hint.${ctx.period}`) },
    { key: 'password_resets', label: t('problems.password_resets'), hint: t(`period.hint.${ctx.period}`) },
    { key: 'js_errors', label: t('problems.js_errors'), hint: t(`period.hint.${ctx.period}`) },
  ]);
  const note = t('explain.note.problem_tab');
  // Each count's window (semantics 5, 6): the period, the month window for password
  // resets, and the failed-login counter as it stands now.
  const period = periodWindow(ctx.period);
  const table = dataTable([
    { label: t('col.user'), cell: (r) => userCell(r.user) },
    { label: windowed(t('col.problem_score'), period), className: 'col-score', sortKey: (r) => r.score,
      cell: (r) => scoreCell('problem', r.score, r.components, `problem:${r.user.id}`, note) },
    { label: windowed(t('col.failed_logins'), t('window.current')), num: true, cell: (r) => r.failed_logins },
    { label: windowed(t('col.password_resets'), t('window.month')), num: true, minor: true,
      cell: (r) => r.password_resets },
    { label: windowed(t('col.js_errors'), period), num: true, minor: true, cell: (r) => r.js_errors },
    { label: windowed(t('col.slow_pages'), period), num: true, minor: true, cell: (r) => r.slow_pages },
    { label: windowed(t('col.security_alerts'), period), num: true, minor: true,
      cell: (r) => r.security_alerts },
    { label: t('col.locked'), sortKey: (r) => (r.is_locked ? 1 : 0),
      cell: (r) => (r.is_locked ? badge(t('locked'), 'red') : h('span', { class: 'muted' }, t('no'))) },
    { label: t('col.last_login'), className: 'nowrap', minor: true, sortKey: (r) => r.last_login,
      cell: (r) => h('span', { title: r.last_login ? fmtDateTime(r.last_login) : null },
        fmtRelative(r.last_login)) },
  ], {
    rowAttrs: (r) => ({ 'data-user-id': String(r.user.id), class: 'clickable' }),
    sort: ctx.sort, onSort: ctx.setSort, caption: t('problems.list'),
    empty: t('problems.empty'),
    onRowClick: (tr) => ctx.openUser(tr.dataset.userId),
  });
  const list = panel(t('problems.list'), {
    actions: exportLink('problems', ctx.period),
    hint: t('problems.list.hint'),
  }, table.el);
  const count = h('span', { class: 'panel-count num' });
  list.querySelector('.panel-head h2').append(' ', count);
  const el = h('div', { class: 'tab tab-problems' }, cards.el, list);
  return {
    el,
    update(data) {
      cards.update(data);
      const rows = data.problem_users || [];
      count.textContent = `(${fmtInt(rows.length)})`;
      table.update(rows);
    },
    destroy() {},
  };
}
