// Entry point: the hash router (#/problems?period=week, #/overview?filter=logged,
// #/users/42), the header controls, and the live data flow of the visible view:
// one REST fetch so something shows at once, then a WebSocket whose every
// message replaces the view's data.

import { $, $$, clear, fill, h } from './dom.js';
import { getJSON, HttpError, LiveSocket } from './api.js';
import { destroyCharts } from './charts.js';
import { hideExplain, initExplain, reattachExplain } from './explain.js';
import { createFreshness } from './freshness.js';
import { getLang, setLang, t, translatePage } from './i18n.js';
import { createProfileView, noSuchUser } from './profile.js';
import { initSearch } from './search.js';
import { createEngagementTab } from './tabs/engagement.js';
import { createOverviewTab } from './tabs/overview.js';
import { createPagesTab } from './tabs/pages.js';
import { createPathsTab } from './tabs/paths.js';
import { createAlertsTab } from './tabs/alerts.js';
import { createProblemsTab } from './tabs/problems.js';

const TABS = {
  problems: createProblemsTab,
  engagement: createEngagementTab,
  pages: createPagesTab,
  paths: createPathsTab,
  overview: createOverviewTab,
  alerts: createAlertsTab,
};
const PERIODS = ['day', 'week', 'month'];
const FILTERS = ['all', 'logged', 'anonymous'];
const STATUSES = ['all', 'active', 'at_risk', 'dormant'];

// filter: the overview's sessions; status: the engagement list's (each tab its own).
// sort: the tab's main table's column and direction ({col, dir}), or null.
const state = { tab: 'problems', period: 'week', filter: 'all', status: 'all', sort: null };

const els = {
  panel: $('#tab-panel'),
  profile: $('#profile'),
  conn: $('#conn-state'),
  connLabel: $('#conn-state .conn-label'),
  periods: $('#period-select'),
  filters: $('#filter-select'),
};
const freshness = createFreshness($('#freshness'));

// The view on screen: {key, kind, view, socket, gen, gotLive, data}.
let current = null;
let generation = 0;

function parseHash() {
  const raw = window.location.hash.replace(/^#\/?/, '');
  const [path, query = ''] = raw.split('?');
  const params = new URLSearchParams(query);
  const period = PERIODS.includes(params.get('period')) ? params.get('period') : state.period;
  const filter = FILTERS.includes(params.get('filter')) ? params.get('filter') : state.filter;
  const user = /^users\/(\d+)$/.exec(path);
  if (user) return { kind: 'user', userId: user[1], period, filter, status: state.status };
  const tab = TABS[path] ? path : state.tab;
  // A link to the engagement tab without a status shows every status.
  const asked = params.get('status');
  const status = STATUSES.includes(asked) ? asked : (tab === 'engagement' ? 'all' : state.status);
  return { kind: 'tab', tab, period, filter, status, sort: parseSort(params.get('sort')) };
}

/** ``3:desc`` -> {col: 3, dir: 'desc'}; anything else -> null. */
function parseSort(text) {
  const m = /^(\d{1,2}):(asc|desc)$/.exec(text || '');
  return m ? { col: Number(m[1]), dir: m[2] } : null;
}

function tabHash(tab, period = state.period, filter = state.filter, status = state.status) {
  const q = new URLSearchParams({ period });
  if (tab === 'overview') q.set('filter', filter);
  if (tab === 'engagement' && status !== 'all') q.set('status', status);
  // Written by hand: URLSearchParams would escape the colon.
  const sort = tab === state.tab && state.sort ? `&sort=${state.sort.col}:${state.sort.dir}` : '';
  return `#/${tab}?${q}${sort}`;
}

/** The API's filter for a tab: the overview's sessions, the engagement list's status. */
function filterOf(tab) {
  if (tab === 'overview') return state.filter;
  return tab === 'engagement' ? state.status : 'all';
}

// The reason of the last close with 1013 ("redis unreachable"...), until a socket opens.
let outage = null;

/** What is down, from a 1013 close reason or a 503's part: {what, rebuilding}. */
function outageOf(reason) {
  const text = String(reason || '');
  if (text.startsWith('read model')) return { what: t('part.read_model'), rebuilding: true };
  const part = text.split(' ')[0];
  const known = part === 'redis' || part === 'postgres';
  return { what: t(known ? `part.${part}` : 'part.unknown'), rebuilding: false };
}

function outageLabel(reason, retryInMs) {
  const { what, rebuilding } = outageOf(reason);
  const key = rebuilding ? 'conn.rebuilding' : 'conn.down';
  return retryInMs ? t(key, { what, s: Math.round(retryInMs / 1000) }) : t(`${key}_connecting`, { what });
}

function outageShort(reason) {
  const { what, rebuilding } = outageOf(reason);
  return rebuilding ? t('fresh.rebuilding') : t('fresh.down', { what });
}

/** The notice over a view while a server is down (its numbers may be stale). */
function outageNotice(reason, hasData) {
  const { what, rebuilding } = outageOf(reason);
  if (rebuilding) return t('error.rebuilding');
  return t(hasData ? 'error.stale' : 'error.unavailable', { what });
}

function setConn(stateName, info = {}) {
  if (stateName === 'open' || stateName === 'idle') outage = null;
  else if ('outage' in info) outage = info.outage || null;
  els.conn.dataset.state = stateName;
  if (outage) els.conn.dataset.outage = outage;
  else delete els.conn.dataset.outage;
  let label = t(`conn.${stateName}`);
  if (outage && stateName !== 'open') {
    label = outageLabel(outage, stateName === 'closed' ? info.retryInMs : 0);
  } else if (stateName === 'closed' && info.retryInMs) {
    label = t('conn.retry', { s: Math.round(info.retryInMs / 1000) });
  }
  els.connLabel.textContent = label;
  els.conn.title = label;
  // Down means: closed, or trying again after a failure (not the first connect).
  const down = stateName === 'closed' || (stateName === 'connecting' && info.retrying);
  freshness.setSocketDown(down || Boolean(outage), outage ? outageShort(outage) : '');
}

function syncControls(route) {
  $$('[data-tab]', $('#tabs')).forEach((b) => {
    const on = route.kind === 'tab' && b.dataset.tab === route.tab;
    b.setAttribute('aria-selected', on ? 'true' : 'false');
    // One tab stop for the tab list (the selected tab); arrow keys move within it.
    b.tabIndex = b.dataset.tab === (route.kind === 'tab' ? route.tab : state.tab) ? 0 : -1;
    b.classList.toggle('active', on);
  });
  if (route.kind === 'tab') els.panel.setAttribute('aria-labelledby', `tab-${route.tab}`);
  $$('[data-period]').forEach((b) => b.setAttribute('aria-pressed', String(b.dataset.period === state.period)));
  $$('[data-filter]').forEach((b) => b.setAttribute('aria-pressed', String(b.dataset.filter === state.filter)));
  $$('[data-lang]').forEach((b) => b.setAttribute('aria-pressed', String(b.dataset.lang === getLang())));
  // The overview's charts are fixed windows: it takes the filter, not the period.
  els.periods.hidden = !(route.kind === 'tab' && route.tab !== 'overview' && route.tab !== 'alerts');
  els.filters.hidden = !(route.kind === 'tab' && route.tab === 'overview');
}

function teardown() {
  if (!current) return;
  if (current.socket) current.socket.stop();
  hideExplain();
  destroyCharts(current.container);
  if (current.view) current.view.destroy();
  current = null;
}

function showMessage(container, text, tone = 'error') {
  const old = container.querySelector(':scope > .notice');
  if (old) old.remove();
  if (!text) return;
  // A view that cannot show its data says why instead of loading on and on.
  if (tone === 'error') setLoading(container, false);
  container.prepend(h('div', { class: ['notice', `notice-${tone}`], role: 'status' }, text));
}

/** The loading state of a view until its first document: a visible, announced
 * indicator, and aria-busy so assistive tech waits for the view to be whole. */
function setLoading(container, on) {
  const old = container.querySelector(':scope > .loading');
  if (old) old.remove();
  if (!on) {
    container.removeAttribute('aria-busy');
    return;
  }
  container.setAttribute('aria-busy', 'true');
  container.prepend(h('div', { class: 'loading', role: 'status', 'data-loading': '1' },
    h('span', { class: 'spinner', 'aria-hidden': 'true' }), t('loading')));
}

/** The one page of an id that is no tracked user: nothing to watch, so no socket and
 * no "Offline" (the server is fine), and no empty profile around the message. */
function showNoUser(gen, userId, backHref) {
  if (!current || current.gen !== gen || current.missing) return;
  current.missing = true;
  current.socket.stop();
  hideExplain();
  destroyCharts(current.container);
  fill(current.container, noSuchUser(userId, backHref));
  current.container.dataset.loaded = '1';
  current.container.dataset.missing = '1';
  setLoading(current.container, false);
  setConn('idle');
  freshness.set(null);
  $('#live-toggle').hidden = true;     // nothing live to pause
  document.title = `${t('no_user.title')} · insights`;
}

/** Puts one document (from the fetch or the socket) on screen. */
// Live updates paused, per page (a tab, or the profiles), remembered in the browser.
function pauseKey(route) {
  return `insights.paused.${route.kind === 'user' ? 'profile' : route.tab}`;
}

function isPaused(route) {
  try { return window.localStorage.getItem(pauseKey(route)) === '1'; } catch { return false; }
}

function setPaused(route, on) {
  try {
    if (on) window.localStorage.setItem(pauseKey(route), '1');
    else window.localStorage.removeItem(pauseKey(route));
  } catch { /* storage refused: paused for this page view only */ }
  syncPause(on);
  if (!current) return;
  current.paused = on;
  freshness.setPaused(on, Boolean(current.pending));
  if (!on && current.pending) {         // catch up at once
    const data = current.pending;
    current.pending = null;
    apply(current.gen, data, 'live');
  }
}

function syncPause(on) {
  const b = $('#live-toggle');
  b.setAttribute('aria-pressed', String(on));
  b.textContent = t(on ? 'live.resume' : 'live.pause');
  b.title = t(on ? 'live.resume.hint' : 'live.pause.hint');
  document.body.dataset.livePaused = on ? '1' : '0';
}

function apply(gen, data, source) {
  if (!current || current.gen !== gen || !data || typeof data !== 'object') return;
  // A socket message is at least as new as the fetch: a late fetch must not win.
  if (source === 'fetch' && current.gotLive) return;
  if (source === 'live') current.gotLive = true;
  if (source === 'live' && current.paused && current.data) {   // kept for the resume
    current.pending = data;
    freshness.setPaused(true, true);
    return;
  }
  current.data = data;
  try {
    current.view.update(data);
  } catch (err) {
    console.error('render failed', err);
    showMessage(current.container, t('error.render'));
    return;
  }
  showMessage(current.container, null);
  setLoading(current.container, false);
  current.container.dataset.loaded = '1';
  freshness.set(data.freshness);
  reattachExplain(current.container);
}

function fail(gen, err) {
  if (!current || current.gen !== gen) return;
  if (!(err instanceof HttpError)) {
    if (err && err.name === 'AbortError') return;
    if (!current.data) showMessage(current.container, t('error.network'));
    return;
  }
  if (err.status === 401) return; // on the way to /login
  if (err.status === 404 && current.kind === 'user') {
    showNoUser(gen, current.userId, current.backHref);
    return;
  }
  if (err.status === 403) {
    showMessage(current.container, t('error.forbidden'));
    return;
  }
  if (err.status === 503) {
    // A server is down: say which; the socket keeps trying and brings the data back.
    if (!current.data) showMessage(current.container, outageNotice(err.unavailable[0], false));
    return;
  }
  // The socket may still bring the data; show the problem only while there is none.
  if (!current.data) showMessage(current.container, t('error.http', { status: err.status }));
}

function paths(route) {
  if (route.kind === 'user') {
    const id = encodeURIComponent(route.userId);
    return { rest: `/api/users/${id}`, live: `/ws/users/${id}` };
  }
  if (route.tab === 'alerts') return { rest: '/api/alerts/feed', live: '/ws/alerts' };
  const q = new URLSearchParams({ period: state.period, filter: filterOf(route.tab) });
  return { rest: `/api/tabs/${route.tab}?${q}`, live: `/ws/tabs/${route.tab}?${q}` };
}

function mount(route, { keepData = null } = {}) {
  teardown();
  const gen = ++generation;
  const isUser = route.kind === 'user';
  const container = isUser ? els.profile : els.panel;
  const other = isUser ? els.panel : els.profile;
  other.hidden = true;
  clear(other);
  other.dataset.loaded = '0';
  container.hidden = false;
  container.dataset.loaded = '0';
  delete container.dataset.missing;
  if (isUser) container.dataset.userId = route.userId;
  else container.dataset.tab = route.tab;
  const ctx = {
    period: state.period,
    filter: state.filter,
    status: state.status,
    setStatus: (status) => { window.location.hash = tabHash('engagement', state.period, state.filter, status); },
    sort: state.sort,
    // The link keeps the order (no new history entry, nothing fetched again).
    setSort: (sort) => {
      state.sort = sort;
      window.history.replaceState(null, '', tabHash(state.tab));
    },
    openUser: (id) => { window.location.hash = `#/users/${Number(id)}`; },
    backHref: tabHash(state.tab),
  };
  const view = isUser ? createProfileView(route.userId, ctx) : TABS[route.tab](ctx);
  fill(container, view.el);
  if (!keepData) setLoading(container, true);
  const key = routeKey(route);
  const paused = isPaused(route);
  current = { key, kind: route.kind, view, container, gen, gotLive: false, data: null, socket: null,
    paused, pending: null, userId: route.userId, backHref: ctx.backHref, missing: false };
  $('#live-toggle').hidden = false;
  freshness.set(null);
  freshness.setPaused(paused);
  syncPause(paused);
  if (keepData) apply(gen, keepData, 'fetch');

  const { rest, live } = paths(route);
  const probe = () => getJSON(rest).catch((err) => fail(gen, err));
  current.socket = new LiveSocket(live, {
    patch: true,
    onMessage: (data) => apply(gen, data, 'live'),
    onState: (s, info) => {
      if (!current || current.gen !== gen) return;
      setConn(s, info);
      if (s === 'closed' && info.outage) {
        showMessage(current.container, outageNotice(info.outage, Boolean(current.data)));
      }
    },
    onTerminal: (code) => {
      if (current && current.gen === gen && code === 4404 && isUser) {
        fail(gen, new HttpError(404, 'no such user'));
      }
    },
    onProbe: probe,
  }).start();
  getJSON(rest).then((data) => apply(gen, data, 'fetch'), (err) => fail(gen, err));
  document.title = isUser ? `${t('title.profile')} · insights` : `${t(`tab.${route.tab}`)} · insights`;
}

function routeKey(route) {
  return route.kind === 'user'
    ? `user:${route.userId}`
    : `tab:${route.tab}:${state.period}:${filterOf(route.tab)}`;
}

function route() {
  const r = parseHash();
  state.period = r.period;
  state.filter = r.filter;
  state.status = r.status;
  if (r.kind === 'tab') {
    state.sort = r.sort;
    state.tab = r.tab;
  }
  syncControls(r);
  if (current && current.key === routeKey(r)) return;
  mount(r);
  if (r.kind === 'user') window.scrollTo(0, 0);
}

// The ARIA tabs pattern: Left/Right (wrapping), Home and End select and focus a tab.
function onTabKey(e) {
  const tabs = $$('[data-tab]', $('#tabs'));
  const at = tabs.indexOf(e.target);
  if (at < 0) return;
  const next = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: tabs.length - 1 }[e.key];
  if (next === undefined) return;
  e.preventDefault();
  const tab = tabs[(next + tabs.length) % tabs.length];
  tab.focus();
  window.location.hash = tabHash(tab.dataset.tab);
}

function wireHeader() {
  $('#tabs').addEventListener('keydown', onTabKey);
  $('#live-toggle').addEventListener('click', () => {
    if (current) setPaused(parseHash(), !current.paused);
  });
  $('#tabs').addEventListener('click', (e) => {
    const b = e.target instanceof Element ? e.target.closest('[data-tab]') : null;
    if (b) window.location.hash = tabHash(b.dataset.tab);
  });
  els.periods.addEventListener('click', (e) => {
    const b = e.target instanceof Element ? e.target.closest('[data-period]') : null;
    if (b) window.location.hash = tabHash(state.tab, b.dataset.period);
  });
  els.filters.addEventListener('click', (e) => {
    const b = e.target instanceof Element ? e.target.closest('[data-filter]') : null;
    if (b) window.location.hash = tabHash('overview', state.period, b.dataset.filter);
  });
  $('#lang-switch').addEventListener('click', (e) => {
    const b = e.target instanceof Element ? e.target.closest('[data-lang]') : null;
    if (!b || b.dataset.lang === getLang()) return;
    setLang(b.dataset.lang);
    translatePage();
    // Every label of the view changes: rebuild it from the data it has, socket included.
    const r = parseHash();
    syncControls(r);
    mount(r, { keepData: current ? current.data : null });
    setConn(els.conn.dataset.state || 'connecting');
    freshness.render();
  });
}

function start() {
  translatePage();
  initExplain($('#explain'));
  initSearch({
    input: $('#user-search'), list: $('#user-matches'), status: $('#user-search-status'),
    open: (id) => { window.location.hash = `#/users/${Number(id)}`; },
  });
  wireHeader();
  window.addEventListener('hashchange', route);
  if (!window.location.hash || window.location.hash === '#' || window.location.hash === '#/') {
    window.history.replaceState(null, '', tabHash(state.tab));
  }
  setConn('connecting');
  route();
}

start();
