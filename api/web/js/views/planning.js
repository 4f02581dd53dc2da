// Planning: a shipments CSV -> plan job with progress -> assignments, capacity use per departure,
// unassigned with reasons, saving against greedy (all on the map too); warehouse network design and
// pickup routes, each a job with its result on the map.

import { api, pollJob } from "../api.js";
import { drawOption, overlay, fitTo, loadNetwork, showNetwork } from "../map.js";
import { chartBox } from "../charts.js";
import { t, tv, nodeName, fmtDateTime, fmtNumber, fmtMoney } from "../i18n.js";
import { h, field, showProblem, progressBar, modeBadge, card } from "../ui.js";
import { SHIPMENTS_CSV, PICKUP_STOPS } from "../samples.js";

export const layout = "wide";
const ROUTE_COLORS = ["#1b998b", "#c2185b", "#1565c0", "#f2a541", "#7b2cbf", "#8d6e63", "#d64545", "#00838f"];

export async function mount(panel, { query }) {
  await loadNetwork();
  const tabsDef = [["plan", t("plan.tab_plan")], ["design", t("plan.tab_design")], ["pickups", t("plan.tab_pickups")]];
  let active = query.get("tab") || "plan";
  const content = h("div", { id: "planning-content" });
  const controller = { abort: new AbortController() };
  const tabs = h("div.tabs", { role: "tablist" }, tabsDef.map(([id, label]) => h("button", { type: "button", role: "tab", id: `tab-${id}`,
    "aria-selected": String(id === active), on: { click: () => { active = id; show(); } } }, label)));
  panel.append(h("h1", {}, t("plan.title")), tabs, content);
  function show() {
    controller.abort.abort(); controller.abort = new AbortController();
    tabs.querySelectorAll("button").forEach((b) => b.setAttribute("aria-selected", String(b.id === `tab-${active}`)));
    content.replaceChildren(); overlay().clearLayers(); showNetwork(true);
    ({ plan: planTab, design: designTab, pickups: pickupsTab })[active](content, controller.abort.signal);
  }
  show();
  return () => controller.abort.abort();
}

function jobProgress() {
  const bar = h("div", { id: "job-progress" });
  return {
    el: bar,
    update(rec) {
      bar.replaceChildren(h("div.row.small", {}, h("span", {}, `${tv("status", rec.status)} · ${rec.message || ""}`), h("span.spacer"),
        h("span", {}, `${Math.round((rec.progress || 0) * 100)} %`)), progressBar(rec.progress));
    },
  };
}

async function runJob(path, body, progress, signal) {
  const first = await api(path, { method: "POST", body, signal });
  progress.update(first);
  if (["succeeded", "failed"].includes(first.status)) return first;
  const where = first._location || `${path}/${first.id}`;
  return pollJob(where, (rec) => progress.update(rec), { signal });
}

// --- batch plan ---------------------------------------------------------------------------------
function planTab(content, signal) {
  const file = h("input", { type: "file", id: "plan-file", accept: ".csv,text/csv" });
  const text = h("textarea", { id: "plan-csv", rows: "7", spellcheck: "false", placeholder: "id,origin,destination,weight_kg,volume_m3,ready_date,due_date" });
  const limit = h("input", { id: "plan-time", type: "number", min: "1", max: "600", value: "10" });
  const horizon = h("input", { id: "plan-horizon", type: "number", min: "1", max: "120", value: "21" });
  const carbon = h("input", { id: "plan-carbon", type: "number", min: "0", step: "any", value: "0" });
  const submit = h("button.btn", { type: "submit", id: "plan-submit" }, t("plan.run"));
  const errors = h("div"); const progress = jobProgress(); const results = h("div", { id: "plan-results" });
  file.addEventListener("change", async () => { if (file.files[0]) text.value = await file.files[0].text(); });
  content.append(card(t("plan.batch"), h("p.small.muted", {}, t("plan.batch_intro")),
    h("form", { on: { submit: async (e) => {
      e.preventDefault(); errors.replaceChildren(); results.replaceChildren(); submit.disabled = true;
      try {
        const rec = await runJob("/v1/plans", { csv: text.value, time_limit_s: Number(limit.value), horizon_days: Number(horizon.value),
                                                carbon_price_per_t: Number(carbon.value) }, progress, signal);
        if (rec.status === "failed") showProblem(errors, { title: t("plan.failed"), detail: rec.error ? rec.error.detail || rec.error.title || JSON.stringify(rec.error) : "" });
        else await renderPlan(results, rec.result);
      } catch (err) { showProblem(errors, err); } finally { submit.disabled = false; }
    } } },
      field("plan.file", file), field("plan.csv", text),
      h("div.row", {}, h("button.btn.small.secondary", { type: "button", id: "plan-sample", on: { click: () => { text.value = SHIPMENTS_CSV; } } }, t("plan.sample"))),
      h("div.grid3", { style: { marginTop: "10px" } }, field("plan.time_limit", limit), field("plan.horizon", horizon), field("plan.carbon", carbon)),
      submit), progress.el, errors), results);
}

async function renderPlan(results, r) {
  const nodes = (await loadNetwork()).nodes;
  const s = r.summary || {}; const b = r.baseline || {}; const c = r.cost || {};
  const stat = (v, label, id) => h("div.stat", {}, h("b", id ? { id } : {}, v), h("span", {}, label));
  results.append(card(t("plan.result"),
    h("div.grid-auto", { style: { gridTemplateColumns: "repeat(auto-fill, minmax(120px, 1fr))" } },
      stat(`${s.assigned ?? 0}/${s.shipments ?? 0}`, t("plan.assigned"), "plan-assigned"),
      stat(String(s.unassigned ?? 0), t("plan.unassigned")),
      stat(String(s.consolidated ?? 0), t("plan.consolidated")),
      stat(fmtMoney(c.total, c.currency), t("plan.total_cost")),
      stat(b.saving_pct !== undefined ? `${fmtNumber(b.saving_pct, 1)} %` : "—", t("plan.saving"), "plan-saving"),
      stat(`${fmtNumber((c.co2e_kg || 0) / 1000, 1)} t`, t("plan.co2e"))),
    b.greedy_total !== undefined ? h("p.small.muted", {}, t("plan.vs_greedy", { saving: fmtMoney(b.saving, c.currency), greedy: fmtMoney(b.greedy_total, c.currency) }), " ", b.method || "") : null,
    r.solver ? h("p.small.muted", {}, `${r.solver.name || ""} · ${r.solver.status || ""} · gap ${fmtNumber((r.gap || 0) * 100, 2)} % · ${fmtNumber(r.solver.time_s, 2)} s`) : null));
  // capacity use per departure: the busiest unit of each departure
  const byDep = {};
  for (const u of r.capacity_use || []) if (!byDep[u.departure] || u.utilisation > byDep[u.departure].utilisation) byDep[u.departure] = u;
  const deps = Object.values(byDep).sort((a, b2) => b2.utilisation - a.utilisation).slice(0, 20);
  if (deps.length) {
    const chart = chartBox({ type: "bar", data: { labels: deps.map((d) => d.departure.replace(/:00Z$/, "Z")), datasets: [{ label: t("plan.utilisation"), data: deps.map((d) => Math.round(d.utilisation * 1000) / 10),
      backgroundColor: deps.map((d) => (d.utilisation > 0.9 ? "#d64545" : d.utilisation > 0.6 ? "#f2a541" : "#1b998b")) }] },
      options: { indexAxis: "y", scales: { x: { min: 0, max: Math.min(100, Math.max(10, Math.ceil((deps[0].utilisation * 120) / 10) * 10)), title: { display: true, text: "%" } }, y: { ticks: { font: { size: 10 } } } }, plugins: { legend: { display: false },
        tooltip: { callbacks: { afterLabel: (ctx) => { const d = deps[ctx.dataIndex]; return `${fmtNumber(d.used, 1)} / ${fmtNumber(d.capacity, 1)} ${d.unit}`; } } } } } },
      { height: Math.max(160, deps.length * 22 + 40), label: t("plan.capacity_chart") });
    chart.box.id = "capacity-chart";
    results.append(card(t("plan.capacity_chart"), chart.box));
  }
  const rows = Object.entries(r.assignments || {});
  results.append(card(t("plan.assignments"), h("div.table-wrap", {}, h("table", { id: "assignments" },
    h("thead", {}, h("tr", {}, ["plan.shipment", "ship.route", "plan.modes", "ship.eta", "plan.cost", "plan.late"].map((k, i) => h(i >= 4 ? "th.num" : "th", {}, t(k))))),
    h("tbody", {}, rows.map(([id, a]) => h("tr.link", { tabindex: "0", on: { click: () => drawOption(a) } },
      h("td", {}, id, (a.tags || []).map((x) => h("span.tag.planned", { style: { marginLeft: "4px" } }, tv("tag", x)))),
      h("td", {}, `${nodeName(nodes[a.origin]) || a.origin} → ${nodeName(nodes[a.destination]) || a.destination}`),
      h("td", {}, h("div.modes.row", {}, (a.modes || []).map(modeBadge))),
      h("td", {}, fmtDateTime(a.arrive_p50, { withOffset: false })),
      h("td.num", {}, fmtNumber(a.cost && a.cost.total)),
      h("td.num", {}, a.plan && a.plan.late_days ? fmtNumber(a.plan.late_days, 1) : "0"))))))));
  const un = r.unassigned || [];
  const errs = r.errors || [];
  results.append(card(t("plan.unassigned_title"), un.length ? h("div.table-wrap", {}, h("table", { id: "unassigned" },
    h("thead", {}, h("tr", {}, h("th", {}, t("plan.shipment")), h("th", {}, t("plan.row")), h("th", {}, t("plan.reason")))),
    h("tbody", {}, un.map((u) => h("tr", {}, h("td", {}, u.id), h("td", {}, String(u.row ?? "")), h("td", {}, `${u.reason || u.code || ""}${(u.binding || []).length ? " — " + u.binding.join(", ") : ""}`))))))
    : h("p.muted", {}, t("plan.all_assigned"))));
  if (errs.length) {
    results.append(card(t("plan.bad_rows"), h("div.table-wrap", {}, h("table", { id: "bad-rows" },
      h("thead", {}, h("tr", {}, h("th", {}, t("plan.row")), h("th", {}, t("plan.field")), h("th", {}, t("plan.message")))),
      h("tbody", {}, errs.map((e) => h("tr", {}, h("td", {}, String(e.row)), h("td", {}, e.field || ""), h("td", {}, e.message || ""))))))));
  }
  overlay().clearLayers();
  const pts = [];
  for (const [, a] of rows) pts.push(...drawOption(a, { fit: false, clear: false, labels: false }));
  fitTo(pts, 5);
}

// --- warehouse design ------------------------------------------------------------------------------
function designTab(content, signal) {
  const maxOpen = h("input", { type: "number", id: "design-max-open", min: "1", max: "50", step: "1", placeholder: "—" });
  const carbon = h("input", { type: "number", id: "design-carbon", min: "0", step: "any", value: "0" });
  const submit = h("button.btn", { type: "submit", id: "design-submit" }, t("plan.run_design"));
  const errors = h("div"); const progress = jobProgress(); const results = h("div", { id: "design-results" });
  content.append(card(t("plan.design"), h("p.small.muted", {}, t("plan.design_intro")),
    h("form", { on: { submit: async (e) => {
      e.preventDefault(); errors.replaceChildren(); results.replaceChildren(); submit.disabled = true;
      try {
        const body = {};
        if (maxOpen.value) body.max_open = Number(maxOpen.value);
        if (Number(carbon.value) > 0) body.carbon_price = Number(carbon.value);
        const rec = await runJob("/v1/warehouse-designs", body, progress, signal);
        if (rec.status === "failed") showProblem(errors, { title: t("plan.failed"), detail: rec.error ? rec.error.detail || "" : "" });
        else await renderDesign(results, rec.result);
      } catch (err) { showProblem(errors, err); } finally { submit.disabled = false; }
    } } }, h("div.grid2", {}, field("plan.carbon", carbon), field("plan.max_open", maxOpen)), submit),
    progress.el, errors), results);
}

async function renderDesign(results, r) {
  const net = await loadNetwork(); const nodes = net.nodes; const L = window.L;
  const open = r.open || []; const util = r.utilisation || {};
  results.append(card(t("plan.design_result"),
    h("div.grid3", {},
      h("div.stat", {}, h("b", { id: "design-open" }, String(open.length)), h("span", {}, t("plan.open_warehouses"))),
      h("div.stat", {}, h("b", {}, fmtMoney(r.objective)), h("span", {}, (r.units && r.units.objective) || "")),
      h("div.stat", {}, h("b", {}, `${fmtNumber((r.co2e_kg || 0) / 1000, 1)} t`), h("span", {}, t("plan.co2e")))),
    h("p.small.muted", {}, `${r.solver || ""} · ${r.status || ""} · gap ${fmtNumber((r.gap || 0) * 100, 2)} %`),
    h("div.table-wrap", {}, h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, t("wh.name")), h("th.num", {}, t("plan.utilisation")))),
      h("tbody", {}, open.map((w) => h("tr", {}, h("td", {}, nodeName(nodes[w]) || w), h("td.num", {}, `${fmtNumber((util[w] || 0) * 100, 1)} %`))))))));
  overlay().clearLayers(); showNetwork(true, { dim: true });
  const pts = [];
  for (const [key, alloc] of Object.entries(r.assignment || {})) {
    const market = nodes[key.split("/")[0]];
    for (const w of Object.keys(alloc)) {
      const wn = nodes[w];
      if (market && wn) { L.polyline([[market.lat, market.lon], [wn.lat, wn.lon]], { color: "#7b2cbf", weight: 1.5, dashArray: "3 5" }).addTo(overlay()); pts.push([market.lat, market.lon]); }
    }
  }
  for (const n of Object.values(nodes).filter((x) => x.kind === "overseas_warehouse")) {
    const isOpen = open.includes(n.id);
    L.circleMarker([n.lat, n.lon], { radius: isOpen ? 9 + 20 * (util[n.id] || 0) : 5, color: "#fff", weight: 2, fillColor: isOpen ? "#7b2cbf" : "#9aa5b1", fillOpacity: isOpen ? 0.9 : 0.6 })
      .bindTooltip(`${nodeName(n)} · ${isOpen ? t("plan.open") + " " + fmtNumber((util[n.id] || 0) * 100, 1) + " %" : t("plan.closed")}`).addTo(overlay());
    pts.push([n.lat, n.lon]);
  }
  fitTo(pts, 4);
}

// --- pickups -----------------------------------------------------------------------------------------
function pickupsTab(content, signal) {
  const text = h("textarea", { id: "pickup-json", rows: "6", spellcheck: "false" });
  text.value = JSON.stringify(PICKUP_STOPS, null, 0).replace(/\},\{/g, "},\n{");
  const depot = h("select", { id: "pickup-depot" }, ["MY_CBZ", "CD_RAILPORT"].map((d) => h("option", { value: d }, d)));
  const limit = h("input", { id: "pickup-time", type: "number", min: "0.1", max: "30", step: "any", value: "2" });
  const submit = h("button.btn", { type: "submit", id: "pickup-submit" }, t("plan.run_pickups"));
  const errors = h("div"); const progress = jobProgress(); const results = h("div", { id: "pickup-results" });
  content.append(card(t("plan.pickups"), h("p.small.muted", {}, t("plan.pickups_intro")),
    h("form", { on: { submit: async (e) => {
      e.preventDefault(); errors.replaceChildren(); results.replaceChildren(); submit.disabled = true;
      let stops;
      try { stops = JSON.parse(text.value); } catch (err) { showProblem(errors, { title: t("plan.bad_json"), detail: String(err.message) }); submit.disabled = false; return; }
      try {
        const rec = await runJob("/v1/pickup-plans", { stops, depot: depot.value, time_limit_s: Number(limit.value) }, progress, signal);
        if (rec.status === "failed") showProblem(errors, { title: t("plan.failed"), detail: rec.error ? rec.error.detail || "" : "" });
        else await renderPickups(results, rec.result, stops, depot.value);
      } catch (err) { showProblem(errors, err); } finally { submit.disabled = false; }
    } } }, field("plan.stops", text), h("div.grid2", {}, field("plan.depot", depot), field("plan.time_limit", limit)), submit),
    progress.el, errors), results);
}

async function renderPickups(results, r, stops, depotId) {
  const net = await loadNetwork(); const L = window.L;
  const byId = Object.fromEntries(stops.map((s) => [s.id, s]));
  const depot = net.nodes[depotId];
  const hhmm = (m) => `${String(Math.floor(m / 60)).padStart(2, "0")}:${String(Math.round(m % 60)).padStart(2, "0")}`;
  const details = r.route_details || (r.routes || []).map((s) => ({ stops: s }));
  results.append(card(t("plan.pickup_result"),
    h("div.grid3", {},
      h("div.stat", {}, h("b", { id: "pickup-vehicles" }, String(r.vehicles ?? details.length)), h("span", {}, t("plan.vehicles"))),
      h("div.stat", {}, h("b", {}, `${fmtNumber(r.distance, 1)} km`), h("span", {}, t("plan.distance"))),
      h("div.stat", {}, h("b", {}, fmtNumber(r.cost, 0)), h("span", {}, t("plan.cost")))),
    h("ol", {}, details.map((d, i) => h("li", {}, h("span.pill", { style: { background: ROUTE_COLORS[i % ROUTE_COLORS.length], color: "#fff" } }, d.vehicle || `#${i + 1}`), " ",
      d.stops.map((s, j) => `${byId[s] ? byId[s].name || s : s}${d.arrivals ? " " + hhmm(d.arrivals[j]) : ""}`).join(" → "),
      d.distance !== undefined ? h("span.muted", {}, ` · ${fmtNumber(d.distance, 1)} km`) : null)))));
  overlay().clearLayers(); showNetwork(false);
  const pts = [];
  details.forEach((d, i) => {
    const line = [depot ? [depot.lat, depot.lon] : null, ...d.stops.map((s) => byId[s] && [byId[s].lat, byId[s].lon]), depot ? [depot.lat, depot.lon] : null].filter(Boolean);
    L.polyline(line, { color: ROUTE_COLORS[i % ROUTE_COLORS.length], weight: 4 }).addTo(overlay());
    d.stops.forEach((s, j) => { const st = byId[s]; if (st) L.circleMarker([st.lat, st.lon], { radius: 6, color: "#fff", weight: 2, fillColor: ROUTE_COLORS[i % ROUTE_COLORS.length], fillOpacity: 1 }).bindTooltip(`${j + 1}. ${st.name || s}`).addTo(overlay()); });
    pts.push(...line);
  });
  if (depot) L.circleMarker([depot.lat, depot.lon], { radius: 9, color: "#0b2545", weight: 3, fillColor: "#f2a541", fillOpacity: 1 }).bindTooltip(nodeName(depot), { permanent: true, direction: "top", className: "wh-label" }).addTo(overlay());
  fitTo(pts, 10);
}
