// Overview tab: 30 days of sessions and page views, the day x hour heatmap,
// devices by week and logged-in vs anonymous sessions; each chart with its data as a
// table (its text alternative), updated with it.

import { h, fill } from '../dom.js';
import { COLORS, integerAxis, upsertChart } from '../charts.js';
import { fmtDate, fmtDay, fmtInt } from '../format.js';
import { t } from '../i18n.js';
import { canvasBox, chartTable, heatmap, panel, statCards } from '../widgets.js';

const DAY_KEYS = ['dow.0', 'dow.1', 'dow.2', 'dow.3', 'dow.4', 'dow.5', 'dow.6'];

function sum(list) {
  return (list || []).reduce((a, b) => a + (Number(b) || 0), 0);
}

export function createOverviewTab(ctx) {
  const cards = statCards([
    { key: 'total_sessions', label: t('overview.total_sessions'), hint: t('overview.month_hint') },
    { key: 'logged', label: t('overview.logged'), hint: t('overview.month_hint'), tone: 'blue' },
    { key: 'anonymous', label: t('overview.anonymous'), hint: t('overview.month_hint') },
    { key: 'total_pageviews', label: t('overview.total_pageviews'), hint: t('overview.chart_hint') },
  ]);
  const sessionsLabel = t(`overview.sessions.${ctx.filter}`);
  const daily = canvasBox('tall', t('overview.daily'));
  const dailyTable = chartTable(t('overview.daily'), [
    { label: t('col.day'), className: 'nowrap', sortKey: (r) => r.day, cell: (r) => fmtDate(r.day) },
    { label: sessionsLabel, num: true, cell: (r) => r.sessions },
    { label: t('overview.pageviews'), num: true, cell: (r) => r.pageviews },
  ], (r) => r.day);
  const devices = canvasBox('', t('overview.devices'));
  const devicesTable = chartTable(t('overview.devices'), [
    { label: t('col.week'), className: 'nowrap', sortKey: (r) => r.week, cell: (r) => fmtDate(r.week) },
    { label: t('device.desktop'), num: true, cell: (r) => r.desktop },
    { label: t('device.mobile'), num: true, cell: (r) => r.mobile },
    { label: t('device.tablet'), num: true, cell: (r) => r.tablet },
  ], (r) => r.week);
  const split = canvasBox('', t('overview.logged_vs_anon'));
  const splitTable = chartTable(t('overview.logged_vs_anon'), [
    { label: t('col.visitors'), cell: (r) => t(`overview.${r.kind}`) },
    { label: t('col.sessions'), num: true, cell: (r) => r.sessions },
  ], (r) => r.kind);
  const heat = h('div');
  const el = h('div', { class: 'tab tab-overview' },
    cards.el,
    panel(t('overview.daily'), { hint: t('overview.chart_hint') }, daily.el, dailyTable.el),
    panel(t('overview.heatmap'), { hint: t('overview.heatmap.hint') }, heat),
    h('div', { class: 'grid-2' },
      panel(t('overview.devices'), { hint: t('overview.devices.hint') }, devices.el, devicesTable.el),
      panel(t('overview.logged_vs_anon'), { hint: t('overview.month_hint') }, split.el, splitTable.el)));

  return {
    el,
    update(data) {
      const chart = data.chart_data || { labels: [], sessions: [], pageviews: [] };
      const lva = data.logged_vs_anon || { logged: 0, anonymous: 0 };
      cards.update({
        total_sessions: (Number(lva.logged) || 0) + (Number(lva.anonymous) || 0),
        logged: lva.logged,
        anonymous: lva.anonymous,
        total_pageviews: sum(chart.pageviews),
      });
      dailyTable.update((chart.labels || []).map((day, i) => ({
        day, sessions: (chart.sessions || [])[i], pageviews: (chart.pageviews || [])[i],
      })));

      upsertChart(daily.canvas, () => ({
        type: 'line',
        data: {
          labels: (chart.labels || []).map(fmtDay),
          datasets: [
            { label: sessionsLabel, data: chart.sessions, borderColor: COLORS.blue,
              backgroundColor: COLORS.blueFill, fill: true, tension: 0.25, pointRadius: 2, yAxisID: 'y' },
            { label: t('overview.pageviews'), data: chart.pageviews, borderColor: COLORS.teal,
              backgroundColor: COLORS.tealFill, fill: false, tension: 0.25, pointRadius: 2, yAxisID: 'y1' },
          ],
        },
        options: {
          interaction: { mode: 'index', intersect: false },
          scales: {
            x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 12 } },
            y: integerAxis({ title: { display: true, text: sessionsLabel } }),
            y1: integerAxis({ position: 'right', grid: { drawOnChartArea: false },
              title: { display: true, text: t('overview.pageviews') } }),
          },
        },
      }));

      const rows = (data.heatmap || []).map((row, i) => ({
        label: t(DAY_KEYS[i] || '') === DAY_KEYS[i] ? row.name : t(DAY_KEYS[i]),
        cells: row.hours || [],
      }));
      const hours = Array.from({ length: 24 }, (_, i) => String(i));
      fill(heat, heatmap(rows, hours, {
        cellTitle: (row, hour, cell) => t('overview.heat_cell', {
          day: row.label, hour: String(hour).padStart(2, '0'), n: fmtInt(cell.count),
        }),
      }));

      const dev = data.devices || { labels: [], desktop: [], mobile: [], tablet: [] };
      devicesTable.update((dev.labels || []).map((week, i) => ({
        week, desktop: (dev.desktop || [])[i], mobile: (dev.mobile || [])[i], tablet: (dev.tablet || [])[i],
      })));
      upsertChart(devices.canvas, () => ({
        type: 'bar',
        data: {
          labels: (dev.labels || []).map((l) => t('overview.week_of', { day: fmtDay(l) })),
          datasets: [
            { label: t('device.desktop'), data: dev.desktop, backgroundColor: COLORS.blue },
            { label: t('device.mobile'), data: dev.mobile, backgroundColor: COLORS.teal },
            { label: t('device.tablet'), data: dev.tablet, backgroundColor: COLORS.amber },
          ],
        },
        options: {
          interaction: { mode: 'index', intersect: false },
          scales: { x: { stacked: true, grid: { display: false } }, y: integerAxis({ stacked: true }) },
        },
      }));

      splitTable.update([{ kind: 'logged', sessions: lva.logged },
        { kind: 'anonymous', sessions: lva.anonymous }]);
      upsertChart(split.canvas, () => ({
        type: 'doughnut',
        data: {
          labels: [t('overview.logged'), t('overview.anonymous')],
          datasets: [{ data: [lva.logged, lva.anonymous],
            backgroundColor: [COLORS.blue, COLORS.grey], borderWidth: 1 }],
        },
        options: { cutout: '62%', plugins: { legend: { position: 'bottom' } } },
      }));
    },
    destroy() {},
  };
}
