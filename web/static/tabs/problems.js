// Problems tab: stat cards and the users in trouble, worst first.

import { h } from '../dom.js';
import { fmtInt, fmtRelative, fmtDateTime } from '../format.js';
import { t } from '../i18n.js';
import { badge, dataTable, exportLink, panel, scoreCell, statCards, userCell } from '../widgets.js';

export function createProblemsTab(ctx) {
  const cards = statCards([
    { key: 'locked_accounts', label: t('problems.locked_accounts'), tone: 'red' },
    { key: 'failed_logins', label: t('problems.failed_logins'), hint: t(`period.hint.${ctx.period}`) },
    { key: 'password_resets', label: t('problems.password_resets'), hint: t(`period.hint.${ctx.period}`) },
    { key: 'js_errors', label: t('problems.js_errors'), hint: t(`period.hint.${ctx.period}`) },
  ]);
  const note = t('explain.note.problem_tab');
  const table = dataTable([
    { label: t('col.user'), cell: (r) => userCell(r.user) },
    { label: t('col.problem_score'), className: 'col-score', sortKey: (r) => r.score,
      cell: (r) => scoreCell('problem', r.score, r.components, `problem:${r.user.id}`, note) },
    { label: t('col.failed_logins'), num: true, cell: (r) => r.failed_logins },
    { label: t('col.password_resets'), num: true, cell: (r) => r.password_resets },
    { label: t('col.js_errors'), num: true, cell: (r) => r.js_errors },
    { label: t('col.slow_pages'), num: true, cell: (r) => r.slow_pages },
    { label: t('col.security_alerts'), num: true, cell: (r) => r.security_alerts },
    { label: t('col.locked'), sortKey: (r) => (r.is_locked ? 1 : 0),
      cell: (r) => (r.is_locked ? badge(t('locked'), 'red') : h('span', { class: 'muted' }, t('no'))) },
    { label: t('col.last_login'), className: 'nowrap', sortKey: (r) => r.last_login,
      cell: (r) => h('span', { title: r.last_login ? fmtDateTime(r.last_login) : null },
        fmtRelative(r.last_login)) },
  ], {
    rowAttrs: (r) => ({ 'data-user-id': String(r.user.id), class: 'clickable' }),
    sort: ctx.sort, onSort: ctx.setSort,
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
