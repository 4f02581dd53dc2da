// Reconciliation of use against bookings (#/operator, per offer): GET /v1/bookings/reconciliation for the
// offer's warehouse and a period. The headline findings first (overuse per client and day, inbound with no
// booking, the sensors against the stock recorded), then the days in a compact table; nothing to report says
// plainly that use matches the bookings.

import { api } from "../api.js";
import { t, tv, fmtNumber } from "../i18n.js";
import { h, field, showProblem, stacked } from "../ui.js";

const iso = (d) => d.toISOString().slice(0, 10);
function addDays(day, n) { const d = new Date(`${day}T00:00:00Z`); d.setUTCDate(d.getUTCDate() + n); return iso(d); }
const m3 = (x) => `${fmtNumber(x, x % 1 ? 1 : 0)} m³`;
/** A sensor reading this far (m³) from the stock recorded is worth a look. */
const MISMATCH_M3 = 1;

/** The default period: the last 30 days of the offer up to today (its first days when it has not begun). */
export function defaultPeriod(o, today) {
  const end = today < o.start_day ? o.start_day : today > o.end_day ? o.end_day : today;
  const start = addDays(end, -30) < o.start_day ? o.start_day : addDays(end, -30);
  return { start, end };
}

/** The card for offer ``o`` in ``box``; ``names``: organisation id -> name (the bookers known to the page). */
export async function reconcileCard(box, o, { whName, names, today }) {
  const p = defaultPeriod(o, today);
  const first = h("input", { type: "date", id: "rec-start", name: "rec_start", required: true, value: p.start });
  const last = h("input", { type: "date", id: "rec-end", name: "rec_end", required: true, value: p.end });
  const out = h("div", { id: "reconcile-result", "aria-live": "polite" });
  const client = (id) => (names()[id] ? `${names()[id]} (${id})` : id);

  const show = async () => {
    out.replaceChildren(h("p.muted", {}, "…"));
    let r;
    try {
      const q = new URLSearchParams({ warehouse: o.warehouse, start: first.value, end: last.value });
      r = await api(`/v1/bookings/reconciliation?${q}`);
    } catch (err) { showProblem(out, err); return; }
    const over = r.overuse.filter((f) => f.offer === o.id);
    const occ = r.occupancy;
    const mismatch = occ.difference_m3 !== null && Math.abs(occ.difference_m3) >= MISMATCH_M3;
    const findings = [
      ...over.map((f) => h("li", { "data-finding": "overuse", "data-day": f.day, "data-org": f.org },
        h("strong", {}, `${f.day} · ${client(f.org)}`), " ", t("share.rec_overuse", {
          kind: tv("bkind", f.kind), used: m3(f.used_m3), booked: m3(f.booked_m3), over: m3(f.overuse_m3) }))),
      ...r.unbooked_inbound.map((m) => h("li", { "data-finding": "unbooked", "data-day": m.day, "data-org": m.org },
        h("strong", {}, `${m.day} · ${client(m.org)}`), " ", t("share.rec_unbooked", { m3: m3(m.m3), ref: m.ref }))),
      mismatch ? h("li", { "data-finding": "sensors", "data-day": r.end },
        h("strong", {}, r.end), " ", t("share.rec_sensors", { sensors: m3(occ.sensors_m3), recorded: m3(occ.recorded_stock_m3), diff: m3(occ.difference_m3) })) : null,
    ].filter(Boolean);
    const headline = findings.length
      ? h("div.notice-box.bad", { id: "reconcile-findings" }, h("strong", {}, t("share.rec_findings", { n: findings.length })), h("ul.findings", {}, findings))
      : h("div.notice-box.ok", { id: "reconcile-ok" }, t("share.rec_ok"));
    const sensors = h("p.small.muted", { id: "reconcile-sensors" }, occ.sensors_m3 === null
      ? t("share.rec_no_sensors", { recorded: m3(occ.recorded_stock_m3), source: tv("occ_source", occ.source) })
      : t("share.rec_sensors_line", { sensors: m3(occ.sensors_m3), recorded: m3(occ.recorded_stock_m3), source: tv("occ_source", occ.source) }));
    const rows = [...over.map((f) => ({ day: f.day, org: f.org, kind: tv("bkind", f.kind), used: f.used_m3, booked: f.booked_m3, over: f.overuse_m3 })),
      ...r.unbooked_inbound.map((m) => ({ day: m.day, org: m.org, kind: t("share.rec_unbooked_kind"), used: m.m3, booked: 0, over: m.m3 }))]
      .sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : 0));
    const table = rows.length ? h("div.table-wrap", {}, stacked(h("table", { id: "reconcile-table" },
      h("thead", {}, h("tr", {}, ["share.rec_day", "share.rec_client", "share.kind", "share.rec_used", "share.rec_booked", "share.rec_over"]
        .map((k, i) => h(i >= 3 ? "th.num" : "th", {}, t(k))))),
      h("tbody", {}, rows.map((x) => h("tr", { "data-day": x.day, "data-org": x.org },
        h("td.nowrap", {}, x.day), h("td", {}, client(x.org)), h("td", {}, x.kind),
        h("td.num", {}, m3(x.used)), h("td.num", {}, m3(x.booked)), h("td.num", {}, h("strong", {}, m3(x.over))))))))) : null;
    out.replaceChildren(headline, sensors, table);
  };

  const form = h("form.row", { id: "reconcile-form", on: { submit: (e) => { e.preventDefault(); show(); } } },
    field("share.start", first), field("share.end", last),
    h("button.btn", { type: "submit", id: "reconcile-submit", style: { alignSelf: "end" } }, t("share.show")),
    h("button.btn.secondary", { type: "button", style: { alignSelf: "end" }, on: { click: () => box.replaceChildren() } }, t("share.close")));
  box.replaceChildren(h("section.card", { id: "reconcile-card", "data-offer": o.id },
    h("h2", {}, `${t("share.reconcile")} · ${whName(o.warehouse)}`),
    h("p.small.muted", {}, `${o.id} · ${t("share.rec_intro")}`), form, out));
  await show();
  box.scrollIntoView({ block: "nearest" });
}
