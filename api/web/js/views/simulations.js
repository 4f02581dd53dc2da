// Simulations: pick a scenario (and a baseline), run with progress, KPIs with 95 % confidence
// intervals, the comparison (paired differences with significance), and the simulation's plots.

import { api, credential, pollJob } from "../api.js";
import { chartBox, ciPlugin } from "../charts.js";
import { MODE_COLOR } from "../map.js";
import { t, tv, fmtDateTime, fmtNumber } from "../i18n.js";
import { h, field, select, showProblem, progressBar, card, statusPill } from "../ui.js";

export const layout = "no-map";
const SCENARIOS = ["baseline", "more_trains", "mianyang_railport", "alashankou_congestion", "malaszewicze_closure", "peak_season", "lodz_docks"];
const HEADLINE = ["throughput_per_day", "lead_time_days", "on_time_rate", "cost_per_t", "co2e_kg_per_t", "wip"];

export async function mount(panel, { args, navigate }) {
  const id = args[0];
  panel.append(h("h1", {}, t("sim.title")));
  if (!id) return formPage(panel, navigate);
  return resultPage(panel, id);
}

async function formPage(panel, navigate) {
  const scenario = select("scenario", SCENARIOS.map((s) => [s, tv("scenario", s)]), "more_trains", { id: "sim-scenario" });
  const compare = select("compare_with", [["", t("sim.no_compare")], ...SCENARIOS.map((s) => [s, tv("scenario", s)])], "baseline", { id: "sim-compare" });
  const reps = h("input", { id: "sim-reps", type: "number", min: "1", max: "100", value: "3" });
  const horizon = h("input", { id: "sim-horizon", type: "number", min: "1", max: "730", step: "any", value: "30" });
  const warmup = h("input", { id: "sim-warmup", type: "number", min: "0", step: "any", value: "5" });
  const plots = h("input", { type: "checkbox", id: "sim-plots", checked: true });
  const submit = h("button.btn", { type: "submit", id: "sim-submit" }, t("sim.run"));
  const errors = h("div");
  const history = h("tbody");
  panel.append(h("div.grid-auto", { style: { gridTemplateColumns: "repeat(auto-fit, minmax(300px, 1fr))" } },
    card(t("sim.new"), h("p.small.muted", {}, t("sim.intro")),
      h("form", { on: { submit: async (e) => {
        e.preventDefault(); errors.replaceChildren(); submit.disabled = true;
        const body = { scenario: scenario.value, replications: Number(reps.value), horizon_days: Number(horizon.value), warmup_days: Number(warmup.value), plots: plots.checked };
        if (compare.value && compare.value !== scenario.value) body.compare_with = compare.value;
        try {
          const acc = await api("/v1/simulations", { method: "POST", body });
          navigate(`#/simulations/${encodeURIComponent(acc.id)}`);
        } catch (err) { showProblem(errors, err); submit.disabled = false; }
      } } }, h("div.grid2", {}, field("sim.scenario", scenario), field("sim.compare_with", compare)),
        h("div.grid3", {}, field("sim.replications", reps), field("sim.horizon", horizon), field("sim.warmup", warmup)),
        h("label.check", { style: { marginBottom: "10px" } }, plots, t("sim.plots")), errors, submit)),
    card(t("sim.history"), h("div.table-wrap", {}, h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, t("sim.created")), h("th", {}, t("ship.status")))), history)))));
  try {
    const page = await api("/v1/jobs?kind=simulation&limit=15");
    history.replaceChildren(...(page.items || []).map((j) => h("tr.link", { tabindex: "0", on: { click: () => navigate(`#/simulations/${j.id}`) } },
      h("td", {}, h("a", { href: `#/simulations/${j.id}` }, fmtDateTime(j.created_at))), h("td", {}, statusPill(j.status)))));
    if (!(page.items || []).length) history.append(h("tr", {}, h("td.empty", { colspan: "2" }, t("sim.none"))));
  } catch (err) { showProblem(errors, err); }
}

async function resultPage(panel, id) {
  const status = h("div", { id: "sim-status" }); const errors = h("div"); const results = h("div", { id: "sim-results" });
  panel.append(h("p", {}, h("a", { href: "#/simulations" }, `← ${t("sim.back")}`)), card(t("sim.run_title", { id }), status), errors, results);
  const controller = new AbortController();
  try {
    const rec = await pollJob(`/v1/simulations/${encodeURIComponent(id)}`, (r) => {
      status.replaceChildren(h("div.row.small", {}, statusPill(r.status), h("span", {}, r.message || ""), h("span.spacer"), h("span", {}, `${Math.round((r.progress || 0) * 100)} %`)),
        progressBar(r.progress));
    }, { interval: 1000, signal: controller.signal });
    if (rec.status === "failed") showProblem(errors, { title: (rec.error && rec.error.title) || t("sim.failed"), detail: (rec.error && (rec.error.detail || rec.error.message)) || "" });
    else renderResults(results, rec, controller.signal);
  } catch (err) { showProblem(errors, err); }
  return () => controller.abort();
}

function kpiValue(name, k) {
  if (!k) return "—";
  const pct = name === "on_time_rate";
  const f = (x) => (pct ? `${fmtNumber(x * 100, 1)} %` : fmtNumber(x, Math.abs(x) < 100 ? 2 : 0));
  return `${f(k.mean)} ± ${pct ? fmtNumber(k.half_width * 100, 1) + " %" : fmtNumber(k.half_width, Math.abs(k.half_width) < 100 ? 2 : 0)}`;
}

function renderResults(results, rec, signal) {
  const kpis = rec.kpis || {};
  const meta = (rec.report && rec.report) || {};
  results.append(card(t("sim.kpis", { scenario: tv("scenario", rec.scenario || meta.scenario || "") }),
    h("p.small.muted", {}, t("sim.meta", { reps: meta.replications ?? "", horizon: meta.horizon_days ?? "", warmup: meta.warmup_days ?? "" })),
    h("div.grid-auto", { id: "sim-kpis", style: { gridTemplateColumns: "repeat(auto-fill, minmax(160px, 1fr))" } },
      HEADLINE.filter((k) => kpis[k]).map((k) => h("div.kpi", {}, h("b", {}, kpiValue(k, kpis[k])), h("span", {}, `${tv("kpi", k)} (95 % CI)`))))));
  // KPI charts with 95 % CIs: lead time by mode, on-time rate by mode
  const byMode = (kpis.lead_time_days && kpis.lead_time_days.by_mode) || {};
  const modes = Object.keys(byMode);
  if (modes.length) {
    const lt = chartBox({ type: "bar", data: { labels: modes.map((m) => tv("mode", m)), datasets: [{ label: t("sim.lead_time"), data: modes.map((m) => byMode[m].mean),
      ci: modes.map((m) => byMode[m].ci95), backgroundColor: modes.map((m) => MODE_COLOR[m] || "#4f7cac") }] },
      options: { scales: { y: { beginAtZero: true, title: { display: true, text: t("unit.days") } } }, plugins: { legend: { display: false } } }, plugins: [ciPlugin] },
      { label: t("sim.lead_time") });
    const ot = (kpis.on_time_rate && kpis.on_time_rate.by_mode) || {};
    const om = Object.keys(ot);
    const otc = chartBox({ type: "bar", data: { labels: om.map((m) => tv("mode", m)), datasets: [{ label: tv("kpi", "on_time_rate"), data: om.map((m) => ot[m].mean * 100),
      ci: om.map((m) => ot[m].ci95.map((x) => Math.max(0, Math.min(100, x * 100)))), backgroundColor: "#1b998b" }] },
      options: { scales: { y: { min: 0, max: 100, title: { display: true, text: "%" } } }, plugins: { legend: { display: false } } }, plugins: [ciPlugin] },
      { label: tv("kpi", "on_time_rate") });
    lt.box.id = "chart-lead-time";
    results.append(h("div.grid-auto", { style: { gridTemplateColumns: "repeat(auto-fit, minmax(300px, 1fr))" } },
      card(`${t("sim.lead_time")} — 95 % CI`, lt.box), card(`${tv("kpi", "on_time_rate")} — 95 % CI`, otc.box)));
  }
  const comp = rec.comparison;
  if (comp && (comp.comparisons || []).length) {
    for (const c of comp.comparisons) {
      const head = c.headline || {};
      const names = Object.keys(head);
      const rel = (n, x) => (head[n].baseline ? (x / Math.abs(head[n].baseline)) * 100 : 0);
      const extent = Math.min(100, Math.max(5, ...names.flatMap((n) => [Math.abs((head[n].relative || 0) * 100), ...head[n].ci95.map((x) => Math.abs(rel(n, x)))])));
      const diff = chartBox({ type: "bar", data: { labels: names.map((n) => tv("kpi", n)), datasets: [{ label: t("sim.relative"),
        data: names.map((n) => (head[n].relative || 0) * 100),
        ci: names.map((n) => (head[n].baseline ? head[n].ci95.map((x) => (x / Math.abs(head[n].baseline)) * 100) : null)),
        backgroundColor: names.map((n) => (head[n].significant ? (head[n].difference >= 0 ? "#1565c0" : "#d64545") : "#b8c4d2")) }] },
        options: { indexAxis: "y", scales: { x: { min: -Math.ceil(extent), max: Math.ceil(extent), title: { display: true, text: t("sim.relative_axis") } } }, plugins: { legend: { display: false } } }, plugins: [ciPlugin] },
        { height: 60 + names.length * 34, label: t("sim.comparison") });
      diff.box.id = "chart-comparison";
      results.append(card(t("sim.comparison_title", { scenario: tv("scenario", c.scenario), baseline: tv("scenario", comp.baseline) }),
        h("p.small.muted", {}, `${comp.method || ""} · n = ${comp.replications ?? ""} · ${t("sim.sig_note")}`), diff.box,
        h("div.table-wrap", {}, h("table", { id: "comparison-table" }, h("thead", {}, h("tr", {}, ["sim.kpi", "sim.baseline", "sim.scenario", "sim.difference", "sim.ci", "sim.significant"].map((k, i) => h(i && i < 5 ? "th.num" : "th", {}, t(k))))),
          h("tbody", {}, names.map((n) => { const d = head[n]; return h("tr", {}, h("td", {}, tv("kpi", n)), h("td.num", {}, fmtNumber(d.baseline, 2)), h("td.num", {}, fmtNumber(d.scenario, 2)),
            h("td.num", {}, `${fmtNumber(d.difference, 2)} (${fmtNumber((d.relative || 0) * 100, 1)} %)`), h("td.num", {}, `[${fmtNumber(d.ci95[0], 2)}, ${fmtNumber(d.ci95[1], 2)}]`),
            h("td", {}, d.significant ? h("span.pill.ok", {}, `✓ ${t("sim.yes")}`) : h("span.pill", {}, t("sim.no")))); })))),
        (c.significant || []).length ? h("details", {}, h("summary", {}, t("sim.all_significant", { n: c.significant.length })), h("ul.small", {}, c.significant.map((x) => h("li", {}, x)))) : null));
    }
  }
  const plots = rec.plots || [];
  if (plots.length) {
    const grid = h("div.grid-auto.plots", { id: "sim-plots", style: { gridTemplateColumns: "repeat(auto-fit, minmax(320px, 1fr))" } });
    results.append(card(t("sim.plots_title"), grid));
    for (const url of plots) {
      const path = new URL(url, location.href).pathname;
      const name = path.split("/").pop();
      const fig = h("figure", { style: { margin: 0 } }, h("figcaption.small.muted", {}, name));
      grid.append(fig);
      const c = credential();
      fetch(path, { headers: c ? (c.kind === "key" ? { "X-API-Key": c.value } : { Authorization: `Bearer ${c.value}` }) : {}, signal })
        .then((r) => (r.ok ? r.blob() : Promise.reject(new Error(r.statusText))))
        .then((b) => new Promise((ok) => { const r = new FileReader(); r.onload = () => ok(r.result); r.readAsDataURL(b); }))
        .then((src) => fig.prepend(h("img", { src, alt: name, loading: "lazy" })))
        .catch(() => {});
    }
  }
}
