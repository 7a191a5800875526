// Number, time and date formatting in the selected language.

import { locale, t } from './i18n.js';

const DASH = '—';

export function fmtInt(n) {
  if (n === null || n === undefined || Number.isNaN(Number(n))) return DASH;
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: 0 }).format(n);
}

export function fmtNum(n, digits = 1) {
  if (n === null || n === undefined || Number.isNaN(Number(n))) return DASH;
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: digits }).format(n);
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
  if (hours) return `${hours} ${t('unit.h')} ${minutes} ${t('unit.min')}`;
  if (minutes) return `${minutes} ${t('unit.min')} ${seconds} ${t('unit.s')}`;
  return `${seconds} ${t('unit.s')}`;
}

/** A short age for the freshness badge: "5 s", "3 min", "2 h", "4 d". */
export function fmtAge(sec) {
  const s = Math.max(0, Math.floor(sec));
  if (s < 120) return `${s} ${t('unit.s')}`;
  if (s < 7200) return `${Math.floor(s / 60)} ${t('unit.min')}`;
  if (s < 172800) return `${Math.floor(s / 3600)} ${t('unit.h')}`;
  return `${Math.floor(s / 86400)} ${t('unit.d')}`;
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

/** A "YYYY-MM-DD" day label as a short day ("Nov 2" / "02.11"), not shifted by time zone. */
export function fmtDay(label) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(label || '');
  if (!m) return String(label ?? '');
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return new Intl.DateTimeFormat(locale(), { day: '2-digit', month: 'short', timeZone: 'UTC' })
    .format(d);
}

/** A user's display name: the name, else the e-mail, else "#id". */
export function userName(user) {
  if (!user) return DASH;
  return user.name || user.email || `#${user.id}`;
}
