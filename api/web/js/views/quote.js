// Quote: origin/destination pickers (origins; markets and warehouses) searchable in Chinese and English,
// cargo, class, customs mode, ready date -> option cards (tags, legs, p50/p90, cost breakdown, CO2e,
// validity), the selected option on the map, and "follow this option" (creates a shipment).

import { api } from "../api.js";
import { drawOption, loadNetwork, fitTo } from "../map.js";
import { t, tv, nodeName, fmtDateTime, fmtNumber, fmtMoney, currentLang, chineseNodeNames, noteText } from "../i18n.js";
import { h, field, select, showProblem, modeBadge } from "../ui.js";

export const layout = "";
const ORIGIN_KINDS = ["origin_zone", "bonded_zone"];
const DEST_KINDS = ["market", "overseas_warehouse"];
const CLASSES = ["general", "lithium_batteries", "dangerous_goods", "temperature_controlled"];
const MODES = ["", "9610", "1210", "9710", "9810"];
const CURRENCIES = ["USD", "CNY", "EUR"];
let last = null; // {request, quote, selected} kept while the page is open (back from a shipment)

function today(offsetDays = 0) {
  const d = new Date(Date.now() + offsetDays * 86400000);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

/** A searchable node picker: an input with a datalist of "name · ID" in the current language, the other language's name as hint. */
function nodePicker(name, nodes, value, zh = {}) {
  const id = `${name}-list`;
  const label = (n) => `${nodeName(n)} · ${n.id}`;
  const input = h("input", { name, id: `q-${name}`, list: id, autocomplete: "off", value: value && nodes.find((n) => n.id === value) ? label(nodes.find((n) => n.id === value)) : "",
    required: true, spellcheck: "false" });
  // the other language's name as the option's label: "Łódź" finds 罗兹 and "罗兹" finds Łódź
  const other = (n) => (currentLang() === "zh-CN" ? n.name : zh[n.id] || n.name);
  const list = h("datalist", { id }, nodes.map((n) => h("option", { value: label(n) }, `${other(n)} — ${tv("kind", n.kind)}`)));
  input.resolve = () => {
    const v = input.value.trim();
    const m = v.match(/·\s*([A-Za-z0-9_]+)\s*$/);
    if (m) return m[1].toUpperCase();
    const lower = v.toLowerCase();
    const names = (n) => [n.id, n.name, nodeName(n), zh[n.id] || ""].map((x) => x.toLowerCase());
    const hit = nodes.find((n) => names(n).includes(lower)) || nodes.find((n) => names(n).join(" ").includes(lower));
    return hit ? hit.id : v.toUpperCase();
  };
  input.addEventListener("focus", () => input.select());
  return [input, list];
}

function optionTitle(opt, nodes) {
  const stops = [];
  (opt.legs || []).forEach((l, i) => { if (i === 0) stops.push(l.from); stops.push(l.to); });
  return stops.map((s) => nodeName(nodes[s]) || s).join(" → ");
}

function legRow(leg, nodes) {
  return h("li", {}, modeBadge(leg.mode),
    h("div", { style: { minWidth: 0, flex: 1 } },
      h("div", {}, h("strong", {}, `${nodeName(nodes[leg.from]) || leg.from_name || leg.from} → ${nodeName(nodes[leg.to]) || leg.to_name || leg.to}`)),
      h("div.muted", {}, [leg.carrier || leg.service, leg.equipment, leg.distance_km !== undefined ? `${fmtNumber(leg.distance_km)} km` : null].filter(Boolean).join(" · ")),
      h("div", {}, `${t("quote.depart")} ${fmtDateTime(leg.depart)} → ${t("quote.arrive")} ${fmtDateTime(leg.arrive)}`),
      leg.cutoff ? h("div.muted", {}, `${t("quote.cutoff")} ${fmtDateTime(leg.cutoff)}`) : null,
      (leg.via || []).length ? h("div.muted", {}, `${t("map.via")}: ${leg.via.map((v) => nodeName(nodes[v.node || v]) || v.node || v).join(", ")}`) : null),
    h("div.num", {}, leg.cost !== undefined ? fmtNumber(leg.cost) : ""));
}

function breakdownTable(cost) {
  const rows = (cost.breakdown || []).map((b) => h("tr", {},
    h("td", {}, b.leg === null || b.leg === undefined ? "—" : String(Number(b.leg) + 1)),
    h("td", {}, h("strong", {}, b.code), " ", h("span.muted", {}, b.description || "")),
    h("td.num", {}, fmtNumber(b.amount, 2))));
  return h("div.table-wrap", {}, h("table.breakdown", {},
    h("thead", {}, h("tr", {}, h("th", {}, t("quote.leg")), h("th", {}, t("quote.charge")), h("th.num", {}, cost.currency || ""))),
    h("tbody", {}, rows),
    h("tfoot", {}, h("tr", {}, h("th", { colspan: "2" }, t("quote.total")), h("th.num", {}, fmtNumber(cost.total, 2))))));
}

function tagsOf(opt) {
  const tags = [...(opt.tags || [])];
  if (opt.recommended === true && !tags.includes("recommended")) tags.unshift("recommended");
  return tags;
}

function spaceLeft(opt) {
  const s = opt.space_left ?? opt.space ?? null;
  if (s === null || s === undefined) return null;
  if (typeof s === "object") {
    const parts = Object.entries(s).filter(([, v]) => typeof v === "number").slice(0, 2).map(([k, v]) => `${fmtNumber(v, v >= 100 ? 0 : 1)} ${k.replace(/_/g, " ").replace(/\bm3\b/, "m³")}`);
    return parts.length ? parts.join(" · ") : null;
  }
  return String(s);
}

function optionCard(opt, index, nodes, { onSelect, onFollow, signedIn }) {
  const cost = opt.cost || {};
  const space = spaceLeft(opt);
  const card = h("article.option", { tabindex: "0", role: "button", "aria-pressed": "false", "data-index": String(index),
    "aria-label": `${t("quote.option")} ${index + 1}: ${fmtMoney(cost.total, cost.currency)}, ${fmtNumber(opt.transit_days && opt.transit_days.p50, 1)} ${t("unit.days")}` },
    h("div.head", {},
      h("div", { style: { minWidth: 0 } },
        h("div.row", {}, tagsOf(opt).map((tag) => h(`span.tag.${tag}`, {}, tv("tag", tag))), h("div.modes", {}, [...new Set((opt.legs || []).map((l) => l.mode))].map(modeBadge))),
        h("div.route", {}, optionTitle(opt, nodes))),
      h("div.price", {}, h("strong", {}, fmtMoney(cost.total, cost.currency)), h("span.small.muted", {}, t("quote.all_in")))),
    h("div.kpis", {},
      h("div.kpi", {}, h("b", {}, `${fmtNumber(opt.transit_days && opt.transit_days.p50, 1)}–${fmtNumber(opt.transit_days && opt.transit_days.p90, 1)}`), h("span", {}, t("quote.days_p50_p90"))),
      h("div.kpi", {}, h("b", {}, fmtDateTime(opt.arrive_p50, { withOffset: false })), h("span", {}, t("quote.arrive_p50"))),
      h("div.kpi", {}, h("b", {}, `${fmtNumber(opt.co2e_kg)} kg`), h("span", {}, t("quote.co2e")))),
    space ? h("div.small", {}, h("span.pill.warn", {}, `${t("quote.space_left")}: ${space}`)) : null,
    (opt.notes || []).length ? h("ul.small.muted.notes", { style: { margin: "6px 0", paddingLeft: "18px" } },
      ((opt.notes_detail || []).length === opt.notes.length ? opt.notes_detail : opt.notes).map((n) => h("li", { "data-code": n.code || null }, noteText(n)))) : null,
    h("details", {}, h("summary", {}, t("quote.details")),
      h("ul.legs", {}, (opt.legs || []).map((l) => legRow(l, nodes))),
      h("h3", {}, t("quote.breakdown")), breakdownTable(cost),
      opt.customs ? h("p.small.muted", {}, `${t("quote.customs")}: ${opt.customs.mode}${opt.customs.clearance_node ? " @ " + (nodeName(nodes[opt.customs.clearance_node]) || opt.customs.clearance_node) : ""}`) : null,
      opt.co2e && opt.co2e.method ? h("p.small.muted", {}, opt.co2e.method) : null),
    h("div.row", { style: { marginTop: "8px" } },
      h("span.small.muted", {}, opt.as_of ? t("quote.as_of", { date: opt.as_of }) : ""), h("span.spacer"),
      signedIn
        ? h("button.btn.small.follow", { type: "button", on: { click: (e) => { e.stopPropagation(); onFollow(opt, index); } } }, t("quote.follow"))
        : h("a.btn.small.secondary", { href: "#/signin?next=%23%2Fquote" }, t("quote.signin_to_follow"))));
  const choose = () => onSelect(opt, index, card);
  card.addEventListener("click", choose);
  card.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); choose(); } });
  return card;
}

export async function mount(panel, { session, navigate, args }) {
  const net = await loadNetwork();
  const nodes = net.nodes;
  const all = Object.values(nodes);
  const origins = all.filter((n) => ORIGIN_KINDS.includes(n.kind));
  const dests = all.filter((n) => DEST_KINDS.includes(n.kind));
  const req = (last && last.request) || { currency: "USD", from: "MY_CITY", to: "LODZ", weight_kg: 1200, volume_m3: 6, pieces: 1, cargo_class: "general", customs_mode: "", ready: today(1), include_planned: false };
  const zh = await chineseNodeNames();
  const [fromInput, fromList] = nodePicker("from", origins, req.from, zh);
  const [toInput, toList] = nodePicker("to", dests, req.to, zh);
  const num = (name, value, step = "any", min = "0") => h("input", { name, id: `q-${name}`, type: "number", inputmode: "decimal", step, min, value: String(value), required: true });
  const weight = num("weight_kg", req.weight_kg); const volume = num("volume_m3", req.volume_m3); const pieces = num("pieces", req.pieces, "1", "1");
  const cls = select("cargo_class", CLASSES.map((c) => [c, tv("class", c)]), req.cargo_class, { id: "q-cargo_class" });
  const customs = select("customs_mode", MODES.map((m) => [m, m ? `${m} — ${tv("customs", m)}` : t("quote.customs_auto")]), req.customs_mode, { id: "q-customs_mode" });
  const ready = h("input", { name: "ready", id: "q-ready", type: "date", value: req.ready, required: true });
  const currency = select("currency", CURRENCIES.map((c) => [c, c]), req.currency || "USD", { id: "q-currency" });
  const planned = h("input", { type: "checkbox", name: "include_planned", id: "q-include_planned", checked: req.include_planned });
  // optional: the declared goods value (in the quote's currency) and HS code drive the VAT/IOSS and duty estimates
  const goodsValue = h("input", { name: "goods_value", id: "q-goods_value", type: "number", inputmode: "decimal", step: "any", min: "0",
                                  value: req.goods_value == null ? "" : String(req.goods_value) });
  const hsCode = h("input", { name: "hs_code", id: "q-hs_code", inputmode: "numeric", pattern: "[0-9]{4,10}", maxlength: "10",
                              autocomplete: "off", value: req.hs_code || "" });
  const submit = h("button.btn.block", { type: "submit", id: "quote-submit" }, t("quote.submit"));
  const errors = h("div", { id: "quote-errors", "aria-live": "assertive" });
  const results = h("div", { id: "quote-results", "aria-live": "polite" });

  const form = h("form", { id: "quote-form", novalidate: true, on: { submit: (e) => { e.preventDefault(); run(); } } },
    field("quote.from", fromInput), fromList, field("quote.to", toInput), toList,
    h("div.grid3", {}, field("quote.weight", weight), field("quote.volume", volume), field("quote.pieces", pieces)),
    h("div.grid2", {}, field("quote.class", cls), field("quote.customs_mode", customs)),
    h("div.grid2", {}, field("quote.ready", ready), field("quote.currency", currency)),
    h("div.grid2", {}, field("quote.goods_value", goodsValue, t("quote.goods_value_hint")), field("quote.hs_code", hsCode, t("quote.hs_code_hint"))),
    h("label.check", { style: { marginBottom: "10px" } }, planned, t("quote.include_planned")),
    errors, submit);
  panel.append(h("section.card", {}, h("h1", {}, t("quote.title")), h("p.muted.small", {}, t("quote.intro")), form), results);

  const request = () => {
    const body = { from: fromInput.resolve(), to: toInput.resolve(), weight_kg: Number(weight.value), volume_m3: Number(volume.value),
                   pieces: Math.round(Number(pieces.value) || 1), cargo_class: cls.value, ready: ready.value, include_planned: planned.checked };
    if (customs.value) body.customs_mode = customs.value;
    if (currency.value !== "USD") body.currency = currency.value;
    if (goodsValue.value.trim() !== "") body.goods_value = Number(goodsValue.value);
    const hs = hsCode.value.replace(/[.\s]/g, "");
    if (hs) body.hs_code = hs;
    return body;
  };

  function render(quote, body, selected = 0) {
    results.replaceChildren();
    const cards = h("div.options", { id: "options" });
    const select = (opt, index, card) => {
      cards.querySelectorAll(".option").forEach((c) => { c.classList.remove("selected"); c.setAttribute("aria-pressed", "false"); });
      card.classList.add("selected"); card.setAttribute("aria-pressed", "true");
      drawOption(opt);
      last.selected = index;
    };
    const follow = (opt, index) => followDialog(results, body, opt, index, navigate);
    const signedIn = Boolean(session.me);
    quote.options.forEach((opt, i) => cards.append(optionCard(opt, i, nodes, { onSelect: select, onFollow: follow, signedIn })));
    results.append(
      h("section.card", {},
        h("h2", {}, t("quote.options", { n: quote.options.length }),
          h("span.small.muted", { id: "quote-id" }, quote.quote_id ? `#${quote.quote_id}` : "")),
        h("div.quote-meta", {},
          quote.created_at ? h("span", {}, `${t("quote.created")}: ${fmtDateTime(quote.created_at)}`) : null,
          quote.valid_until ? h("span", {}, `${t("quote.valid_until")}: ${fmtDateTime(quote.valid_until)}`) : null,
          quote.data_as_of ? h("span", {}, t("quote.as_of", { date: quote.data_as_of })) : null,
          quote.exchange_rate && quote.exchange_rate.from !== quote.exchange_rate.to
            ? h("span", {}, t("quote.fx", { from: quote.exchange_rate.from, to: quote.exchange_rate.to, rate: fmtNumber(quote.exchange_rate.rate, 4), date: quote.exchange_rate.date })) : null,
          quote.saved ? h("a", { href: `#/quote/${encodeURIComponent(quote.quote_id)}`, id: "quote-link" }, t("quote.saved_link")) : null),
        ((quote.warnings_detail || []).length === (quote.warnings || []).length ? quote.warnings_detail : quote.warnings || [])
          .map((w) => h("p.small.warning", { "data-code": w.code || null }, h("span.pill.warn", {}, "!"), " ", noteText(w)))),
      cards);
    const first = cards.querySelectorAll(".option")[Math.min(selected, quote.options.length - 1)];
    if (first) select(quote.options[Number(first.dataset.index)], Number(first.dataset.index), first);
  }

  async function run() {
    errors.replaceChildren();
    submit.disabled = true;
    submit.textContent = t("quote.busy");
    const body = request();
    const started = performance.now();
    try {
      const quote = await api("/v1/quotes", { method: "POST", body });
      last = { request: { ...body, customs_mode: customs.value, currency: currency.value }, quote, selected: 0, body };
      render(quote, body);
      // on screen: measured after the browser has laid the cards out (bench/web_bench.py reads it)
      requestAnimationFrame(() => { results.dataset.ms = String(Math.round(performance.now() - started)); });
    } catch (err) {
      showProblem(errors, err);
      results.replaceChildren();
      const a = nodes[body.from]; const b = nodes[body.to];
      if (a && b) fitTo([[a.lat, a.lon], [b.lat, b.lon]]);
    } finally { submit.disabled = false; submit.textContent = t("quote.submit"); }
  }

  if (args && args[0]) {
    try {
      const quote = await api(`/v1/quotes/${encodeURIComponent(args[0])}`);
      const r = quote.request || {};
      const body = { from: r.from || r.origin, to: r.to || r.destination, weight_kg: r.weight_kg, volume_m3: r.volume_m3, pieces: r.pieces || 1,
                     cargo_class: r.cargo_class || "general", ready: String(r.ready || "").slice(0, 10), customs_mode: r.customs_mode || "" };
      if (r.goods_value != null) body.goods_value = r.goods_value;
      if (r.hs_code) body.hs_code = r.hs_code;
      last = { request: { ...req, ...body, currency: quote.currency }, quote, selected: 0, body };
      render(quote, body);
    } catch (err) { showProblem(errors, err); }
  } else if (last && last.quote) render(last.quote, last.body, last.selected);
  else fitTo([[31.5, 104.7], [51.8, 19.5]], 4);
  fromInput.focus();
  return () => {};
}

function shipmentId() {
  const d = new Date();
  return `S-${d.getFullYear()}${String(d.getMonth() + 1).padStart(2, "0")}${String(d.getDate()).padStart(2, "0")}-${Math.random().toString(36).slice(2, 6).toUpperCase()}`;
}

/** "Follow this option": a shipment id, then POST /v1/shipments with the quote's request and the option. */
function followDialog(container, body, opt, index, navigate) {
  const old = document.getElementById("follow-box");
  if (old) old.remove();
  const idInput = h("input", { name: "id", id: "follow-id", value: shipmentId(), required: true, maxlength: "64" });
  const errors = h("div", { "aria-live": "assertive" });
  const go = h("button.btn", { type: "submit", id: "follow-submit" }, t("quote.follow_confirm"));
  const box = h("section.card#follow-box", {},
    h("h2", {}, t("quote.follow_title")),
    h("p.small.muted", {}, t("quote.follow_intro")),
    h("form", { on: { submit: async (e) => {
      e.preventDefault();
      go.disabled = true; errors.replaceChildren();
      const tag = (opt.tags || []).find((x) => ["cheapest", "fastest", "greenest"].includes(x));
      const payload = { id: idInput.value.trim(), from: body.from, to: body.to, weight_kg: body.weight_kg, volume_m3: body.volume_m3,
                        pieces: body.pieces, ready: body.ready, cargo_class: body.cargo_class, option: index + 1 };
      if (body.customs_mode) payload.customs_mode = body.customs_mode;
      if (tag) payload.tag = tag;
      try {
        const shp = await api("/v1/shipments", { method: "POST", body: payload });
        navigate(`#/shipments/${encodeURIComponent(shp.id)}`);
      } catch (err) { showProblem(errors, err); go.disabled = false; }
    } } }, field("quote.shipment_id", idInput), errors, h("div.row", {}, go,
      h("button.btn.secondary", { type: "button", on: { click: () => box.remove() } }, t("common.cancel")))));
  container.prepend(box);
  idInput.focus();
  box.scrollIntoView({ block: "nearest" });
}
