// Charts (Chart.js), loaded only by the pages that draw one: the first load stays small.

let loading = null;

/** window.Chart, loading /web/vendor/chartjs/chart.umd.min.js on first use. */
export function loadCharts() {
  if (window.Chart) return Promise.resolve(window.Chart);
  if (!loading) {
    loading = new Promise((ok, no) => {
      const s = document.createElement("script");
      s.src = "/web/vendor/chartjs/chart.umd.min.js";
      s.onload = () => {
        const C = window.Chart;
        C.defaults.font.family = getComputedStyle(document.documentElement).fontFamily;
        C.defaults.color = "#5b6b7d";
        C.defaults.animation = false;
        C.defaults.maintainAspectRatio = false;
        ok(C);
      };
      s.onerror = () => no(new Error("chart library failed to load"));
      document.head.append(s);
    });
  }
  return loading;
}

/** A chart in a fixed-height box; returns {box, chart promise}. */
export function chartBox(config, { height = 240, label = "" } = {}) {
  const canvas = document.createElement("canvas");
  canvas.setAttribute("role", "img");
  if (label) canvas.setAttribute("aria-label", label);
  const box = document.createElement("div");
  box.className = "chart-box";
  box.style.height = `${height}px`;
  box.append(canvas);
  const chart = loadCharts().then((Chart) => new Chart(canvas, config));
  return { box, chart };
}

/** Error bars for the 95 % confidence intervals: a plugin drawing [lo, hi] over each bar. */
export const ciPlugin = {
  id: "ci95",
  afterDatasetsDraw(chart) {
    const { ctx, scales, chartArea } = chart;
    chart.data.datasets.forEach((ds, di) => {
      if (!ds.ci || !chart.isDatasetVisible(di)) return;
      const meta = chart.getDatasetMeta(di);
      meta.data.forEach((bar, i) => {
        const ci = ds.ci[i];
        if (!ci) return;
        const horizontal = chart.options.indexAxis === "y";
        const scale = horizontal ? scales.x : scales.y;
        const a = scale.getPixelForValue(ci[0]); const b = scale.getPixelForValue(ci[1]);
        ctx.save();
        ctx.beginPath();
        ctx.rect(chartArea.left, chartArea.top, chartArea.right - chartArea.left, chartArea.bottom - chartArea.top);
        ctx.clip();
        ctx.strokeStyle = "#0b2545"; ctx.lineWidth = 1.5;
        ctx.beginPath();
        if (horizontal) {
          ctx.moveTo(a, bar.y); ctx.lineTo(b, bar.y);
          ctx.moveTo(a, bar.y - 5); ctx.lineTo(a, bar.y + 5); ctx.moveTo(b, bar.y - 5); ctx.lineTo(b, bar.y + 5);
        } else {
          ctx.moveTo(bar.x, a); ctx.lineTo(bar.x, b);
          ctx.moveTo(bar.x - 5, a); ctx.lineTo(bar.x + 5, a); ctx.moveTo(bar.x - 5, b); ctx.lineTo(bar.x + 5, b);
        }
        ctx.stroke();
        ctx.restore();
      });
    });
  },
};
