// What to book (#/offers): POST /v1/offers/recommendations for a period and a fill-rate target, with demand rows
// pasted in or, when there are none, the demand the API reads from the organisation's own orders (the bundled
// sample when it has none); the answer says which. The answer: the offers
// to book, how much at each, the monthly cost and the saving against booking the warehouse nearest each
// market. "Book" fills the booking form below (nothing is booked from here); a 422 (the offers cannot hold the
// demand) shows the problem.

import { api } from "../api.js";
import { t, fmtNumber } from "../i18n.js";
import { h, field, showProblem, stacked } from "../ui.js";

const iso = (d) => d.toISOString().slice(0, 10);
function addDays(day, n) { const d = new Date(`${day}T00:00:00Z`); d.setUTCDate(d.getUTCDate() + n); return iso(d); }
const money = (x, cur) => (x === null || x === undefined ? "—" : `${fmtNumber(x, 0)} ${cur}`);
const COLS = ["market", "family", "mean_m3_day", "sd_m3_day", "kg_per_m3", "max_days"];

/** Demand rows from CSV text (market,family,mean_m3_day,sd_m3_day,kg_per_m3[,max_days]; a heading line is
 * skipped); null when empty. Throws a problem-like error naming the line. */
export function parseDemand(text) {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  if (lines.length && /^market\b/i.test(lines[0])) lines.shift();
  if (!lines.length) return null;
  return lines.map((l, i) => {
    const c = l.split(/[,;\t]/).map((x) => x.trim());
    const nums = c.slice(2).map(Number);
    if (c.length < 5 || !c[0] || !c[1] || nums.some((n) => !Number.isFinite(n))) {
      throw Object.assign(new Error(t("share.adv_bad_row")), { title: t("share.adv_bad_row"), detail: `${i + 1}: ${l}` });
    }
    const row = { market: c[0].toUpperCase(), family: c[1] };
    COLS.slice(2).forEach((k, j) => { if (nums[j] !== undefined) row[k] = nums[j]; });
    return row;
  });
}

/** Where the recommendation's demand came from: the organisation's orders (what was left out, which
 * countries were split over their markets), the rows entered, or the bundled sample and why. */
function demandSaid(demand) {
  const src = demand.source; const rows = demand.rows.length;
  if (src.kind === "given") return h("p.small.muted", { id: "recommend-demand", "data-source": "given" }, t("share.adv_src_given", { rows }));
  if (src.kind === "sample") return h("p.small.muted", { id: "recommend-demand", "data-source": "sample" }, t("share.adv_src_sample", { reason: src.reason }));
  const away = Object.entries(src.countries_without_market).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const most = away.slice(0, 4).map(([c, n]) => `${c} ${fmtNumber(n, 0)}`).join(", ") + (away.length > 4 ? ", …" : "");
  const left = [src.without_weight ? t("share.adv_src_no_weight", { n: fmtNumber(src.without_weight, 0) }) : null,
    away.length ? t("share.adv_src_no_market", { n: fmtNumber(away.reduce((s, [, n]) => s + n, 0), 0), countries: away.length, most }) : null].filter(Boolean);
  return h("div.small.muted", { id: "recommend-demand", "data-source": "orders", "data-orders": String(src.orders) },
    h("p", {}, t("share.adv_src_orders", { orders: fmtNumber(src.orders, 0), modes: src.customs_modes.join("/"), from: src.from, to: src.to, rows })),
    left.length ? h("p", {}, t("share.adv_src_left", { what: left.join(", ") })) : null,
    ...Object.entries(src.split).map(([country, markets]) => h("p", {}, t("share.adv_src_split", { country, markets: markets.join(", ") }))));
}

/** The "What to book" card. ``onBook({offer, kind, quantity, start, end})`` fills the booking form;
 * ``whName(id)``: a warehouse's display name. */
export function recommendPanel({ writer, whName, today, onBook }) {
  const start = h("input", { type: "date", id: "rc-start", name: "rc_start", required: true, value: addDays(today, 1) });
  const end = h("input", { type: "date", id: "rc-end", name: "rc_end", required: true, value: addDays(today, 30) });
  const fill = h("input", { type: "number", id: "rc-fill", name: "fill_rate", required: true, min: "0.51", max: "0.99", step: "0.01", value: "0.95", inputmode: "decimal" });
  const lookback = h("input", { type: "number", id: "rc-lookback", name: "lookback_days", required: true, min: "7", max: "366", step: "1", value: "90", inputmode: "numeric" });
  const demand = h("textarea", { id: "rc-demand", name: "demand", rows: "3", spellcheck: "false", placeholder: "market,family,mean_m3_day,sd_m3_day,kg_per_m3\nLODZ,electronics,2.5,0.8,180" });
  const out = h("div", { id: "recommend-result", "aria-live": "polite" });

  const bookBtn = (b, kind, quantity, period, label) => h("button.btn.small", { type: "button", "data-act": kind === "storage" ? "book" : "book-inbound",
    on: { click: () => onBook({ offer: b.offer, kind, quantity, start: period.start, end: period.end }) } }, label);

  const answer = (r) => {
    const cur = r.currency;
    const body = h("tbody", {}, r.book.map((b) => h("tr", { "data-offer": b.offer, "data-warehouse": b.warehouse },
      h("td", {}, h("strong", {}, whName(b.warehouse)), h("div.small.muted", {}, h("code", {}, b.offer))),
      h("td.num", { "data-qty": String(b.storage_quantity) }, `${fmtNumber(b.storage_quantity, b.storage_quantity % 1 ? 1 : 0)} ${b.storage_unit === "pallet" ? t("share.pallets") : "m³"}`,
        b.storage_unit === "pallet" ? h("div.small.muted", {}, `${fmtNumber(b.storage_m3, 1)} m³`) : null),
      h("td.num", {}, `${fmtNumber(b.inbound_m3_per_day, 1)} m³/${t("share.day")}`),
      h("td.num", {}, money(b.monthly_cost, cur)),
      h("td.actions", {}, writer ? [bookBtn(b, "storage", b.storage_quantity, r.period, t("share.book")),
        b.inbound_m3_per_day > 0 ? bookBtn(b, "inbound", b.inbound_m3_per_day, r.period, t("share.adv_book_inbound")) : null] : null))));
    const saving = r.saving === null
      ? t("share.adv_saving_unknown", { n: r.nearest.unplaced.length })
      : t("share.adv_saving", { saving: money(r.saving, cur), pct: fmtNumber(r.saving_pct || 0, 1), nearest: money(r.nearest.monthly_cost, cur) });
    return [
      h("div.notice-box.ok", { id: "recommend-summary" },
        h("strong", {}, t("share.adv_cost", { cost: money(r.monthly_cost, cur), n: r.book.length })),
        h("p", { id: "recommend-saving" }, saving),
        h("p.small.muted", {}, t("share.adv_basis", { start: r.period.start, end: r.period.end, fill: fmtNumber(r.fill_rate * 100, 0), offers: r.offers_considered }))),
      demandSaid(r.demand),
      h("div.table-wrap", {}, stacked(h("table", { id: "recommend-table" }, h("thead", {}, h("tr", {},
        ["share.warehouse", "share.adv_storage", "share.inbound_cap", "share.adv_monthly", "share.actions"].map((k, i) => h(i >= 1 && i <= 3 ? "th.num" : "th", {}, t(k))))), body))),
      r.unserved.length ? h("details.small", { id: "recommend-unserved" }, h("summary", {}, t("share.adv_unserved", { n: r.unserved.length })),
        h("p.muted", {}, r.unserved.map((u) => u.split(":").pop()).join(", "))) : null,
      h("p.small.muted", {}, r.nearest.method),
    ];
  };

  const form = h("form", { id: "recommend-form", on: { submit: async (e) => {
    e.preventDefault();
    const btn = form.querySelector("button[type=submit]");
    out.replaceChildren(h("p.muted", {}, "…"));
    let rows;
    try { rows = parseDemand(demand.value); } catch (err) { showProblem(out, err); return; }
    const body = { start_day: start.value, end_day: end.value, fill_rate: Number(fill.value), lookback_days: Number(lookback.value) };
    if (rows) body.demand = rows;
    btn.disabled = true;
    try {
      out.replaceChildren(...answer(await api("/v1/offers/recommendations", { method: "POST", body })).filter(Boolean));
    } catch (err) { showProblem(out, err); } finally { btn.disabled = false; }
  } } },
  h("div.grid3", {}, field("share.start", start), field("share.end", end), field("share.adv_fill", fill)),
  h("div.grid3", {}, field("share.adv_lookback", lookback)),
  h("label.field", {}, h("span", {}, t("share.adv_demand")), demand, h("small.muted", { id: "rc-demand-help" }, t("share.adv_demand_help"))),
  h("div.row", {}, h("button.btn", { type: "submit", id: "recommend-submit" }, t("share.adv_submit"))));

  return h("section.card", { id: "recommend-card" }, h("h2", {}, t("share.adv_title")), h("p.small.muted", {}, t("share.adv_intro")), form, out);
}
