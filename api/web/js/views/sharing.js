// Shared overseas warehouses (issue 19) in three pages:
// - #/offers (exporters, forwarders): open offers with their free capacity, a booking form, the organisation's
//   bookings with status, reason and audit trail, cancel / confirm a hold;
// - #/operator (warehouse operators): publish, edit (a replacement offer) and withdraw offers, the bookings on
//   them (refuse or cancel with a reason the booker reads), occupancy per day against capacity as a chart;
// - #/settlements (both sides, and the office's totals between cities): the month's statement, CSV/XLSX and the
//   signed statement to download.
// Only the public API: /v1/offers, /v1/bookings, /v1/settlements. The panels for what to book (recommend.js),
// the operator's partners (partners.js) and the reconciliation of use with bookings (reconcile.js) are modules
// of their own.

import { api, download } from "../api.js";
import { chartBox } from "../charts.js";
import { t, tv, nodeName, fmtDateTime, fmtNumber } from "../i18n.js";
import { loadNetwork } from "../map.js";
import { h, field, select, showProblem, stacked } from "../ui.js";
import { partnersPanel } from "./partners.js";
import { reconcileCard } from "./reconcile.js";
import { recommendPanel } from "./recommend.js";

export const layout = "no-map";
const CLASSES = ["general", "lithium_batteries", "dangerous_goods", "temperature_controlled"];
const MODES = ["9810", "9610", "1210", "9710"];
const OPEN = ["held", "confirmed", "waitlisted"];

export async function mount(panel, ctx) {
  const net = await loadNetwork();
  const me = ctx.session.me;
  const env = { net, me, writer: ["member", "admin"].includes(me.role), navigate: ctx.navigate };
  if (ctx.page === "operator") return operatorPage(panel, env);
  if (ctx.page === "settlements") return settlementsPage(panel, env, ctx.query);
  return offersPage(panel, env);
}

// --- small helpers -------------------------------------------------------------------------------------
const iso = (d) => d.toISOString().slice(0, 10);
function addDays(day, n) { const d = new Date(`${day}T00:00:00Z`); d.setUTCDate(d.getUTCDate() + n); return iso(d); }
const today = () => iso(new Date());
const whName = (net, id) => nodeName(net.nodes[id]) || id;
const money = (x, cur, digits = 2) => (x === null || x === undefined ? "—" : `${fmtNumber(x, digits)} ${cur}`);
const unitLabel = (u) => (u === "pallet" ? t("share.pallets") : "m³");
const input = (name, attrs = {}) => h("input", { name, id: `sh-${name}`, ...attrs });

function statusPill(status) {
  const cls = { confirmed: "ok", held: "warn", waitlisted: "warn", refused: "bad", open: "ok" }[status] || "";
  return h(`span.pill${cls ? "." + cls : ""}`, { "data-status": status }, tv("bstatus", status));
}

function checks(name, values, chosen) {
  return h("div.checks", { role: "group" }, values.map((v) => h("label.check", {},
    h("input", { type: "checkbox", name, value: v, checked: chosen.includes(v) }), " ", tv("cargo", v))));
}

function checked(form, name) {
  return [...form.querySelectorAll(`input[name=${name}]:checked`)].map((e) => e.value);
}

/** The smallest free quantity over the days (storage in the offer's unit, inbound m³/day). */
function minFree(days) {
  if (!days || !days.length) return null;
  return Math.min(...days.map((d) => d.free));
}

async function availability(offerId, start, end) {
  const q = new URLSearchParams();
  if (start) q.set("start", start);
  if (end) q.set("end", end);
  return api(`/v1/offers/${encodeURIComponent(offerId)}/availability?${q}`);
}

/** The booking's audit trail as a list (who, when, what). */
async function trailList(bookingId) {
  const tr = await api(`/v1/bookings/${encodeURIComponent(bookingId)}/audit`);
  return h("ol.trail", { "data-trail": bookingId }, tr.items.map((e) => {
    const d = e.detail || {};
    const bits = ["status", "quantity", "start_day", "end_day", "reason", "fee"].filter((k) => d[k] !== undefined && d[k] !== null && d[k] !== "")
      .map((k) => `${tv("field", k)}: ${k === "status" ? tv("bstatus", d[k]) : d[k]}`);
    return h("li", {}, h("strong", {}, tv("action", e.action)), ` · ${fmtDateTime(new Date(e.at_ms).toISOString())} · ${e.actor_org || "—"}${e.actor ? " / " + e.actor : ""}`,
      bits.length ? h("div.small.muted", {}, bits.join(" · ")) : null);
  }));
}

function bookingCells(b, net) {
  return [
    h("td", {}, h("code", {}, b.id)),
    h("td", {}, whName(net, b.warehouse)),
    h("td", {}, tv("bkind", b.kind)),
    h("td.num", {}, fmtNumber(b.quantity, b.quantity % 1 ? 1 : 0)),
    h("td.nowrap", {}, `${b.start_day} → ${b.end_day}`),
    h("td", {}, statusPill(b.status), b.reason ? h("div.small.muted.reason", {}, b.reason) : null,
      b.status === "held" && b.expires_ms ? h("div.small.muted", {}, `${t("share.confirm_before")} ${fmtDateTime(new Date(b.expires_ms).toISOString())}`) : null),
  ];
}

/** A table of bookings with a row of actions each; a trail opens under its row. */
function bookingTable(id, items, net, { extraHead = [], extraCells = () => [], actions }) {
  const body = h("tbody");
  for (const b of items) {
    const row = h("tr", { "data-id": b.id, "data-status": b.status });
    const under = h("tr.under", { hidden: true }, h("td", { colspan: String(7 + extraHead.length) }));
    const trailBtn = h("button.btn.small.secondary", { type: "button", "data-act": "trail", "aria-expanded": "false", on: { click: async () => {
      if (!under.hidden) { under.hidden = true; trailBtn.setAttribute("aria-expanded", "false"); return; }
      under.hidden = false; trailBtn.setAttribute("aria-expanded", "true");
      const cell = under.firstChild;
      cell.replaceChildren(h("span.muted", {}, "…"));
      try { cell.replaceChildren(await trailList(b.id)); } catch (err) { showProblem(cell, err); }
    } } }, t("share.trail"));
    row.append(...extraCells(b), ...bookingCells(b, net), h("td.actions", {}, trailBtn, ...actions(b, under)));
    body.append(row, under);
  }
  if (!items.length) body.append(h("tr", {}, h("td.empty", { colspan: String(7 + extraHead.length) }, t("share.no_bookings"))));
  return h("div.table-wrap", {}, stacked(h("table", { id }, h("thead", {}, h("tr", {}, ...extraHead.map((k) => h("th", {}, t(k))),
    ["share.booking", "share.warehouse", "share.kind", "share.quantity", "share.days", "share.status"].map((k, i) => h(i === 3 ? "th.num" : "th", {}, t(k))),
    h("th", {}, t("share.actions")))), body)));
}

// --- exporters and forwarders: offers, booking, own bookings ----------------------------------------------
async function offersPage(panel, env) {
  const { net } = env;
  const errors = h("div", { "aria-live": "assertive" });
  const offersBox = h("div", { id: "offers-box" });
  const formBox = h("div", { id: "book-box" });
  const bookingsBox = h("div", { id: "my-bookings" });
  const whFilter = h("select", { id: "sh-filter" }, h("option", { value: "" }, t("share.all_warehouses")));
  panel.append(
    h("section.card", {}, h("h1", {}, t("share.offers_title")), h("p.small.muted", {}, t("share.offers_intro")), errors,
      h("div.grid2", {}, field("share.warehouse", whFilter)), offersBox),
    recommendPanel({ writer: env.writer, whName: (id) => whName(net, id), today: today(), onBook: (p) => bookRecommended(p) }),
    formBox,
    h("section.card", {}, h("h2", {}, t("share.my_bookings")), bookingsBox));

  let offers = [];
  const drawOffers = async () => {
    const shown = offers.filter((o) => !whFilter.value || o.warehouse === whFilter.value);
    const avail = await Promise.all(shown.map((o) => availability(o.id).catch(() => null)));
    const body = h("tbody");
    shown.forEach((o, i) => {
      const a = avail[i];
      const freeS = a ? minFree(a.days.storage) : null;
      const freeI = a ? minFree(a.days.inbound) : null;
      const sensors = a && a.sensors ? a.sensors : null;
      body.append(h("tr", { "data-id": o.id, "data-warehouse": o.warehouse },
        h("td", {}, h("strong", {}, whName(net, o.warehouse)), h("div.small.muted", {}, `${o.warehouse} · ${o.id}`)),
        h("td", {}, `${o.start_day} → ${o.end_day}`),
        h("td.num", {}, `${fmtNumber(o.storage_capacity)} ${unitLabel(o.storage_unit)}`,
          h("div.small", { "data-free": "storage" }, `${t("share.free")}: ${freeS === null ? "—" : fmtNumber(freeS)}`),
          sensors ? h("div.small.muted", { title: sensors.source }, `${t("share.sensors_free")}: ${fmtNumber(sensors.free_positions)} ${t("share.pallets")}`) : null),
        h("td.num", {}, `${fmtNumber(o.inbound_m3_per_day)} m³/${t("share.day")}`,
          h("div.small", { "data-free": "inbound" }, `${t("share.free")}: ${freeI === null ? "—" : fmtNumber(freeI)}`)),
        h("td", {}, `${money(o.price_storage, o.currency)} / ${unitLabel(o.storage_unit)}·${t("share.day")}`,
          h("div.small.muted", {}, `${money(o.price_inbound, o.currency)} / m³ ${t("share.inbound")}`)),
        h("td.small", {}, o.cargo_classes.map((c) => tv("cargo", c)).join(", "), h("div.muted", {}, o.customs_modes.join(", "))),
        h("td", {}, env.writer ? h("button.btn.small", { type: "button", "data-act": "book", on: { click: () => bookForm(o, a) } }, t("share.book")) : null)));
    });
    if (!shown.length) body.append(h("tr", {}, h("td.empty", { colspan: "7" }, t("share.no_offers"))));
    offersBox.replaceChildren(h("div.table-wrap", {}, stacked(h("table", { id: "offers-table" }, h("thead", {}, h("tr", {},
      ["share.warehouse", "share.period", "share.storage", "share.inbound_cap", "share.price", "share.accepts", "share.actions"]
        .map((k, i) => h(i === 2 || i === 3 ? "th.num" : "th", {}, t(k))))), body))));
  };

  // a recommended offer's "Book": the form filled in (offer, kind, quantity, the period within the offer's)
  const bookRecommended = async ({ offer, kind, quantity, start, end }) => {
    let o = offers.find((x) => x.id === offer);
    try {
      if (!o) o = await api(`/v1/offers/${encodeURIComponent(offer)}`);
      const a = await availability(o.id).catch(() => null);
      const clamp = (d) => (d < o.start_day ? o.start_day : d > o.end_day ? o.end_day : d);
      bookForm(o, a, { kind, quantity, start: clamp(start < today() ? today() : start), end: clamp(end) });
    } catch (err) { showProblem(errors, err); }
  };

  const bookForm = (o, a, pre = {}) => {
    const start = pre.start || (o.start_day > today() ? o.start_day : today());
    const kind = select("kind", [["storage", `${tv("bkind", "storage")} (${unitLabel(o.storage_unit)})`], ["inbound", `${tv("bkind", "inbound")} (m³/${t("share.day")})`]], pre.kind || "storage", { id: "sh-kind" });
    const qty = input("quantity", { type: "number", min: "0", step: "any", required: true, value: String(pre.quantity ?? 10), inputmode: "decimal" });
    const first = input("start", { type: "date", required: true, value: start, min: o.start_day, max: o.end_day });
    const last = input("end", { type: "date", required: true, value: pre.end || (addDays(start, 13) > o.end_day ? o.end_day : addDays(start, 13)), min: o.start_day, max: o.end_day });
    const cls = select("cargo_class", o.cargo_classes.map((c) => [c, tv("cargo", c)]), o.cargo_classes[0], { id: "sh-class" });
    const mode = select("customs_mode", o.customs_modes.map((m) => [m, m]), o.customs_modes[0], { id: "sh-mode" });
    const wait = h("input", { type: "checkbox", id: "sh-waitlist", name: "waitlist", checked: true });
    const hold = h("input", { type: "checkbox", id: "sh-hold", name: "hold" });
    const out = h("div", { id: "book-result", "aria-live": "polite" });
    const estimate = h("p.small.muted", { id: "book-estimate" });
    const price = () => {
      const days = Math.max(0, Math.round((Date.parse(last.value) - Date.parse(first.value)) / 86400000) + 1);
      const q = Number(qty.value) || 0;
      const amount = kind.value === "storage" ? q * days * o.price_storage : q * days * o.price_inbound;
      estimate.textContent = t("share.estimate", { days, amount: money(amount, o.currency) });
    };
    [kind, qty, first, last].forEach((e) => e.addEventListener("input", price));
    price();
    const form = h("form", { id: "book-form", on: { submit: async (e) => {
      e.preventDefault();
      out.replaceChildren();
      const btn = form.querySelector("button[type=submit]");
      btn.disabled = true;
      try {
        const b = await api("/v1/bookings", { method: "POST", body: { offer: o.id, kind: kind.value, quantity: Number(qty.value),
          start_day: first.value, end_day: last.value, cargo_class: cls.value, customs_mode: mode.value, waitlist: wait.checked, hold: hold.checked } });
        out.replaceChildren(h(`div.notice-box.${b.status === "confirmed" ? "ok" : b.status === "refused" ? "bad" : "warn"}`, { "data-status": b.status },
          h("strong", {}, `${t("share.booking")} ${b.id}: `), statusPill(b.status), b.reason ? h("p.small", {}, b.reason) : null));
        await Promise.all([loadBookings(), drawOffers()]);
      } catch (err) { showProblem(out, err); } finally { btn.disabled = false; }
    } } },
    h("div.grid3", {}, field("share.kind", kind), field("share.quantity", qty), field("share.cargo_class", cls)),
    h("div.grid3", {}, field("share.start", first), field("share.end", last), field("share.customs_mode", mode)),
    h("div.row", {}, h("label.check", {}, wait, " ", t("share.waitlist")), h("label.check", {}, hold, " ", t("share.hold", { h: o.terms.hold_hours }))),
    estimate,
    h("p.small.muted", {}, t("share.terms", { days: o.terms.notice_days, pct: fmtNumber(o.terms.cancel_fee_share * 100), settle: tv("settle", o.terms.settle_on) })),
    h("div.row", {}, h("button.btn", { type: "submit", id: "book-submit" }, t("share.request")),
      h("button.btn.secondary", { type: "button", on: { click: () => formBox.replaceChildren() } }, t("share.close"))));
    formBox.replaceChildren(h("section.card", { id: "book-card", "data-offer": o.id }, h("h2", {}, `${t("share.book_at")} ${whName(net, o.warehouse)}`),
      h("p.small.muted", {}, `${o.id} · ${o.start_day} → ${o.end_day}${a ? ` · ${t("share.free")}: ${fmtNumber(minFree(a.days.storage))} ${unitLabel(o.storage_unit)}` : ""}`), form, out));
    formBox.scrollIntoView({ block: "nearest" });
    qty.focus();
  };

  const loadBookings = async () => {
    try {
      const page = await api("/v1/bookings?role=booker&limit=200");
      bookingsBox.replaceChildren(bookingTable("bookings-table", page.items, net, {
        actions: (b, under) => {
          if (!env.writer || !OPEN.includes(b.status)) return [];
          const acts = [];
          if (b.status === "held") acts.push(h("button.btn.small", { type: "button", "data-act": "confirm", on: { click: async () => {
            try { await api(`/v1/bookings/${encodeURIComponent(b.id)}/confirm`, { method: "POST" }); await loadBookings(); } catch (err) { showProblem(under.firstChild, err); under.hidden = false; }
          } } }, t("share.confirm")));
          acts.push(h("button.btn.small.secondary", { type: "button", "data-act": "cancel", on: { click: async (e) => {
            const btn = e.currentTarget;
            if (btn.dataset.armed !== "1") { btn.dataset.armed = "1"; btn.textContent = t("share.cancel_sure"); return; }
            try { await api(`/v1/bookings/${encodeURIComponent(b.id)}`, { method: "DELETE" }); await Promise.all([loadBookings(), drawOffers()]); } catch (err) { showProblem(under.firstChild, err); under.hidden = false; }
          } } }, t("share.cancel")));
          return acts;
        },
      }));
    } catch (err) { showProblem(bookingsBox, err); }
  };

  try {
    const page = await api("/v1/offers?limit=200");
    offers = page.items.filter((o) => o.status === "open" && o.operator !== env.me.org.id);
    const whs = [...new Set(offers.map((o) => o.warehouse))].sort();
    whFilter.append(...whs.map((w) => h("option", { value: w }, whName(net, w))));
    whFilter.addEventListener("change", drawOffers);
    await drawOffers();
  } catch (err) { showProblem(errors, err); }
  await loadBookings();
  return null;
}

// --- warehouse operators: offers, bookings on them, occupancy ---------------------------------------------
async function operatorPage(panel, env) {
  const { net } = env;
  const whs = Object.values(net.nodes).filter((n) => n.kind === "overseas_warehouse").sort((a, b) => nodeName(a).localeCompare(nodeName(b)));
  const formBox = h("div", { id: "offer-form-box" });
  const offersBox = h("div", { id: "my-offers" });
  const occBox = h("div", { id: "occupancy" });
  const recBox = h("div", { id: "reconcile" });
  const incoming = h("div", { id: "incoming" });
  const names = {}; // booker organisation id -> name, from the bookings on the offers
  const partners = partnersPanel(env, () => names);
  const errors = h("div", { "aria-live": "assertive" });
  panel.append(
    h("section.card", {}, h("h1", {}, t("share.operator_title")), h("p.small.muted", {}, t("share.operator_intro")), errors, offersBox),
    formBox, occBox, recBox,
    h("section.card", {}, h("h2", {}, t("share.incoming")), incoming),
    partners.card);
  let offers = [];
  let charts = [];

  const offerForm = (base) => {
    const o = base || {};
    const tm = o.terms || {};
    const start = today();
    const wh = select("warehouse", whs.map((n) => [n.id, `${nodeName(n)} · ${n.id}`]), o.warehouse || (whs[0] && whs[0].id), { id: "sh-warehouse", required: true });
    const first = input("start_day", { type: "date", required: true, value: o.start_day || start });
    const last = input("end_day", { type: "date", required: true, value: o.end_day || addDays(start, 89) });
    const cap = input("storage_capacity", { type: "number", min: "0", step: "any", required: true, value: String(o.storage_capacity ?? 500) });
    const unit = select("storage_unit", [["m3", "m³"], ["pallet", t("share.pallets")]], o.storage_unit || "m3", { id: "sh-unit" });
    const inbound = input("inbound_m3_per_day", { type: "number", min: "0", step: "any", required: true, value: String(o.inbound_m3_per_day ?? 40) });
    const ps = input("price_storage", { type: "number", min: "0", step: "any", required: true, value: String(o.price_storage ?? 0.6) });
    const pi = input("price_inbound", { type: "number", min: "0", step: "any", required: true, value: String(o.price_inbound ?? 3) });
    const cur = select("currency", [["USD", "USD"], ["EUR", "EUR"], ["CNY", "CNY"]], o.currency || "USD", { id: "sh-currency" });
    const who = select("who_may_book", [["everyone", t("share.who_everyone")], ["partners", t("share.who_partners")], ["list", t("share.who_list")]], o.who_may_book || "everyone", { id: "sh-who" });
    const list = input("allowed_orgs", { value: (o.allowed_orgs || []).join(", "), placeholder: "org_…" });
    const notice = input("notice_days", { type: "number", min: "0", max: "365", step: "1", value: String(tm.notice_days ?? 14) });
    const settle = select("settle_on", ["booked", "used", "split"].map((s) => [s, tv("settle", s)]), tm.settle_on || "booked", { id: "sh-settle" });
    const out = h("div", { id: "offer-result", "aria-live": "polite" });
    const form = h("form", { id: "offer-form", on: { submit: async (e) => {
      e.preventDefault();
      out.replaceChildren();
      const body = { warehouse: wh.value, start_day: first.value, end_day: last.value, storage_capacity: Number(cap.value), storage_unit: unit.value,
        inbound_m3_per_day: Number(inbound.value), price_storage: Number(ps.value), price_inbound: Number(pi.value), currency: cur.value,
        cargo_classes: checked(form, "cargo_classes"), customs_modes: checked(form, "customs_modes"), who_may_book: who.value,
        allowed_orgs: who.value === "list" ? list.value.split(/[\s,]+/).filter(Boolean) : [],
        terms: { ...(o.terms || {}), notice_days: Number(notice.value), settle_on: settle.value } };
      const btn = form.querySelector("button[type=submit]");
      btn.disabled = true;
      try {
        const made = await api("/v1/offers", { method: "POST", body });
        // an offer is not changed in place (bookings made on it stand by its terms): the edit publishes a
        // replacement and withdraws the old one
        if (o.id) await api(`/v1/offers/${encodeURIComponent(o.id)}`, { method: "DELETE" });
        out.replaceChildren(h("div.notice-box.ok", { "data-offer": made.id }, o.id ? t("share.replaced", { old: o.id, id: made.id }) : t("share.published", { id: made.id })));
        await load();
      } catch (err) { showProblem(out, err); } finally { btn.disabled = false; }
    } } },
    h("div.grid3", {}, field("share.warehouse", wh), field("share.start", first), field("share.end", last)),
    h("div.grid3", {}, field("share.storage", cap), field("share.unit", unit), field("share.inbound_cap", inbound)),
    h("div.grid3", {}, field("share.price_storage", ps), field("share.price_inbound", pi), field("share.currency", cur)),
    h("fieldset", {}, h("legend", {}, t("share.cargo_classes")), checks("cargo_classes", CLASSES, o.cargo_classes || ["general"])),
    h("fieldset", {}, h("legend", {}, t("share.customs_modes")), h("div.checks", { role: "group" }, MODES.map((m) => h("label.check", {},
      h("input", { type: "checkbox", name: "customs_modes", value: m, checked: (o.customs_modes || ["9810"]).includes(m) }), " ", m)))),
    h("div.grid3", {}, field("share.who", who), field("share.allowed_orgs", list), field("share.notice_days", notice)),
    h("div.grid3", {}, field("share.settle_on", settle)),
    h("div.row", {}, h("button.btn", { type: "submit", id: "offer-submit" }, o.id ? t("share.publish_replacement") : t("share.publish")),
      h("button.btn.secondary", { type: "button", on: { click: () => formBox.replaceChildren() } }, t("share.close"))));
    formBox.replaceChildren(h("section.card", { id: "offer-card" }, h("h2", {}, o.id ? `${t("share.edit")} ${o.id}` : t("share.new_offer")),
      o.id ? h("p.small.muted", {}, t("share.edit_note")) : null, form, out));
    formBox.scrollIntoView({ block: "nearest" });
  };

  const occupancy = async (o) => {
    charts.forEach((c) => c.destroy());
    charts = [];
    const end = o.end_day < addDays(o.start_day, 91) ? o.end_day : addDays(o.start_day, 91);
    let a;
    try { a = await availability(o.id, o.start_day, end); } catch (err) { showProblem(occBox, err); return; }
    const mk = (kind, unitText) => {
      const days = a.days[kind] || [];
      const box = chartBox({
        type: "bar",
        data: { labels: days.map((d) => d.day.slice(5)), datasets: [
          { type: "line", label: t("share.capacity"), data: days.map((d) => d.capacity), borderColor: "#0b2545", borderWidth: 2, pointRadius: 0, stepped: true, order: 0 },
          { label: t("share.confirmed"), data: days.map((d) => d.confirmed), backgroundColor: "#1b998b", stack: "b", order: 1 },
          { label: t("share.held"), data: days.map((d) => d.held), backgroundColor: "#f2a541", stack: "b", order: 1 }] },
        options: { scales: { x: { stacked: true, ticks: { maxTicksLimit: 12 } }, y: { stacked: true, beginAtZero: true, title: { display: true, text: unitText } } },
          plugins: { legend: { position: "bottom" } } },
      }, { height: 220, label: `${t("share.occupancy")} · ${tv("bkind", kind)}` });
      box.chart.then((c) => charts.push(c));
      const peak = days.length ? Math.max(...days.map((d) => d.confirmed + d.held)) : 0;
      return h("div", { "data-kind": kind }, h("h3", {}, `${tv("bkind", kind)} · ${unitText}`),
        h("p.small.muted", {}, t("share.peak", { peak: fmtNumber(peak), cap: fmtNumber(days.length ? days[0].capacity : 0), free: fmtNumber(minFree(days) ?? 0) })), box.box);
    };
    const s = a.sensors || {};
    occBox.replaceChildren(h("section.card", { id: "occupancy-card", "data-offer": o.id },
      h("h2", {}, `${t("share.occupancy")} · ${whName(net, o.warehouse)}`),
      h("p.small.muted", {}, `${o.id} · ${o.start_day} → ${end}`),
      s.free_positions !== undefined ? h("p.small", {}, `${t("share.sensors_free")}: ${fmtNumber(s.free_positions)} ${t("share.pallets")}${s.occupied_positions !== null && s.occupied_positions !== undefined ? ` · ${t("share.sensors_used")}: ${fmtNumber(s.occupied_positions)}` : ""} (${s.source})`) : null,
      h("div.grid2.charts", {}, mk("storage", unitLabel(o.storage_unit)), mk("inbound", `m³/${t("share.day")}`))));
  };

  const drawOffers = () => {
    const body = h("tbody");
    for (const o of offers) {
      body.append(h("tr", { "data-id": o.id, "data-status": o.status },
        h("td", {}, h("strong", {}, whName(net, o.warehouse)), h("div.small.muted", {}, o.id)),
        h("td.nowrap", {}, `${o.start_day} → ${o.end_day}`),
        h("td.num", {}, `${fmtNumber(o.storage_capacity)} ${unitLabel(o.storage_unit)}`, h("div.small.muted", {}, `${fmtNumber(o.inbound_m3_per_day)} m³/${t("share.day")} ${t("share.inbound")}`)),
        h("td", {}, `${money(o.price_storage, o.currency)} · ${money(o.price_inbound, o.currency)}`),
        h("td", {}, tv("who", o.who_may_book)),
        h("td", {}, statusPill(o.status)),
        h("td.actions", {},
          h("button.btn.small", { type: "button", "data-act": "occupancy", on: { click: () => occupancy(o) } }, t("share.occupancy")),
          h("button.btn.small.secondary", { type: "button", "data-act": "reconcile", on: { click: () => reconcileCard(recBox, o, {
            whName: (id) => whName(net, id), names: () => names, today: today() }) } }, t("share.reconcile")),
          env.writer && o.status === "open" ? h("button.btn.small.secondary", { type: "button", "data-act": "edit", on: { click: () => offerForm(o) } }, t("share.edit")) : null,
          env.writer && o.status === "open" ? h("button.btn.small.secondary", { type: "button", "data-act": "withdraw", on: { click: async (e) => {
            const btn = e.currentTarget;
            if (btn.dataset.armed !== "1") { btn.dataset.armed = "1"; btn.textContent = t("share.withdraw_sure"); return; }
            try { await api(`/v1/offers/${encodeURIComponent(o.id)}`, { method: "DELETE" }); await load(); } catch (err) { showProblem(errors, err); }
          } } }, t("share.withdraw")) : null)));
    }
    if (!offers.length) body.append(h("tr", {}, h("td.empty", { colspan: "7" }, t("share.no_own_offers"))));
    offersBox.replaceChildren(
      env.writer ? h("p", {}, h("button.btn", { type: "button", id: "new-offer", on: { click: () => offerForm(null) } }, t("share.new_offer"))) : null,
      h("div.table-wrap", {}, stacked(h("table", { id: "own-offers" }, h("thead", {}, h("tr", {},
        ["share.warehouse", "share.period", "share.capacity", "share.price", "share.who", "share.status", "share.actions"].map((k, i) => h(i === 2 ? "th.num" : "th", {}, t(k))))), body))));
  };

  const loadIncoming = async () => {
    try {
      const page = await api("/v1/bookings?role=operator&limit=200");
      const mine = page.items.filter((b) => b.operator === env.me.org.id);
      for (const b of mine) if (b.org_name) names[b.org] = b.org_name;
      partners.redraw();
      incoming.replaceChildren(bookingTable("incoming-table", mine, net, {
        extraHead: ["share.booker"],
        // the booker by name, its id small and muted under it (as the settlements show a party's city)
        extraCells: (b) => [h("td", { "data-booker": b.org }, b.org_name
          ? [h("strong", {}, b.org_name), h("div.small.muted", {}, h("code", {}, b.org))]
          : h("code", {}, b.org))],
        actions: (b, under) => {
          const can = env.writer && (["held", "waitlisted"].includes(b.status) || (b.status === "confirmed" && b.start_day > today()));
          if (!can) return [];
          return [h("button.btn.small.secondary", { type: "button", "data-act": "refuse", on: { click: () => {
            const reason = h("input", { id: `reason-${b.id}`, name: "reason", required: true, maxlength: "300", placeholder: t("share.reason_ph") });
            const out = h("div");
            under.hidden = false;
            under.firstChild.replaceChildren(h("form.row", { "data-refuse": b.id, on: { submit: async (e) => {
              e.preventDefault();
              try {
                await api(`/v1/bookings/${encodeURIComponent(b.id)}/refuse`, { method: "POST", body: { reason: reason.value.trim() } });
                await loadIncoming();
              } catch (err) { showProblem(out, err); }
            } } }, field("share.reason", reason), h("button.btn.small", { type: "submit", style: { alignSelf: "end" } },
              b.status === "confirmed" ? t("share.cancel_booking") : t("share.refuse")), out));
            reason.focus();
          } } }, b.status === "confirmed" ? t("share.cancel_booking") : t("share.refuse"))];
        },
      }));
    } catch (err) { showProblem(incoming, err); }
  };

  async function load() {
    try {
      const page = await api("/v1/offers?mine=true&include_withdrawn=true&limit=200");
      offers = page.items;
      drawOffers();
    } catch (err) { showProblem(errors, err); }
    await loadIncoming();
  }
  await load();
  return () => charts.forEach((c) => c.destroy());
}

// --- settlements (both sides; the office's totals between cities) -------------------------------------------
async function settlementsPage(panel, env, query) {
  const month = input("month", { type: "month", required: true, value: (query && query.get("month")) || today().slice(0, 7) });
  const out = h("div", { id: "settlement" });
  const office = env.me.org.kind === "office" && ["admin", "analyst"].includes(env.me.role);
  const form = h("form", { id: "settle-form", on: { submit: (e) => { e.preventDefault(); show(); } } },
    h("div.row", {}, field("share.month", month), h("button.btn", { type: "submit", id: "settle-submit", style: { alignSelf: "end" } }, t("share.show"))));
  panel.append(h("section.card", {}, h("h1", {}, t("share.settlements_title")), h("p.small.muted", {}, t("share.settlements_intro")), form), out);

  const dl = (fmt) => h("button.btn.small.secondary", { type: "button", "data-download": fmt, on: { click: async (e) => {
    const m = month.value;
    const box = e.currentTarget.closest("section").querySelector(".dl-errors");
    try {
      if (fmt === "statement") {
        const st = await api(`/v1/settlements/${m}/statement`);
        const blob = new Blob([JSON.stringify(st, null, 2)], { type: "application/json" });
        const a = h("a", { href: URL.createObjectURL(blob), download: `statement-${m}-${env.me.org.id}.json` });
        document.body.append(a); a.click(); a.remove();
      } else {
        await download(`/v1/settlements/${m}/export?format=${fmt}`, `settlement-${m}-${env.me.org.id}.${fmt}`);
      }
    } catch (err) { showProblem(box, err); }
  } } }, t(`share.dl_${fmt}`));

  async function show() {
    const m = month.value;
    out.replaceChildren(h("p.muted", {}, "…"));
    try {
      const doc = await api(`/v1/settlements/${m}`);
      const name = (id, n) => (id === env.me.org.id ? `${n || id} (${t("share.you")})` : n || id);
      const pairs = h("tbody", {}, doc.pairs.length ? doc.pairs.map((p) => h("tr", { "data-booker": p.booker, "data-operator": p.operator },
        h("td", {}, name(p.booker, p.booker_name), h("div.small.muted", {}, p.booker_city)),
        h("td", {}, name(p.operator, p.operator_name), h("div.small.muted", {}, p.operator_city)),
        h("td.num", {}, fmtNumber(p.booked_m3_days, 1)), h("td.num", {}, fmtNumber(p.used_m3_days, 1)),
        h("td.num", {}, fmtNumber(p.booked_inbound_m3, 1)), h("td.num", {}, fmtNumber(p.used_inbound_m3, 1)),
        h("td.num.money", {}, money(p.storage_charge, p.currency)), h("td.num.money", {}, money(p.inbound_charge, p.currency)),
        h("td.num.money", {}, money(p.fees, p.currency)), h("td.num.money", {}, h("strong", {}, money(p.total, p.currency)))))
        : [h("tr", {}, h("td.empty", { colspan: "10" }, t("share.no_settlement")))]);
      const lines = h("tbody", {}, doc.lines.map((l) => h("tr", {},
        h("td", {}, h("code", {}, l.offer), h("div.small.muted", {}, whName(env.net, l.warehouse))),
        h("td", {}, l.booker), h("td", {}, tv("settle", l.settle_on)),
        h("td.num", {}, `${fmtNumber(l.booked_unit_days, 1)} / ${fmtNumber(l.used_unit_days, 1)}`),
        h("td.num", {}, `${fmtNumber(l.booked_inbound_m3, 1)} / ${fmtNumber(l.used_inbound_m3, 1)}`),
        h("td.num", {}, money(l.total, l.currency)))));
      const parts = [h("section.card", { id: "settlement-card", "data-month": doc.month },
        h("h2", {}, `${t("share.statement")} ${doc.month}`),
        h("div.row", {}, dl("csv"), dl("xlsx"), dl("statement")), h("div.dl-errors"),
        h("div.table-wrap", {}, stacked(h("table", { id: "pairs-table" }, h("thead", {}, h("tr", {},
          ["share.booker", "share.operator", "share.booked_m3d", "share.used_m3d", "share.booked_in", "share.used_in", "share.storage_charge", "share.inbound_charge", "share.fees", "share.total"]
            .map((k, i) => h(i >= 2 ? "th.num" : "th", {}, t(k))))), pairs))),
        doc.lines.length ? h("details", {}, h("summary", {}, t("share.lines", { n: doc.lines.length })),
          h("div.table-wrap", {}, h("table", { id: "lines-table" }, h("thead", {}, h("tr", {},
            ["share.offer", "share.booker", "share.settle_on", "share.unit_days", "share.inbound_bu", "share.total"].map((k, i) => h(i >= 3 ? "th.num" : "th", {}, t(k))))), lines))) : null,
        h("p.small.muted", {}, doc.method))];
      if (office) {
        try {
          const c = await api(`/v1/settlements/${m}/cities`);
          parts.push(h("section.card", { id: "cities-card" }, h("h2", {}, t("share.cities")), h("p.small.muted", {}, c.rule),
            h("div.table-wrap", {}, h("table", {}, h("thead", {}, h("tr", {}, ["share.booker_city", "share.operator_city", "share.booked_m3d", "share.used_m3d", "share.total"].map((k, i) => h(i >= 2 ? "th.num" : "th", {}, t(k))))),
              h("tbody", {}, c.flows.map((f) => h("tr", {}, h("td", {}, f.booker_city || "*"), h("td", {}, f.operator_city || "*"),
                ...(f.suppressed ? [h("td.num.muted", { colspan: "3" }, tv("suppressed", f.suppressed))]
                  : [h("td.num", {}, fmtNumber(f.booked_m3_days, 1)), h("td.num", {}, fmtNumber(f.used_m3_days, 1)), h("td.num", {}, money(f.total, f.currency))]))))))));
        } catch (err) { parts.push(h("div", {}, err.message)); }
      }
      out.replaceChildren(...parts);
    } catch (err) { showProblem(out, err); }
  }
  await show();
  return null;
}
