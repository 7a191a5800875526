// Chart.js (vendored UMD build, loaded before the modules as window.Chart).
// upsertChart makes a chart once and afterwards only swaps its data and calls
// chart.update(), so a live message does not flicker or lose a tooltip.

import { fmtNum } from './format.js';
import { locale } from './i18n.js';

export const COLORS = {
  blue: '#2f6fb3',
  blueFill: 'rgba(47, 111, 179, 0.12)',
  teal: '#1f8a78',
  tealFill: 'rgba(31, 138, 120, 0.12)',
  amber: '#c98a12',
  grey: '#8a94a3',
  violet: '#6b5cb5',
  red: '#c2412d',
  grid: '#e6e9ee',
  text: '#3b4452',
};

let configured = false;

function chartLib() {
  const Chart = window.Chart;
  if (!Chart) return null;
  if (!configured) {
    configured = true;
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.font.size = 12;
    // The theme's text and line colours (dark when the system asks for it).
    const css = getComputedStyle(document.documentElement);
    COLORS.text = css.getPropertyValue('--text-2').trim() || COLORS.text;
    COLORS.grid = css.getPropertyValue('--border').trim() || COLORS.grid;
    Chart.defaults.color = COLORS.text;
    Chart.defaults.borderColor = COLORS.grid;
    Chart.defaults.maintainAspectRatio = false;
    Chart.defaults.plugins.legend.labels.boxWidth = 12;
    Chart.defaults.animation.duration = 250;
    // Tooltips in the page's number format (Chart.js's own leaves Polish 1234 ungrouped).
    Chart.defaults.plugins.tooltip.callbacks.label = tooltipLabel;
  }
  return Chart;
}

/**
 * Creates the chart on `canvas` from config(), or, when there is one already,
 * copies config().data into it and updates it in place.
 */
export function upsertChart(canvas, config) {
  const Chart = chartLib();
  if (!Chart || !canvas) return null;
  const next = config();
  // Ticks and tooltips in the page's language (Chart.js formats numbers with Intl).
  next.options = { ...(next.options || {}), locale: locale() };
  const chart = Chart.getChart(canvas);
  if (!chart) return new Chart(canvas, next);
  chart.data.labels = next.data.labels;
  const datasets = next.data.datasets;
  if (chart.data.datasets.length !== datasets.length) {
    chart.data.datasets = datasets;
  } else {
    datasets.forEach((ds, i) => {
      Object.assign(chart.data.datasets[i], { data: ds.data, label: ds.label });
    });
  }
  chart.update();
  return chart;
}

/** Destroys the charts under `root` (when a view goes away or is rebuilt). */
export function destroyCharts(root) {
  const Chart = window.Chart;
  if (!Chart || !root) return;
  root.querySelectorAll('canvas').forEach((canvas) => {
    const chart = Chart.getChart(canvas);
    if (chart) chart.destroy();
  });
}

/** A tooltip's line: the series (or, in a doughnut, the slice) and its value. */
function tooltipLabel(ctx) {
  const value = typeof ctx.parsed === 'number' ? ctx.parsed : ctx.parsed.y;
  const name = ctx.chart.config.type === 'doughnut' ? ctx.label : ctx.dataset.label;
  return name ? `${name}: ${fmtNum(value, 2)}` : fmtNum(value, 2);
}

export function integerAxis(extra = {}) {
  return {
    beginAtZero: true, ticks: { precision: 0, callback: (v) => fmtNum(v, 2) },
    grid: { color: COLORS.grid }, ...extra,
  };
}
