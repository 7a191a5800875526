// Number, time and date formatting in the selected language: one format per language
// everywhere (tables, cards, charts, tooltips). Every number goes through Intl with
// grouping always on: Polish leaves 4-digit numbers ungrouped by default ("1234"), so
// "1 234" and "12 345" would look like two formats on one page.

import { locale, t } from './i18n.js';

const DASH = '—';
const numberFormats = new Map();

/** The language's number format with at most ``digits`` decimals (made once each). */
function numberFormat(digits) {
  const key = `${locale()}|${digits}`;
  if (!numberFormats.has(key)) {
    numberFormats.set(key, new Intl.NumberFormat(locale(), {
      maximumFractionDigits: digits, useGrouping: 'always',
    }));
  }
  return numberFormats.get(key);
}

function missing(n) {
  return n === null || n === undefined || n === '' || Number.isNaN(Number(n));
}

export function fmtInt(n) {
  return missing(n) ? DASH : numberFormat(0).format(Number(n));
}

export function fmtNum(n, digits = 1) {
  return missing(n) ? DASH : numberFormat(digits).format(Number(n));
}

/** A value that may be a number or a word (an alert's "72" or "at_risk"): numbers formatted. */
export function fmtValue(v) {
  if (typeof v === 'number') return fmtNum(v, 2);
  return /^-?\d+(\.\d+)?$/.test(String(v ?? '')) ? fmtNum(Number(v), 2) : String(v ?? DASH);
}

/** 66.7 -> "66.7%" (Polish: "66,7%"). */
export function fmtPct(n, digits = 1) {
  if (n === null || n === undefined) return DASH;
  return `${fmtNum(n, digits)}%`;
}

/** Seconds as "45 s", "1 min 27 s", "2 h 5 min". */
export function fmtDuration(sec) {
  if (sec === null || sec === undefined) return DASH;
  const total = Math.max(0, Math.round(Number(sec)));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  if (hours) return `${fmtInt(hours)} ${t('unit.h')} ${minutes} ${t('unit.min')}`;
  if (minutes) return `${minutes} ${t('unit.min')} ${seconds} ${t('unit.s')}`;
  return `${seconds} ${t('unit.s')}`;
}

/** A short age for the freshness badge: "5 s", "3 min", "2 h", "4 d". */
export function fmtAge(sec) {
  const s = Math.max(0, Math.floor(sec));
  if (s < 120) return `${s} ${t('unit.s')}`;
  if (s < 7200) return `${Math.floor(s / 60)} ${t('unit.min')}`;
  if (s < 172800) return `${Math.floor(s / 3600)} ${t('unit.h')}`;
  return `${fmtInt(Math.floor(s / 86400))} ${t('unit.d')}`;
}

export function parseTime(iso) {
  if (!iso) return null;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : new Date(ms);
}

/** An RFC 3339 instant in the browser's time zone, e.g. "1 Dec 2026, 16:54". */
export function fmtDateTime(iso) {
  const d = parseTime(iso);
  if (!d) return DASH;
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'short' }).format(d);
}

/** "3 h ago" / "3 godz. temu"; "never" for null. */
export function fmtRelative(iso, now = Date.now()) {
  const d = parseTime(iso);
  if (!d) return t('never');
  const diff = (d.getTime() - now) / 1000;
  const abs = Math.abs(diff);
  const rtf = new Intl.RelativeTimeFormat(locale(), { numeric: 'auto', style: 'short' });
  if (abs < 60) return rtf.format(Math.round(diff), 'second');
  if (abs < 3600) return rtf.format(Math.round(diff / 60), 'minute');
  if (abs < 86400) return rtf.format(Math.round(diff / 3600), 'hour');
  return rtf.format(Math.round(diff / 86400), 'day');
}

function utcDay(label) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(label || '');
  return m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : null;
}

/** A "YYYY-MM-DD" day label as a short day ("02 Nov" / "02 lis"), not shifted by time zone. */
export function fmtDay(label) {
  const d = utcDay(label);
  if (!d) return String(label ?? '');
  return new Intl.DateTimeFormat(locale(), { day: '2-digit', month: 'short', timeZone: 'UTC' })
    .format(d);
}

/** A "YYYY-MM-DD" day with its year, in the date part of fmtDateTime ("2 Nov 2026"). */
export function fmtDate(label) {
  const d = utcDay(label);
  if (!d) return String(label ?? '');
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeZone: 'UTC' }).format(d);
}

/** A user's display name: the name, else the e-mail, else "#id". */
export function userName(user) {
  if (!user) return DASH;
  return user.name || user.email || `#${user.id}`;
}
