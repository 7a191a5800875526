// The alert rules under the Alerts view: everyone who sees alerts sees the rules;
// ADMINs create and edit them, switch them on and off, and backtest a rule (saved
// or not) over the stored history before enabling it. The API refuses the others too.

import { getJSON, sendJSON } from '../api.js';
import { clear, h } from '../dom.js';
import { fmtDate, fmtInt } from '../format.js';
import { t } from '../i18n.js';
import { badge, dataTable, formField, panel } from '../widgets.js';

const KINDS = ['threshold', 'rise', 'transition'];
const METRICS = ['problem_day', 'problem_week', 'problem_month', 'engagement', 'locked'];
const STATUSES = ['active', 'at_risk', 'dormant'];
const SEVERITIES = ['info', 'warning', 'critical'];
const SEVERITY_TONES = { info: 'neutral', warning: 'amber', critical: 'red' };
const BACKTEST_DAYS = 14;

/** What a rule watches, in a few words ("problem score (7 days) ≥ 60, resolved < 50"). */
export function condition(r) {
  const metric = t(`alerts.metric.${r.metric}`);
  if (r.kind === 'transition') {
    const from = r.from_status === '*' ? t('alerts.status.any') : t(`status.${r.from_status}`);
    return `${from} → ${t(`status.${r.to_status}`)}`;
  }
  if (r.metric === 'locked') return metric;
  if (r.kind === 'rise') {
    return t('alerts.condition.rise', { metric, d: r.threshold, w: r.window_minutes });
  }
  return t('alerts.condition.threshold', { metric, t: r.threshold,
    r: Math.max(0, r.threshold - r.hysteresis) });
}

export function createRules({ admin }) {
  const editor = h('div', { id: 'rule-editor' });
  const state = { rules: [] };
  const table = dataTable([
    { label: t('col.rule'), cell: (r) => r.name },
    { label: t('col.condition'), cell: (r) => condition(r) },
    { label: t('col.severity'), cell: (r) => badge(t(`alerts.severity.${r.severity}`),
      SEVERITY_TONES[r.severity]) },
    { label: t('col.roles'), cell: (r) => (r.roles ? r.roles.join(', ') : t('alerts.roles.all')) },
    { label: t('col.enabled'), cell: (r) => badge(r.enabled ? t('alerts.on') : t('alerts.off'),
      r.enabled ? 'green' : 'neutral') },
    ...(admin ? [{ label: t('col.actions'), className: 'nowrap', cell: (r) => [
      h('button', { type: 'button', class: 'btn btn-small', 'data-edit-rule': String(r.id),
        onclick: () => edit(r) }, t('alerts.edit')), ' ',
      h('button', { type: 'button', class: 'btn btn-small', 'data-toggle-rule': String(r.id),
        onclick: () => save({ ...r, enabled: !r.enabled }) },
      r.enabled ? t('alerts.disable') : t('alerts.enable')), ' ',
      h('button', { type: 'button', class: 'btn btn-small', 'data-backtest-rule': String(r.id),
        onclick: () => edit(r, true) }, t('alerts.backtest')),
    ] }] : []),
  ], { rowAttrs: (r) => ({ 'data-rule-id': String(r.id) }), empty: t('alerts.rules.none') });
  const add = admin ? h('button', { type: 'button', class: 'btn btn-small', id: 'new-rule',
    onclick: () => edit(null) }, t('alerts.rules.new')) : null;
  const el = panel(t('alerts.rules'), {
    hint: admin ? t('alerts.rules.hint.admin') : t('alerts.rules.hint'), actions: add },
  table.el, editor);

  async function load() {
    try {
      state.rules = await getJSON('/api/alerts/rules');
      table.update(state.rules);
    } catch {
      clear(editor).append(h('p', { class: 'notice notice-error' }, t('error.network')));
    }
  }
  async function save(rule) {
    try {
      await sendJSON('POST', '/api/alerts/rules', rule);
    } catch (err) {
      showError(editor, err);
    }
    await load();
  }
  /** The rule's form under the table; `backtest`: replay it straight away. */
  function edit(rule, backtest = false) {
    const form = ruleForm(rule, {
      onSaved: async () => { clear(editor); await load(); },
      onCancel: () => clear(editor),
    });
    clear(editor).append(form);
    if (backtest) form.querySelector('#backtest-rule').click();
    form.scrollIntoView({ block: 'nearest' });
  }
  load();
  return { el, load };
}

function select(name, options, value, label = (o) => o) {
  return h('select', { name, 'data-field': name },
    options.map((o) => h('option', { value: o, selected: o === value }, label(o))));
}

function number(name, value, { min = 0, max = 1000 } = {}) {
  return h('input', { type: 'number', name, 'data-field': name, min: String(min),
    max: String(max), step: '1', value: String(value) });
}

/** The create/edit form of a rule, with its backtest. */
function ruleForm(rule, { onSaved, onCancel }) {
  const r = rule || { id: 0, name: '', kind: 'threshold', metric: 'problem_week',
    severity: 'warning', threshold: 60, hysteresis: 10, window_minutes: 15,
    from_status: 'active', to_status: 'at_risk', roles: null, cooldown_s: 3600, enabled: true };
  const f = {
    name: h('input', { type: 'text', name: 'name', 'data-field': 'name', value: r.name,
      maxlength: '200', required: true }),
    kind: select('kind', KINDS, r.kind, (k) => t(`alerts.kind_of.${k}`)),
    metric: select('metric', METRICS, r.metric, (m) => t(`alerts.metric.${m}`)),
    severity: select('severity', SEVERITIES, r.severity, (s) => t(`alerts.severity.${s}`)),
    threshold: number('threshold', r.threshold),
    hysteresis: number('hysteresis', r.hysteresis),
    window_minutes: number('window_minutes', r.window_minutes, { max: 10080 }),
    from_status: select('from_status', ['*', ...STATUSES], r.from_status,
      (s) => (s === '*' ? t('alerts.status.any') : t(`status.${s}`))),
    to_status: select('to_status', STATUSES, r.to_status || 'at_risk', (s) => t(`status.${s}`)),
    roles: h('input', { type: 'text', name: 'roles', 'data-field': 'roles',
      value: r.roles ? r.roles.join(', ') : '', placeholder: t('alerts.roles.all') }),
    cooldown_s: number('cooldown_s', r.cooldown_s, { max: 30 * 86400 }),
    enabled: h('input', { type: 'checkbox', name: 'enabled', 'data-field': 'enabled',
      checked: r.enabled }),
  };
  const since = h('input', { type: 'date', name: 'since', 'data-field': 'since',
    value: new Date(Date.now() - BACKTEST_DAYS * 86400e3).toISOString().slice(0, 10) });
  const rows = {};
  for (const [name, control] of Object.entries(f)) {
    rows[name] = formField(t(`alerts.field.${name}`), control);
  }
  const shown = () => {
    const kind = f.kind.value;
    rows.metric.hidden = kind === 'transition';
    rows.threshold.hidden = rows.hysteresis.hidden = kind === 'transition';
    rows.window_minutes.hidden = kind !== 'rise';
    rows.from_status.hidden = rows.to_status.hidden = kind !== 'transition';
  };
  f.kind.addEventListener('change', shown);
  shown();
  const message = h('div', { class: 'form-message', 'aria-live': 'polite' });
  const result = h('div', { class: 'backtest-result', 'aria-live': 'polite' });
  const value = () => {
    const kind = f.kind.value;
    const roles = f.roles.value.split(',').map((x) => x.trim()).filter(Boolean);
    return { id: r.id, name: f.name.value.trim(), kind,
      metric: kind === 'transition' ? 'status' : f.metric.value, severity: f.severity.value,
      threshold: Number(f.threshold.value), hysteresis: Number(f.hysteresis.value),
      window_minutes: Number(f.window_minutes.value), from_status: f.from_status.value,
      to_status: kind === 'transition' ? f.to_status.value : '', roles: roles.length ? roles : null,
      cooldown_s: Number(f.cooldown_s.value), enabled: f.enabled.checked };
  };
  const form = h('form', { class: 'admin-form', id: 'rule-form', novalidate: true },
    h('h3', null, r.id ? t('alerts.rules.edit', { name: r.name }) : t('alerts.rules.new')),
    h('div', { class: 'form-grid' }, Object.values(rows)),
    h('div', { class: 'form-actions' },
      h('button', { type: 'submit', class: 'btn' }, t('alerts.save')),
      h('button', { type: 'button', class: 'btn btn-quiet', onclick: onCancel }, t('alerts.cancel')),
      h('span', { class: 'form-gap' }),
      formField(t('alerts.backtest.since'), since),
      h('button', { type: 'button', class: 'btn btn-quiet', id: 'backtest-rule',
        onclick: () => runBacktest(value(), since.value, message, result) },
      t('alerts.backtest'))),
    message, result);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await sendJSON('POST', '/api/alerts/rules', value());
      await onSaved();
    } catch (err) {
      showError(message, err);
    }
  });
  return form;
}

async function runBacktest(rule, since, message, result) {
  clear(message).append(h('p', { class: 'notice notice-info' }, t('alerts.backtest.running')));
  clear(result);
  let found;
  try {
    found = await sendJSON('POST', '/api/alerts/backtest', { rule, since });
  } catch (err) {
    showError(message, err);
    return;
  }
  clear(message);
  const table = dataTable([
    { label: t('col.day'), className: 'nowrap', sortKey: (d) => d.day, cell: (d) => fmtDate(d.day) },
    { label: t('col.alerts'), num: true, cell: (d) => d.alerts },
    { label: t('col.users'), num: true, cell: (d) => d.users },
    { label: t('col.resolved'), num: true, cell: (d) => d.resolved },
  ], { rowAttrs: (d) => ({ 'data-backtest-day': d.day }) });
  table.update(found.days);
  result.append(h('p', { class: 'backtest-summary', 'data-backtest-alerts': String(found.alerts) },
    t('alerts.backtest.summary', { alerts: fmtInt(found.alerts), users: fmtInt(found.users),
      days: fmtInt(found.days.length) })), table.el);
}

/** The server's reason for a refusal (422: what is wrong; 403: not allowed). */
export function showError(container, err) {
  const text = err && err.detail ? err.detail
    : err && err.status === 403 ? t('alerts.forbidden') : t('alerts.failed');
  clear(container).append(h('p', { class: 'notice notice-error', role: 'alert' }, text));
}
