// The freshness badge: how old the newest event behind the numbers on screen
// is, by the browser's clock, ticking every second.

import { fmtAge, fmtDateTime, fmtInt, parseTime } from './format.js';
import { t } from './i18n.js';

const WARN_AFTER_S = 60;
const BAD_AFTER_S = 300;

export function createFreshness(el) {
  let freshness = null;   // the last {newest_event_at, applied_at, lag}, or null
  let socketDown = false;
  let downWhy = '';   // what is down, when the server said (e.g. "Redis unavailable")
  let paused = false;   // live updates paused on this page
  let waiting = false;  // and newer numbers came meanwhile

  function render() {
    const newest = parseTime(freshness && freshness.newest_event_at);
    let level;
    let text;
    if (!freshness) {
      level = socketDown ? 'bad' : 'unknown';
      text = t('fresh.unknown');
      delete el.dataset.ageSeconds;
    } else if (!newest) {
      level = socketDown ? 'bad' : 'unknown';
      text = t('fresh.none');
      delete el.dataset.ageSeconds;
    } else {
      // A clock a little behind the server's must not show a negative age.
      const age = Math.max(0, (Date.now() - newest.getTime()) / 1000);
      el.dataset.ageSeconds = String(Math.floor(age));
      level = socketDown || age > BAD_AFTER_S ? 'bad' : age > WARN_AFTER_S ? 'warn' : 'ok';
      text = t('fresh.updated', { age: fmtAge(age) });
    }
    if (freshness && freshness.lag !== null && freshness.lag !== undefined) {
      text += ` · ${t('fresh.lag', { n: fmtInt(freshness.lag) })}`;
    }
    if (paused) {
      text = `${t('fresh.paused')} · ${text}${waiting ? ` · ${t('fresh.waiting')}` : ''}`;
      level = 'paused';
    }
    el.dataset.level = level;
    el.textContent = text;
    const tips = [];
    if (newest) tips.push(`${t('fresh.newest')}: ${fmtDateTime(freshness.newest_event_at)}`);
    if (freshness && freshness.applied_at) {
      tips.push(`${t('fresh.applied')}: ${fmtDateTime(freshness.applied_at)}`);
    }
    if (socketDown) tips.push(downWhy || t('conn.closed'));
    el.title = tips.join('\n');
  }

  setInterval(render, 1000);
  render();
  return {
    set(value) {
      freshness = value && typeof value === 'object' ? value : null;
      render();
    },
    setPaused(on, behind = false) {
      paused = on;
      waiting = on && behind;
      render();
    },
    setSocketDown(down, why = '') {
      socketDown = down;
      downWhy = down ? why : '';
      render();
    },
    render,
  };
}
