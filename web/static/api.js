// Talking to the server: one-off JSON fetches and a live WebSocket that
// reconnects by itself.

import { applyPatch } from './patch.js';

const LOGIN_URL = '/login';
// Close codes the server uses for "your session ended" and "not allowed".
const CLOSE_UNAUTHORIZED = 4401;
const CLOSE_FORBIDDEN = 4403;
// "Try again later": a server behind the view is down; the reason names it
// ("redis unreachable", "postgres timeout", "read model rebuilding").
const CLOSE_TRY_AGAIN = 1013;
const BACKOFF_MS = [1000, 2000, 4000, 8000, 15000];

window.__insightsMessages = window.__insightsMessages || 0;
window.__insightsPatches = window.__insightsPatches || 0;   // of them, patches applied

export class HttpError extends Error {
  constructor(status, detail, unavailable = []) {
    super(`HTTP ${status}${detail ? `: ${detail}` : ''}`);
    this.status = status;
    this.detail = detail;
    // A 503's parts that are down ("redis", "postgres", "read model").
    this.unavailable = unavailable;
  }
}

let redirecting = false;

/** Off to the login page (once: several sockets and fetches may notice together). */
export function redirectToLogin() {
  if (redirecting) return;
  redirecting = true;
  window.location.assign(LOGIN_URL);
}

/** GET a JSON document; a 401 sends the browser to the login page. */
export async function getJSON(url, { signal } = {}) {
  return answerOf(await fetch(url, {
    credentials: 'same-origin',
    headers: { Accept: 'application/json' },
    signal,
  }));
}

/** POST (no body) and read the JSON answer, as getJSON does. */
export async function postJSON(url) {
  return answerOf(await fetch(url, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { Accept: 'application/json' },
  }));
}

/** Send `body` as JSON with `method` (POST, PUT, DELETE) and read the JSON answer
 * (null for a 204), as getJSON does; a refusal is an HttpError with the server's detail. */
export async function sendJSON(method, url, body = undefined) {
  const response = await fetch(url, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? { Accept: 'application/json' }
      : { Accept: 'application/json', 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return null;
  return answerOf(response);
}

async function answerOf(response) {
  if (response.status === 401) {
    redirectToLogin();
    throw new HttpError(401, 'not logged in');
  }
  if (!response.ok) {
    let detail = '';
    let unavailable = [];
    try {
      const body = await response.json();
      detail = typeof body.detail === 'string' ? body.detail : '';
      if (Array.isArray(body.unavailable)) {
        unavailable = body.unavailable.filter((part) => typeof part === 'string');
      }
    } catch {
      /* not JSON: the status says enough */
    }
    throw new HttpError(response.status, detail, unavailable);
  }
  return response.json();
}

function wsURL(path) {
  const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${window.location.host}${path}`;
}

/**
 * A WebSocket that delivers each JSON message to onMessage and reconnects
 * after a close with backoff 1 s, 2 s, 4 s, 8 s, 15 s, 15 s ... The backoff
 * starts over once a message has arrived (a server that accepts and then drops
 * us straight away keeps backing off).
 *
 * onState(state, info) gets 'connecting' | 'open' | 'closed', with
 * info.retrying (an earlier attempt failed) and info.retryInMs; after a close
 * with 1013 ("try again later": a server is down), info.outage is its reason
 * (e.g. "redis unreachable").
 * onTerminal(code) is called for a 4xxx close other than 4401/4403 (e.g.
 * "no such user"), after which it does not reconnect.
 * onProbe() is called when a connection closed without ever opening: the
 * handshake may have been refused (e.g. an HTTP 401), which the browser does not
 * tell us, so the caller can ask over HTTP.
 */
export class LiveSocket {
  constructor(path, { onMessage, onState, onTerminal, onProbe, patch = false } = {}) {
    // patch: ask for JSON Patches after the first document (a fraction of the bytes).
    this.path = patch ? `${path}${path.includes('?') ? '&' : '?'}patch=json` : path;
    this.patch = patch;
    this.doc = null;      // with patch: the document as of version this.version
    this.version = 0;
    this.onMessage = onMessage || (() => {});
    this.onState = onState || (() => {});
    this.onTerminal = onTerminal || (() => {});
    this.onProbe = onProbe || (() => {});
    this.ws = null;
    this.attempt = 0;
    this.timer = null;
    this.stopped = false;
    this._online = () => this._reconnectNow();
  }

  start() {
    this.stopped = false;
    window.addEventListener('online', this._online);
    this._connect();
    return this;
  }

  stop() {
    this.stopped = true;
    window.removeEventListener('online', this._online);
    clearTimeout(this.timer);
    this.timer = null;
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      if (ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.OPEN) {
        ws.close(1000, 'view changed');
      }
    }
  }

  _connect() {
    this.timer = null;
    if (this.stopped) return;
    let opened = false;
    let ws;
    try {
      ws = new WebSocket(wsURL(this.path));
    } catch {
      this._scheduleReconnect(false);
      return;
    }
    this.ws = ws;
    this.onState('connecting', { retrying: this.attempt > 0 });
    ws.onopen = () => {
      opened = true;
      this.onState('open', { retrying: false });
    };
    ws.onmessage = (event) => {
      let data;
      try {
        data = JSON.parse(event.data);
      } catch {
        return; // not ours to show
      }
      if (this.patch) {
        data = this._patched(data);
        if (data === null) {            // out of step: the whole document again, now
          this.resync = true;
          ws.close(1000, 'resync');
          return;
        }
      }
      this.attempt = 0;
      try {
        this.onMessage(data);
      } finally {
        // Counted after the message is applied, so a test that sees the counter move
        // also sees the page that message produced.
        window.__insightsMessages += 1;
      }
    };
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.doc = null;
      if (this.stopped) return;
      if (this.resync) {
        this.resync = false;
        this._connect();
        return;
      }
      if (event.code === CLOSE_UNAUTHORIZED || event.code === CLOSE_FORBIDDEN) {
        this.onState('closed', { retrying: false });
        redirectToLogin();
        return;
      }
      if (event.code >= 4000 && event.code <= 4999) {
        this.stopped = true;
        this.onState('closed', { retrying: false });
        this.onTerminal(event.code, event.reason);
        return;
      }
      const outage = event.code === CLOSE_TRY_AGAIN ? event.reason || 'unavailable' : null;
      this._scheduleReconnect(!opened, outage);
    };
  }

  /** The document a patched socket's message makes, or null when it does not follow. */
  _patched(message) {
    if (message && typeof message === 'object' && 'doc' in message) {
      this.doc = message.doc;
      this.version = message.v;
      return this.doc;
    }
    if (!message || !Array.isArray(message.patch) || this.doc === null
        || message.v !== this.version + 1) return null;
    try {
      this.doc = applyPatch(structuredClone(this.doc), message.patch);
    } catch (err) {
      console.warn('live patch not applied', err);
      return null;
    }
    this.version = message.v;
    window.__insightsPatches += 1;
    return this.doc;
  }

  _scheduleReconnect(neverOpened, outage = null) {
    // ±25% jitter: after a server restart the pages do not all come back at once.
    const base = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
    const delay = Math.round(base * (0.75 + Math.random() * 0.5));
    this.attempt += 1;
    this.onState('closed', { retrying: true, retryInMs: delay, outage });
    if (neverOpened) this.onProbe();
    this.timer = setTimeout(() => this._connect(), delay);
  }

  _reconnectNow() {
    if (this.stopped || !this.timer) return;
    clearTimeout(this.timer);
    this._connect();
  }
}
