// Warehouses: all shared overseas warehouses with their free capacity (list and map), and one
// warehouse's dashboard: conditions, capacity, charts (temperature, humidity, occupancy), alerts, sensors.

import { api } from "../api.js";
import { loadNetwork, overlay, fitTo, showNetwork } from "../map.js";
import { chartBox } from "../charts.js";
import { t, tv, nodeName, fmtDateTime, fmtNumber } from "../i18n.js";
import { h, field, showProblem } from "../ui.js";

export let layout = "";
const POLL_MS = 2000;

export async function mount(panel, ctx) {
  const id = ctx.args[0];
  document.getElementById("layout").className = `layout ${id ? "wide" : ""}`;
  return id ? warehousePage(panel, id, ctx) : listPage(panel, ctx);
}

function freeShare(w) {
  const c = w.capacity || {};
  return c.capacity_m3 ? c.free_m3 / c.capacity_m3 : null;
}

function tempText(c) {
  const tc = c && c.temperature_c;
  return tc ? `${fmtNumber(tc.mean, 1)} °C` : "—";
}

async function listPage(panel, { navigate }) {
  const net = await loadNetwork();
  const whs = Object.values(net.nodes).filter((n) => n.kind === "overseas_warehouse");
  const errors = h("div");
  const body = h("tbody");
  panel.append(h("section.card", {}, h("h1", {}, t("wh.title")), h("p.muted.small", {}, t("wh.intro")), errors,
    h("div.table-wrap", {}, h("table", { id: "wh-table" }, h("thead", {}, h("tr", {},
      ["wh.name", "wh.free", "wh.temp", "wh.alerts"].map((k, i) => h(i === 1 ? "th.num" : "th", {}, t(k))))), body))));
  showNetwork(true, { dim: true });
  const results = await Promise.all(whs.map((n) => api(`/v1/warehouses/${n.id}`).catch((err) => ({ error: err, id: n.id }))));
  const failed = results.find((r) => r.error);
  if (failed) showProblem(errors, failed.error);
  const L = window.L;
  const ok = results.filter((r) => !r.error);
  const maxCap = Math.max(1, ...ok.map((w) => (w.capacity || {}).capacity_m3 || 0));
  body.replaceChildren(...ok.map((w) => {
    const n = net.nodes[w.id];
    const share = freeShare(w);
    const alerts = (w.open_alerts || []).length;
    const go = () => navigate(`#/warehouses/${w.id}`);
    if (n) {
      const r = 8 + 18 * Math.sqrt(((w.capacity || {}).capacity_m3 || 0) / maxCap);
      const color = alerts ? "#d64545" : share !== null && share < 0.15 ? "#f2a541" : "#1b998b";
      L.circleMarker([n.lat, n.lon], { radius: r, color: "#fff", weight: 2, fillColor: color, fillOpacity: 0.85 })
        .bindTooltip(`<b>${nodeName(n)}</b><br>${t("wh.free")}: ${fmtNumber(w.capacity.free_m3)} m³ (${fmtNumber(share * 100)} %)`)
        .on("click", go).addTo(overlay());
      L.tooltip({ permanent: true, direction: "bottom", className: "wh-label", offset: [0, r] })
        .setLatLng([n.lat, n.lon]).setContent(`${fmtNumber(w.capacity.free_m3)} m³`).addTo(overlay());
    }
    return h("tr.link", { tabindex: "0", "data-id": w.id, on: { click: go, keydown: (e) => { if (e.key === "Enter") go(); } } },
      h("td", {}, h("a", { href: `#/warehouses/${w.id}` }, nodeName(n) || w.name), h("div.small.muted", {}, `${w.id} · ${w.country}`)),
      h("td.num", {}, `${fmtNumber(w.capacity.free_m3)} m³`, h("div.small.muted", {}, share !== null ? `${fmtNumber(share * 100)} % · ${tv("capsource", w.capacity.source)}` : "")),
      h("td", {}, tempText(w.conditions)),
      h("td", {}, alerts ? h("span.pill.bad", {}, String(alerts)) : h("span.pill.ok", {}, "0")));
  }));
  fitTo(whs.map((n) => [n.lat, n.lon]), 4);
}

function seriesKey(id) { return `cbec.wh.series.${id}`; }

function addSample(id, w) {
  const c = w.conditions || {};
  const series = JSON.parse(sessionStorage.getItem(seriesKey(id)) || "[]");
  const sample = { t: c.updated, temp: c.temperature_c ? c.temperature_c.mean : null, tmin: c.temperature_c ? c.temperature_c.min : null,
                  tmax: c.temperature_c ? c.temperature_c.max : null, hum: c.humidity_pct, occ: w.capacity ? w.capacity.occupied_positions : null };
  const key = (p) => [p.t, p.temp, p.tmin, p.tmax, p.hum, p.occ].join("|");
  const last = series[series.length - 1];
  // a new sample when the latest reading's time (minute resolution) or any value changed, never older than the history
  if (c.updated && (!last || (key(last) !== key(sample) && Date.parse(c.updated) >= Date.parse(last.t)))) {
    series.push(sample);
    sessionStorage.setItem(seriesKey(id), JSON.stringify(series.slice(-500)));
  }
  return series;
}

const HISTORY_MS = 24 * 3600 * 1000;

/** The last 24 h of stored readings (GET /v1/warehouses/{id}/readings, at most 500 points a sensor) as chart
 *  samples in time order; they seed the series the live readings are appended to. */
async function loadHistory(id) {
  const since = new Date(Date.now() - HISTORY_MS).toISOString();
  const doc = await api(`/v1/warehouses/${encodeURIComponent(id)}/readings?since=${encodeURIComponent(since)}&limit=500`);
  const points = (doc.series || []).flatMap((s) => s.points).sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
  const series = points.map((p) => ({ t: p.time, temp: p.temperature_c, tmin: p.temperature_c_min, tmax: p.temperature_c_max,
    hum: p.humidity_pct, occ: p.occupied_positions }));
  sessionStorage.setItem(seriesKey(id), JSON.stringify(series.slice(-500)));
}

async function warehousePage(panel, id, { session }) {
  const net = await loadNetwork();
  const node = net.nodes[id];
  const head = h("div"); const errors = h("div", { "aria-live": "assertive" });
  const alertsBox = h("div", { id: "wh-alerts" });
  const sensorsBox = h("div");
  panel.append(h("p", {}, h("a", { href: "#/warehouses" }, `← ${t("wh.back")}`)), head, errors, alertsBox);
  const mk = (label, color, key, extra = {}) => ({ label, data: [], borderColor: color, backgroundColor: color + "33", pointRadius: 2, tension: 0.25, key, ...extra });
  const temp = chartBox({ type: "line", data: { labels: [], datasets: [mk(t("wh.temp_mean"), "#d64545", "temp"), mk(t("wh.temp_min"), "#1565c0", "tmin", { borderDash: [4, 4] }), mk(t("wh.temp_max"), "#c2185b", "tmax", { borderDash: [4, 4] })] },
    options: { scales: { x: { ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 5 } }, y: { title: { display: true, text: "°C" } } },
      plugins: { legend: { position: "bottom", labels: { usePointStyle: true, pointStyle: "line" } } } } }, { label: t("wh.chart_temp") });
  const hum = chartBox({ type: "line", data: { labels: [], datasets: [mk(t("wh.humidity"), "#1b998b", "hum", { fill: true })] },
    options: { scales: { x: { ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 5 } }, y: { min: 0, max: 100, title: { display: true, text: "%" } } }, plugins: { legend: { display: false } } } }, { label: t("wh.chart_humidity"), height: 180 });
  const occ = chartBox({ type: "line", data: { labels: [], datasets: [mk(t("wh.occupied"), "#7b2cbf", "occ", { stepped: true, fill: true })] },
    options: { scales: { x: { ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 5 } } }, plugins: { legend: { display: false } } } }, { label: t("wh.chart_occupancy"), height: 180 });
  const cap = chartBox({ type: "doughnut", data: { labels: [t("wh.used"), t("wh.free")], datasets: [{ data: [0, 1], backgroundColor: ["#7b2cbf", "#d8f3ee"] }] },
    options: { cutout: "70%", plugins: { legend: { position: "bottom" } } } }, { label: t("wh.capacity"), height: 180 });
  panel.append(h("div.grid-auto", { style: { gridTemplateColumns: "repeat(auto-fill, minmax(280px, 1fr))" } },
    h("section.card", {}, h("h2", {}, t("wh.chart_temp")), temp.box),
    h("section.card", {}, h("h2", {}, t("wh.capacity")), cap.box),
    h("section.card", {}, h("h2", {}, t("wh.chart_humidity")), hum.box),
    h("section.card", {}, h("h2", {}, t("wh.chart_occupancy")), occ.box)),
    h("p.small.muted", {}, t("wh.series_note")), sensorsBox);
  if (node) {
    window.L.circleMarker([node.lat, node.lon], { radius: 12, color: "#fff", weight: 3, fillColor: "#7b2cbf", fillOpacity: 1 }).addTo(overlay());
    fitTo([[node.lat, node.lon]], 6);
  }
  let stopped = false;
  try { await loadHistory(id); } catch (err) { showProblem(errors, err); }
  const refresh = async () => {
    try {
      const w = await api(`/v1/warehouses/${encodeURIComponent(id)}`);
      if (stopped) return;
      errors.replaceChildren();
      const c = w.conditions || {}; const k = w.capacity || {};
      head.replaceChildren(h("section.card", {}, h("h1", { id: "wh-title" }, nodeName(node) || w.name),
        h("p.muted", {}, `${w.id} · ${w.country} · ${t("wh.updated")}: ${fmtDateTime(c.updated)}`),
        h("div.grid-auto", { style: { gridTemplateColumns: "repeat(auto-fill, minmax(120px, 1fr))" } },
          h("div.stat", {}, h("b", { id: "wh-temp" }, tempText(c)), h("span", {}, t("wh.temp"))),
          h("div.stat", {}, h("b", {}, c.humidity_pct !== null && c.humidity_pct !== undefined ? `${fmtNumber(c.humidity_pct)} %` : "—"), h("span", {}, t("wh.humidity"))),
          h("div.stat", {}, h("b", {}, String(c.doors_open ?? 0)), h("span", {}, t("wh.doors_open"))),
          h("div.stat", {}, h("b", {}, `${c.sensors_reporting ?? 0}/${c.sensors ?? 0}`), h("span", {}, t("wh.sensors_reporting"))),
          h("div.stat", {}, h("b", { id: "wh-free" }, `${fmtNumber(k.free_m3)} m³`), h("span", {}, `${t("wh.free")} · ${fmtNumber(k.free_positions)} ${t("wh.positions")}`)))));
      const alerts = w.open_alerts || [];
      alertsBox.replaceChildren(...alerts.map((a) => h("div.problem.alert", { "data-kind": a.kind }, h("strong", {}, `⚠ ${tv("alert", a.kind)} · ${a.device}`),
        h("p", {}, `${a.detail} — ${t("wh.since")} ${fmtDateTime(a.since)}`))));
      const series = addSample(id, w);
      const labels = series.map((p) => fmtDateTime(p.t, { withOffset: false }).slice(5));
      for (const box of [temp, hum, occ]) {
        const chart = await box.chart;
        chart.data.labels = labels;
        chart.data.datasets.forEach((ds) => { ds.data = series.map((p) => p[ds.key]); });
        chart.update();
      }
      const capChart = await cap.chart;
      capChart.data.datasets[0].data = [Math.max(0, (k.capacity_m3 || 0) - (k.free_m3 || 0)), k.free_m3 || 0];
      capChart.update();
    } catch (err) { if (!stopped) showProblem(errors, err); }
  };
  await refresh();
  sensorsBox.append(await sensorsCard(id, refresh));
  const timer = setInterval(() => { if (document.visibilityState === "visible") refresh(); }, POLL_MS);
  return () => { stopped = true; clearInterval(timer); };
}

/** The organisation's sensors in this warehouse and a form to bind one with its thresholds. */
async function sensorsCard(id, refresh) {
  const list = h("tbody");
  const load = async () => {
    try {
      const page = await api("/v1/devices?limit=200");
      const mine = (page.items || []).filter((d) => d.warehouse === id);
      list.replaceChildren(...(mine.length ? mine.map((d) => h("tr", {}, h("td", {}, d.id),
        h("td", {}, d.temp_min !== null || d.temp_max !== null ? `${d.temp_min ?? "—"} … ${d.temp_max ?? "—"} °C` : "—"),
        h("td", {}, `${fmtNumber(d.excursion_minutes)} min`))) : [h("tr", {}, h("td.empty", { colspan: "3" }, t("wh.no_sensors")))]));
    } catch { list.replaceChildren(); }
  };
  await load();
  const dev = h("input", { id: "sensor-id", name: "id", required: true, placeholder: "T1" });
  const tmin = h("input", { id: "sensor-tmin", name: "temp_min", type: "number", step: "any", value: "2" });
  const tmax = h("input", { id: "sensor-tmax", name: "temp_max", type: "number", step: "any", value: "8" });
  const errors = h("div"); const out = h("div", { id: "sensor-credential" });
  return h("section.card", {}, h("h2", {}, t("wh.sensors")),
    h("div.table-wrap", {}, h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, t("wh.sensor")), h("th", {}, t("wh.range")), h("th", {}, t("wh.excursion")))), list)),
    h("form", { on: { submit: async (e) => {
      e.preventDefault(); errors.replaceChildren();
      try {
        const body = { id: dev.value.trim(), warehouse: id };
        if (tmin.value !== "") body.temp_min = Number(tmin.value);
        if (tmax.value !== "") body.temp_max = Number(tmax.value);
        const d = await api("/v1/devices", { method: "POST", body });
        out.replaceChildren(d.credential ? h("p.small", {}, `${t("ship.credential_once")} `, h("code", {}, d.credential.key), " · ",
          h("code", {}, `cbec/v1/warehouses/${id}/sensors/${d.id}`)) : h("p.small", {}, t("ship.rebound")));
        await load(); refresh();
      } catch (err) { showProblem(errors, err); }
    } } }, h("div.grid3", {}, field("wh.sensor", dev), field("wh.temp_min", tmin), field("wh.temp_max", tmax)),
    h("button.btn.small", { type: "submit" }, t("wh.bind_sensor"))), errors, out);
}
