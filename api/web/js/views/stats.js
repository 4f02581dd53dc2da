// Statistics: the trade statistics cube (own records, or the zone's for the pilot-zone office, with
// small cells suppressed): a dimension, a period and a measure -> a chart and a table, notes shown.

import { api } from "../api.js";
import { chartBox } from "../charts.js";
import { t, tv, fmtNumber, fmtDateTime } from "../i18n.js";
import { h, field, select, showProblem, card } from "../ui.js";

export const layout = "no-map";

export async function mount(panel) {
  const errors = h("div");
  panel.append(h("h1", {}, t("stats.title")), errors);
  let catalog;
  try {
    catalog = await api("/v1/stats/catalog");
  } catch (err) { showProblem(errors, err); return; }
  const dimNames = (catalog.dimensions || []).map((d) => d.name || d).filter((d) => d !== "period");
  const measures = (catalog.measures || []).map((m) => m.name || m);
  const dim = select("dim", [["", t("stats.total")], ...dimNames.map((d) => [d, tv("dim", d)])], dimNames.includes("customs_mode") ? "customs_mode" : "", { id: "stats-dim" });
  const period = select("period", (catalog.periods || ["month"]).map((p) => [p, tv("period", p)]), "month", { id: "stats-period" });
  const measure = select("measure", measures.map((m) => [m, tv("measure", m)]), measures.includes("orders") ? "orders" : measures[0], { id: "stats-measure" });
  const out = h("div", { id: "stats-results" });
  const run = async () => {
    errors.replaceChildren(); out.replaceChildren();
    const q = new URLSearchParams();
    q.append("dims", "period");
    if (dim.value) q.append("dims", dim.value);
    q.append("period", period.value);
    q.append("measures", measure.value);
    try {
      render(out, await api(`/v1/stats/cube?${q}`), dim.value, measure.value);
    } catch (err) { showProblem(errors, err); }
  };
  panel.append(card(null, h("p.small.muted", {}, t("stats.intro", { n: catalog.min_enterprises ?? 3 })),
    h("form", { on: { submit: (e) => { e.preventDefault(); run(); } } },
      h("div.grid3", {}, field("stats.dimension", dim), field("stats.period", period), field("stats.measure", measure)),
      h("button.btn", { type: "submit", id: "stats-submit" }, t("stats.show")))), out);
  await run();
}

function render(out, cube, dim, measure) {
  const cells = (cube.cells || []).filter((c) => !Object.values(c.members || {}).includes("_total"));
  if (!cells.length) {
    out.append(card(null, h("p.empty", { id: "stats-empty" }, t("stats.empty"))));
    return;
  }
  const periods = [...new Set(cells.map((c) => c.members.period))].sort();
  const groups = dim ? [...new Set(cells.map((c) => c.members[dim]))] : [null];
  const palette = ["#1b998b", "#1565c0", "#c2185b", "#f2a541", "#7b2cbf", "#8d6e63", "#00838f", "#d64545"];
  const value = (p, g) => {
    const c = cells.find((x) => x.members.period === p && (g === null || x.members[dim] === g));
    return c && c.values ? c.values[measure] : null;
  };
  const chart = chartBox({ type: "bar", data: { labels: periods, datasets: groups.slice(0, 8).map((g, i) => ({
    label: g === null ? tv("measure", measure) : String(g), data: periods.map((p) => value(p, g)), backgroundColor: palette[i % palette.length] })) },
    options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } }, plugins: { legend: { position: "bottom" } } } },
    { height: 280, label: t("stats.title") });
  const suppressed = cells.filter((c) => c.status && c.status !== "ok").length;
  out.append(card(`${tv("measure", measure)}${dim ? " · " + tv("dim", dim) : ""}`, chart.box,
    h("p.small.muted", {}, [t("stats.scope", { scope: tv("scope", cube.scope) }), cube.refreshed_at ? `${t("stats.refreshed")}: ${fmtDateTime(cube.refreshed_at)}` : null,
      suppressed ? t("stats.suppressed", { n: suppressed }) : null].filter(Boolean).join(" · ")),
    (cube.notes || []).length ? h("ul.small.muted", {}, cube.notes.map((n) => h("li", {}, n))) : null,
    h("div.table-wrap", {}, h("table", { id: "stats-table" },
      h("thead", {}, h("tr", {}, h("th", {}, t("stats.period")), dim ? h("th", {}, tv("dim", dim)) : null, h("th.num", {}, tv("measure", measure)), h("th", {}, ""))),
      h("tbody", {}, cells.map((c) => h("tr", {}, h("td", {}, c.members.period), dim ? h("td", {}, String(c.members[dim])) : null,
        h("td.num", {}, c.values && c.values[measure] !== null && c.values[measure] !== undefined ? fmtNumber(c.values[measure], 0) : "—"),
        h("td", {}, c.status && c.status !== "ok" ? h("span.pill.warn", {}, tv("cellstatus", c.status)) : ""))))))));
}
