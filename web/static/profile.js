// The per-user drill-down (#/users/<id>): who the user is, both scores as
// gauges (explainable), activity patterns, the 30-day trend and problem history.

import { h, s, fill } from './dom.js';
import { COLORS, integerAxis, upsertChart } from './charts.js';
import { explainable } from './explain.js';
import {
  fmtDate, fmtDateTime, fmtDay, fmtDuration, fmtInt, fmtNum, fmtRelative, userName,
} from './format.js';
import { getLang, t } from './i18n.js';
import {
  badge, barList, canvasBox, chartTable, dataTable, kv, panel, scoreLevel, windowed,
} from './widgets.js';

const GAUGE_R = 42;
const GAUGE_LEN = 2 * Math.PI * GAUGE_R;

// Timeline descriptions come from the server in English ("Visited: /path");
// the known prefixes are translated, the rest (data) is kept as it is.
const TIMELINE_PREFIXES = [
  ['Session ', 'tl.session'], ['Visited: ', 'tl.visited'], ['Searched: ', 'tl.searched'],
  ['Conversion: ', 'tl.conversion'], ['Alert: ', 'tl.alert'],
];

function timelineText(desc) {
  const text = String(desc ?? '');
  if (text === 'Password reset') return t('tl.password_reset');
  for (const [prefix, key] of TIMELINE_PREFIXES) {
    if (text.startsWith(prefix)) return `${t(key)} ${text.slice(prefix.length)}`;
  }
  return text;
}

/** A long session id cut to its start (the whole id is the cell's title). */
function shortId(id) {
  const text = String(id ?? '');
  return text.length > 12 ? `${text.slice(0, 12)}…` : text;
}

const TIMELINE_ICONS = { login: '↪', pageview: '•', search: '?', conversion: '✓', problem: '!' };

function gauge(kind, label) {
  const arc = s('circle', { class: 'gauge-arc', cx: 50, cy: 50, r: GAUGE_R,
    'stroke-dasharray': `0 ${GAUGE_LEN.toFixed(2)}`, transform: 'rotate(-90 50 50)' });
  const value = h('span', { class: 'gauge-value num', 'data-stat': `${kind}_score` }, '—');
  const el = h('div', { class: ['gauge', `gauge-${kind}`] },
    s('svg', { viewBox: '0 0 100 100', class: 'gauge-svg', 'aria-hidden': 'true' },
      s('circle', { class: 'gauge-track', cx: 50, cy: 50, r: GAUGE_R }), arc),
    h('div', { class: 'gauge-center' }, value, h('span', { class: 'gauge-max' }, '/ 100')),
    h('div', { class: 'gauge-label' }, label));
  return {
    el,
    update(score, components, note) {
      const n = Math.max(0, Math.min(100, Number(score) || 0));
      arc.setAttribute('stroke-dasharray', `${((n / 100) * GAUGE_LEN).toFixed(2)} ${GAUGE_LEN.toFixed(2)}`);
      // A zero-length arc would still draw its round cap as a dot.
      arc.classList.toggle('empty', n === 0);
      el.classList.remove('level-low', 'level-mid', 'level-high');
      el.classList.add(`level-${scoreLevel(kind, n)}`);
      value.textContent = fmtInt(score);
      explainable(el, { kind, score: n, components, key: `gauge:${kind}`, note });
    },
  };
}

function hourBars(bars) {
  const list = Array.isArray(bars) ? bars : [];
  return h('div', { class: 'hour-bars', role: 'img', 'aria-label': t('profile.hourly') },
    list.map((b) => {
      const col = h('span', { class: 'hour-fill' });
      col.style.setProperty('height', `${Math.max(0, Math.min(100, Number(b.pct) || 0))}%`);
      return h('div', { class: 'hour', title: t('profile.hour_cell', {
        hour: String(b.hour).padStart(2, '0'), n: fmtInt(b.count) }), 'data-hour': String(b.hour) },
      h('div', { class: 'hour-track' }, col),
      h('span', { class: 'hour-label' }, b.hour % 3 === 0 ? String(b.hour) : ''));
    }));
}

function counted(list, labelOf) {
  const items = Array.isArray(list) ? list : [];
  const top = Math.max(1, ...items.map((i) => Number(i.count) || 0));
  return items.map((i) => ({ label: labelOf(i), count: i.count, pct: (i.count / top) * 100 }));
}

function deviceLabel(type) {
  const key = `device.${type}`;
  const label = t(key);
  return label === key ? type : label;
}

/** The page of an id that is no tracked user: what happened and where to go from here. */
export function noSuchUser(userId, backHref) {
  return h('div', { class: 'no-user', 'data-no-user': String(Number(userId)) },
    h('h1', null, t('no_user.title')),
    h('p', null, t('no_user.text', { id: String(Number(userId)) })),
    h('p', { class: 'muted' }, t('no_user.search')),
    h('a', { class: 'btn', href: backHref, 'data-back': '1' }, `← ${t('profile.back')}`));
}

/** The profile as CSV (headers in the page's language) and as JSON downloads. */
function exportLinks(userId) {
  const id = Number(userId);
  const base = `/api/export/users/${id}`;
  return h('span', { class: 'export-links' },
    h('a', { class: 'btn btn-small', href: `${base}.csv?lang=${getLang()}`,
      download: `insights_user_${id}.csv`, 'data-export': 'user' }, t('export.csv')),
    h('a', { class: 'btn btn-small', href: `${base}.json`,
      download: `insights_user_${id}.json`, 'data-export-json': 'user' }, t('export.json')));
}

export function createProfileView(userId, ctx) {
  const title = h('h1', { class: 'profile-name' }, '…');
  const meta = h('div', { class: 'profile-meta' });
  const badges = h('div', { class: 'profile-badges' });
  // The windows of semantics 5 and 14: engagement over the month, problems over the week.
  const eng = gauge('engagement', windowed(t('profile.engagement'), t('window.month')));
  const prob = gauge('problem', windowed(t('profile.problem'), t('window.week')));
  const stats = h('div', { class: 'profile-stats' });
  const trend = canvasBox('', t('profile.trend'));
  const trendTable = chartTable(t('profile.trend'), [
    { label: t('col.day'), className: 'nowrap', sortKey: (r) => r.day, cell: (r) => fmtDate(r.day) },
    { label: t('profile.trend.series'), num: true, cell: (r) => r.score },
  ], (r) => r.day);
  const hourly = h('div');
  const hourlyTable = chartTable(t('profile.hourly'), [
    { label: t('col.hour'), num: true, cell: (r) => r.hour },
    { label: windowed(t('col.sessions'), t('window.month')), num: true, cell: (r) => r.count },
  ], (r) => r.hour);
  const fav = h('div');
  const devices = h('div');
  const browsers = h('div');
  const timeline = h('ol', { class: 'timeline', tabindex: '0' });   // it scrolls: keyboard too
  // A JS error's session, marked in the timeline (its session, views, searches...).
  let shownSession = null;
  const showSession = (id) => {
    shownSession = id;
    let first = null;
    timeline.querySelectorAll('li').forEach((li) => {
      const on = Boolean(id) && li.dataset.sessionId === id;
      li.classList.toggle('tl-shown', on);
      if (on && !first) first = li;
    });
    if (first) first.scrollIntoView({ block: 'nearest' });
    timeline.focus({ preventScroll: true });
  };
  const searches = dataTable([
    { label: t('col.query'), className: 'col-wrap', cell: (r) => h('span', { class: 'query' }, r.query) },
    { label: t('col.when'), className: 'nowrap', cell: (r) => fmtDateTime(r.searched_at) },
  ], { caption: t('profile.searches'), empty: t('profile.searches.empty') });
  const errors = dataTable([
    { label: t('col.message'), className: 'col-wrap', cell: (r) => h('code', { class: 'err' }, r.message) },
    { label: t('col.source'), className: 'col-path', minor: true,
      cell: (r) => h('span', { class: 'path', title: r.source }, r.source ? `${r.source}${r.line !== null && r.line !== undefined ? `:${r.line}` : ''}` : '—') },
    { label: t('col.page'), className: 'col-path', minor: true,
      cell: (r) => h('span', { class: 'path', title: r.page || '' }, r.page || '—') },
    { label: t('col.session'), className: 'nowrap',
      cell: (r) => h('button', {
        type: 'button', class: 'link-button session-id', title: t('profile.session.show'),
        'data-show-session': r.session_id, onclick: () => showSession(r.session_id),
      }, h('code', null, shortId(r.session_id))) },
    { label: t('col.when'), className: 'nowrap', cell: (r) => fmtDateTime(r.occurred_at) },
  ], { caption: t('profile.js_errors'), empty: t('profile.js_errors.empty') });
  const slow = dataTable([
    { label: t('col.path'), className: 'col-path', cell: (r) => h('span', { class: 'path', title: r.path }, r.path) },
    { label: t('col.load_time'), num: true, cell: (r) => `${fmtInt(r.load_time_ms)} ms` },
    { label: t('col.when'), className: 'nowrap', cell: (r) => fmtDateTime(r.viewed_at) },
  ], { caption: t('profile.slow'), empty: t('profile.slow.empty') });

  const back = h('a', { class: 'btn btn-quiet back', href: ctx.backHref, 'data-back': '1' }, `← ${t('profile.back')}`);
  const el = h('div', { class: 'profile' },
    h('div', { class: 'profile-head' },
      back,
      h('div', { class: 'profile-id' }, title, meta, badges),
      h('div', { class: 'profile-actions' }, exportLinks(userId))),
    h('div', { class: 'profile-top' },
      h('div', { class: 'gauges' }, eng.el, prob.el),
      stats),
    h('div', { class: 'grid-2' },
      panel(t('profile.trend'), { hint: t('profile.trend.hint') }, trend.el, trendTable.el),
      panel(t('profile.hourly'), { hint: t('profile.month_hint') }, hourly, hourlyTable.el)),
    h('div', { class: 'grid-3' },
      panel(t('profile.fav_pages'), { hint: t('profile.month_hint') }, fav),
      panel(t('profile.devices'), { hint: t('profile.month_hint') }, devices),
      panel(t('profile.browsers'), { hint: t('profile.month_hint') }, browsers)),
    h('div', { class: 'grid-2' },
      panel(t('profile.timeline'), { className: 'panel-timeline' }, timeline),
      h('div', { class: 'stack' },
        panel(t('profile.searches'), null, searches.el),
        panel(t('profile.slow'), null, slow.el))),
    panel(t('profile.js_errors'), null, errors.el));

  return {
    el,
    update(data) {
      const u = data.user || { id: userId };
      title.textContent = userName(u);
      fill(meta, 
        u.name && u.email ? h('span', null, u.email) : null,
        u.company ? h('span', null, u.company) : null,
        u.role ? h('span', null, u.role) : null,
        h('span', null, t('profile.created', { when: u.created_at ? fmtDateTime(u.created_at) : '—' })),
        h('span', { title: u.last_login ? fmtDateTime(u.last_login) : null },
          t('profile.last_login', { when: fmtRelative(u.last_login) })));
      const locked = u.locked_until && Date.parse(u.locked_until) > Date.now();
      fill(badges, 
        locked ? badge(t('profile.locked_until', { when: fmtDateTime(u.locked_until) }), 'red') : null,
        u.is_active === false ? badge(t('profile.inactive'), 'grey') : null);

      eng.update(data.engagement_score, data.engagement_components, t('explain.note.engagement'));
      prob.update(data.problem_score, data.problem_components, t('explain.note.problem_profile'));

      fill(stats, 
        kv(windowed(t('profile.avg_sessions_week'), t('window.all_time')),
          fmtNum(data.avg_sessions_week, 1), 'avg_sessions_week'),
        kv(windowed(t('profile.avg_session_duration'), t('window.all_time')), fmtInt(data.avg_session_duration),
          'avg_session_duration', `${t('unit.s')} · ${fmtDuration(data.avg_session_duration)}`),
        kv(windowed(t('profile.password_resets'), t('window.month')), fmtInt(data.password_resets),
          'password_resets'),
        kv(windowed(t('profile.security_alerts'), t('window.week')), fmtInt(data.security_alerts_count),
          'security_alerts_count'),
        kv(windowed(t('profile.failed_logins'), t('window.current')), fmtInt(u.failed_login_attempts),
          'failed_login_attempts'));

      const td = data.trend_data || { labels: [], scores: [] };
      trendTable.update((td.labels || []).map((day, i) => ({ day, score: (td.scores || [])[i] })));
      upsertChart(trend.canvas, () => ({
        type: 'bar',
        data: {
          labels: (td.labels || []).map(fmtDay),
          datasets: [{ label: t('profile.trend.series'), data: td.scores,
            backgroundColor: COLORS.blue, borderRadius: 2 }],
        },
        options: {
          plugins: { legend: { display: false } },
          scales: { x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 10 } },
            y: integerAxis({ suggestedMax: 30 }) },
        },
      }));

      fill(hourly, hourBars(data.hourly_bars));
      hourlyTable.update(data.hourly_bars);
      fill(fav, barList((data.fav_pages || []).map((p) => ({
        label: p.path, pct: p.bar_pct, count: p.count })), { empty: t('profile.none') }));
      fill(devices, barList(counted(data.devices, (d) => deviceLabel(d.type)),
        { empty: t('profile.none'), tone: 'teal', mono: false }));
      fill(browsers, barList(counted(data.browsers, (b) => b.name),
        { empty: t('profile.none'), tone: 'violet', mono: false }));

      const items = Array.isArray(data.timeline) ? data.timeline : [];
      fill(timeline, ...(items.length ? items.map((it) => h('li', {
        class: [`tl-${it.type}`, it.session_id && it.session_id === shownSession ? 'tl-shown' : null],
        'data-type': it.type, 'data-session-id': it.session_id || null,
      },
        h('span', { class: 'tl-icon', 'aria-hidden': 'true' }, TIMELINE_ICONS[it.type] || '•'),
        h('span', { class: 'tl-desc' }, timelineText(it.desc)),
        h('time', { class: 'tl-time', datetime: it.time, title: fmtDateTime(it.time) }, fmtRelative(it.time))))
        : [h('li', { class: 'empty' }, t('profile.timeline.empty'))]));

      searches.update(data.search_queries);
      errors.update(data.js_errors);
      slow.update(data.slow_pages);
    },
    destroy() {},
  };
}
