// The hooks under the Alerts view, for ADMINs only: add one (its signing secret is
// shown once, here), edit it, send a test, switch it on or off, give it a new secret,
// remove it. A hook the dispatcher disabled shows why.

import { getJSON, sendJSON } from '../api.js';
import { clear, h } from '../dom.js';
import { fmtDateTime } from '../format.js';
import { t } from '../i18n.js';
import { badge, dataTable, formField, panel } from '../widgets.js';
import { showError } from './alertrules.js';

const FORMATS = ['json', 'slack', 'teams', 'alertmanager'];

export function createHooks() {
  const editor = h('div', { id: 'hook-editor' });
  const message = h('div', { class: 'form-message', 'aria-live': 'polite' });
  const table = dataTable([
    { label: t('col.hook'), cell: (x) => x.name },
    { label: t('col.url'), className: 'break', cell: (x) => h('code', null, x.url) },
    { label: t('col.format'), cell: (x) => x.format },
    { label: t('col.state'), cell: (x) => hookState(x) },
    { label: t('col.actions'), className: 'nowrap', cell: (x) => [
      button(t('alerts.hooks.test'), 'test', x, () => act(x, 'POST', 'test', (q) =>
        t('alerts.hooks.queued', { id: q.notification_id }))), ' ',
      button(x.enabled ? t('alerts.disable') : t('alerts.enable'), 'toggle', x, () =>
        act(x, 'POST', `enabled?on=${!x.enabled}`)), ' ',
      button(t('alerts.edit'), 'edit', x, () => edit(x)), ' ',
      button(t('alerts.hooks.rotate'), 'rotate', x, async () => {
        if (!window.confirm(t('alerts.hooks.rotate.confirm', { name: x.name }))) return;
        try {
          showSecret(await sendJSON('POST', `/api/alerts/hooks/${x.id}/rotate`));
        } catch (err) {
          showError(message, err);
        }
      }), ' ',
      button(t('alerts.hooks.remove'), 'remove', x, () => {
        if (window.confirm(t('alerts.hooks.remove.confirm', { name: x.name }))) {
          act(x, 'DELETE', '');
        }
      }),
    ] },
  ], { rowAttrs: (x) => ({ 'data-hook-id': String(x.id) }), empty: t('alerts.hooks.none') });
  const add = h('button', { type: 'button', class: 'btn btn-small', id: 'new-hook',
    onclick: () => edit(null) }, t('alerts.hooks.new'));
  const el = panel(t('alerts.hooks'), { hint: t('alerts.hooks.hint'), actions: add },
    message, table.el, editor);

  async function load() {
    try {
      table.update(await getJSON('/api/alerts/hooks'));
    } catch (err) {
      showError(message, err);
    }
  }
  async function act(hook, method, what, said = null) {
    try {
      const answer = await sendJSON(method, `/api/alerts/hooks/${hook.id}${what ? `/${what}` : ''}`);
      clear(message);
      if (said) message.append(h('p', { class: 'notice notice-info' }, said(answer)));
    } catch (err) {
      showError(message, err);
    }
    await load();
  }
  function showSecret(created) {
    clear(editor).append(h('div', { class: 'notice notice-info secret-box' },
      h('p', null, t('alerts.hooks.secret', { name: created.hook.name })),
      h('input', { type: 'text', readonly: true, class: 'secret', 'data-secret': '',
        value: created.secret, 'aria-label': t('alerts.hooks.secret.label'),
        onfocus: (e) => e.target.select() })));
  }
  function edit(hook) {
    clear(editor).append(hookForm(hook, {
      onSaved: async (answer) => {
        clear(editor);
        if (answer && answer.secret) showSecret(answer);
        await load();
      },
      onCancel: () => clear(editor),
    }));
  }
  load();
  return { el, load };
}

function button(label, action, hook, onclick) {
  return h('button', { type: 'button', class: 'btn btn-small',
    [`data-hook-${action}`]: String(hook.id), onclick }, label);
}

function hookState(x) {
  if (!x.enabled) {
    return [badge(t('alerts.off'), 'red'), ' ', x.disabled_reason || ''];
  }
  if (x.failing_since) {
    return badge(t('alerts.hooks.failing', { since: fmtDateTime(x.failing_since) }), 'amber');
  }
  return badge(t('alerts.on'), 'green');
}

/** Add a hook (hook null) or change one's name, URL and format. */
function hookForm(hook, { onSaved, onCancel }) {
  const name = h('input', { type: 'text', name: 'name', 'data-field': 'name', required: true,
    maxlength: '200', value: hook ? hook.name : '' });
  const url = h('input', { type: 'url', name: 'url', 'data-field': 'url', required: true,
    maxlength: '2000', placeholder: 'https://', value: hook ? hook.url : '' });
  const format = h('select', { name: 'format', 'data-field': 'format' },
    FORMATS.map((f) => h('option', { value: f, selected: hook ? hook.format === f : f === 'json' },
      t(`alerts.format.${f}`))));
  const message = h('div', { class: 'form-message', 'aria-live': 'polite' });
  const form = h('form', { class: 'admin-form', id: 'hook-form', novalidate: true },
    h('h3', null, hook ? t('alerts.hooks.edit', { name: hook.name }) : t('alerts.hooks.new')),
    h('div', { class: 'form-grid' }, formField(t('alerts.field.name'), name),
      formField(t('alerts.field.url'), url), formField(t('alerts.field.format'), format)),
    h('p', { class: 'muted' }, t('alerts.hooks.url.hint')),
    h('div', { class: 'form-actions' },
      h('button', { type: 'submit', class: 'btn' }, t('alerts.save')),
      h('button', { type: 'button', class: 'btn btn-quiet', onclick: onCancel }, t('alerts.cancel'))),
    message);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = { name: name.value.trim(), url: url.value.trim(), format: format.value };
    try {
      await onSaved(await sendJSON(hook ? 'PUT' : 'POST',
        hook ? `/api/alerts/hooks/${hook.id}` : '/api/alerts/hooks', body));
    } catch (err) {
      showError(message, err);
    }
  });
  return form;
}
