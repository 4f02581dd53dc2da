// Shipments: the organisation's shipments (search, status, ETA, delay) and one shipment's page (track
// on the map, milestones, ETA against plan, alerts, trackers), updated live while open: server-sent events
// (GET /v1/shipments/{id}/events, read with fetch() so that the credential goes in a header), polling when
// the stream cannot be had.

import { api, streamEvents } from "../api.js";
import { drawOption, overlay, fitTo, loadNetwork, MODE_COLOR } from "../map.js";
import { t, tv, nodeName, fmtDateTime, fmtNumber } from "../i18n.js";
import { h, field, showProblem, statusPill, debounce } from "../ui.js";

export let layout = "";
const POLL_MS = 2500;

export async function mount(panel, ctx) {
  const id = ctx.args[0];
  return id ? shipmentPage(panel, id, ctx) : listPage(panel, ctx);
}

function delayPill(hours) {
  if (hours === null || hours === undefined) return h("span.muted", {}, "—");
  const cls = hours > 24 ? "bad" : hours > 2 ? "warn" : "ok";
  const text = Math.abs(hours) < 1 ? t("ship.on_time") : hours > 0 ? t("ship.late_h", { h: fmtNumber(hours, 0) }) : t("ship.early_h", { h: fmtNumber(-hours, 0) });
  return h(`span.pill.${cls}`, {}, text);
}

async function listPage(panel, { navigate }) {
  const net = await loadNetwork();
  const q = h("input", { type: "search", id: "ship-search", placeholder: t("ship.search_ph"), autocomplete: "off" });
  const status = h("select", { id: "ship-status" }, ["", "planned", "in_transit", "at", "delivered"].map((s) => h("option", { value: s }, s ? tv("status", s) : t("ship.all"))));
  const body = h("tbody");
  const errors = h("div");
  const count = h("span.small.muted");
  let items = [];
  const draw = () => {
    const text = q.value.trim().toLowerCase();
    const shown = items.filter((s) => (!status.value || s.status === status.value || (status.value === "at" && s.status.startsWith("at:")))
      && (!text || `${s.id} ${s.origin} ${s.destination} ${nodeName(net.nodes[s.origin])} ${nodeName(net.nodes[s.destination])}`.toLowerCase().includes(text)));
    count.textContent = t("ship.count", { n: shown.length, total: items.length });
    body.replaceChildren(...shown.map((s) => h("tr.link", { tabindex: "0", "data-id": s.id,
      on: { click: () => navigate(`#/shipments/${encodeURIComponent(s.id)}`), keydown: (e) => { if (e.key === "Enter") navigate(`#/shipments/${encodeURIComponent(s.id)}`); } } },
      h("td", {}, h("a", { href: `#/shipments/${encodeURIComponent(s.id)}` }, s.id)),
      h("td", {}, `${nodeName(net.nodes[s.origin]) || s.origin} → ${nodeName(net.nodes[s.destination]) || s.destination}`),
      h("td", {}, statusPill(s.status)),
      h("td", {}, fmtDateTime(s.eta_p50)),
      h("td", {}, s.last_seen ? fmtDateTime(s.last_seen) : "—"))));
    if (!shown.length) body.append(h("tr", {}, h("td.empty", { colspan: "5" }, items.length ? t("ship.none_match") : t("ship.none"))));
    const pts = [];
    overlay().clearLayers();
    for (const s of shown) {
      const a = net.nodes[s.origin]; const b = net.nodes[s.destination];
      if (!a || !b) continue;
      window.L.polyline([[a.lat, a.lon], [b.lat, b.lon]], { color: "#0b2545", weight: 2, opacity: 0.5, dashArray: "4 6" }).addTo(overlay());
      window.L.circleMarker([b.lat, b.lon], { radius: 6, color: "#fff", weight: 2, fillColor: "#f2a541", fillOpacity: 1 }).bindTooltip(s.id).addTo(overlay());
      pts.push([a.lat, a.lon], [b.lat, b.lon]);
    }
    if (pts.length) fitTo(pts, 4);
  };
  q.addEventListener("input", debounce(draw, 120));
  status.addEventListener("change", draw);
  panel.append(h("section.card", {}, h("h1", {}, t("ship.title")),
    h("div.grid2", {}, field("ship.search", q), field("ship.status", status)), count, errors,
    h("div.table-wrap", {}, h("table", { id: "ship-table" }, h("thead", {}, h("tr", {},
      ["ship.id", "ship.route", "ship.status", "ship.eta", "ship.last_seen"].map((k) => h("th", {}, t(k))))), body)),
    h("p", {}, h("a.btn.small", { href: "#/quote" }, t("ship.new")))));
  const load = async () => {
    try {
      const page = await api("/v1/shipments?limit=200");
      items = page.items || [];
      draw();
    } catch (err) { showProblem(errors, err); }
  };
  await load();
  const timer = setInterval(load, 10000);
  return () => clearInterval(timer);
}

/** The planned route as legs between consecutive milestones (a network service joining them when there
 * is one, for its drawn line: sea lanes, rail through its stops; a border stop continues the leg before). */
function plannedLegs(s, net) {
  const ms = s.milestones || [];
  const legs = [];
  const order = { rail: 0, sea: 1, road: 2, air: 3 };
  const nonVia = ms.map((m, i) => (m.via ? null : i)).filter((i) => i !== null);
  for (let i = 0; i + 1 < ms.length; i++) {
    const a = ms[i].node; const b = ms[i + 1].node;
    let found;
    if (ms[i].via || ms[i + 1].via) {
      // inside a through service (border stops): the service from the stop before to the stop after
      const start = ms[[...nonVia].reverse().find((k) => k <= i)].node;
      const end = ms[nonVia.find((k) => k >= i + 1)].node;
      const through = net.services.find((f) => f.properties.from === start && f.properties.to === end && (f.properties.stops || "").split("|").includes(ms[i].via ? a : b));
      legs.push({ from: a, to: b, mode: through ? through.properties.mode : "rail", service: null, carrier: through ? through.properties.carrier : "" });
      continue;
    }
    found = net.services.filter((f) => f.properties.from === a && f.properties.to === b)
      .sort((x, y) => (order[x.properties.mode] ?? 9) - (order[y.properties.mode] ?? 9))[0];
    legs.push({ from: a, to: b, mode: found ? found.properties.mode : "rail", service: found ? found.properties.id : null, carrier: found ? found.properties.carrier : "" });
  }
  return legs;
}

function milestoneList(s, nodes) {
  return h("ol.timeline", { id: "milestones" }, (s.milestones || []).map((m) => {
    const done = Boolean(m.actual_arrive || m.actual_depart);
    return h(`li${done ? ".done" : ""}${m.via ? ".via" : ""}`, { "data-node": m.node, "data-done": String(done) },
      h("strong", {}, nodeName(nodes[m.node]) || m.name || m.node), m.via ? h("span.muted", {}, ` · ${t("ship.via")}`) : null,
      h("div.t", {}, `${t("ship.planned")}: ${fmtDateTime(m.planned_arrive || m.planned_depart)}`),
      m.actual_arrive ? h("div.t", {}, `${t("ship.arrived")}: ${fmtDateTime(m.actual_arrive)}`) : null,
      m.actual_depart ? h("div.t", {}, `${t("ship.departed")}: ${fmtDateTime(m.actual_depart)}`) : null);
  }));
}

async function shipmentPage(panel, id, { navigate }) {
  const net = await loadNetwork();
  const nodes = net.nodes;
  const head = h("div");
  const live = h("span.pill.ok", { id: "live", "data-mode": "poll", "data-events": "0" }, `● ${t("ship.live")}`);
  const errors = h("div", { "aria-live": "assertive" });
  const body = h("div", { id: "shipment-body" });
  panel.append(h("p", {}, h("a", { href: "#/shipments" }, `← ${t("ship.back")}`)), head, errors, body);
  let routeDrawn = false;
  let trackFitted = false;
  let trackLayer = null;
  let stopped = false;
  let streamed = []; // positions that arrived by the stream since the last full refresh
  let trackerBox = null; // built once: a refresh updates its list only
  const trackers = (s) => {
    if (trackerBox) trackerBox.update(s);
    else trackerBox = trackerCard(s, refresh);
    return trackerBox;
  };

  const render = (s, track) => {
    head.replaceChildren(h("section.card", {},
      h("h1", {}, h("span", { id: "shipment-title" }, s.id), " ", live),
      h("p.muted", {}, `${nodeName(nodes[s.origin]) || s.origin} → ${nodeName(nodes[s.destination]) || s.destination}`),
      h("div.grid2", {},
        h("div.stat", {}, h("b", { id: "shipment-status" }, statusPill(s.status)), h("span", {}, t("ship.status"))),
        h("div.stat", {}, h("b", {}, delayPill(s.eta && s.eta.delay_hours)), h("span", {}, t("ship.vs_plan")))),
      h("div.kpis", {},
        h("div.kpi", {}, h("b", { id: "eta-p50" }, fmtDateTime(s.eta && s.eta.p50, { withOffset: false })), h("span", {}, t("ship.eta_p50"))),
        h("div.kpi", {}, h("b", {}, fmtDateTime(s.eta && s.eta.planned_p50, { withOffset: false })), h("span", {}, t("ship.planned_p50"))),
        h("div.kpi", {}, h("b", {}, s.last_seen ? fmtDateTime(s.last_seen, { withOffset: false }) : "—"), h("span", {}, t("ship.last_seen")))),
      h("p.small.muted", {}, t("ship.times_note"))));
    const alerts = (s.alerts || []);
    body.replaceChildren(...[
      alerts.length ? h("section.card", { id: "alerts" }, h("h2", {}, t("ship.alerts")), alerts.map((a) => h("div.problem", {},
        h("strong", {}, `${tv("alert", a.kind)}${a.ended ? "" : " · " + t("ship.open")}`), h("p", {}, `${a.detail} — ${fmtDateTime(a.started)}`)))) : null,
      h("section.card", {}, h("h2", {}, t("ship.milestones")), milestoneList(s, nodes)),
      h("section.card", {}, h("h2", {}, t("ship.events")), (s.events || []).length
        ? h("ul.legs", { id: "events" }, [...s.events].reverse().slice(0, 30).map((e) => h("li", {}, h("span.pill", {}, tv("event", e.kind)),
          h("span", {}, `${nodeName(nodes[e.node]) || e.node} · ${fmtDateTime(e.ts)}`))))
        : h("p.muted", {}, t("ship.no_events"))),
      trackers(s).el].filter(Boolean));
    if (!routeDrawn) {
      drawOption(s.option || { legs: plannedLegs(s, net) }, { fit: !(track && track.features && track.features.length) });
      routeDrawn = true;
    }
    drawTrack(s, track);
  };

  const drawTrack = (s, track) => {
    const L = window.L;
    if (trackLayer) trackLayer.remove();
    trackLayer = L.layerGroup().addTo(overlay());
    const line = (track && track.features || []).find((f) => f.properties && f.properties.kind === "track");
    const known = line && line.geometry ? line.geometry.coordinates.map(([lon, lat]) => [lat, lon]) : [];
    const pts = known.concat(streamed.map((p) => [p.lat, p.lon]));
    if (pts.length) {
      L.polyline(pts, { color: "#0b2545", weight: 7, opacity: 0.9 }).addTo(trackLayer);
      L.polyline(pts, { color: "#f2a541", weight: 4, opacity: 1 }).addTo(trackLayer);
      if (!trackFitted && pts.length > 1) {
        fitTo(pts, 8); // follow the shipment: where it has been
        trackFitted = true;
      }
    }
    for (const p of s.last || []) {
      if (p.lat === null || p.lon === null || p.lat === undefined) continue;
      L.marker([p.lat, p.lon], { icon: L.divIcon({ className: "truck-icon", iconSize: [18, 18] }), title: p.device, keyboard: false })
        .bindTooltip(`${p.device} · ${fmtDateTime(p.ts)}${p.speed_kmh !== null && p.speed_kmh !== undefined ? " · " + fmtNumber(p.speed_kmh) + " km/h" : ""}`).addTo(trackLayer);
    }
    document.getElementById("map").dataset.trackPoints = String(pts.length);
  };
  let lastDoc = null;
  let lastTrack = null;

  async function refresh() {
    try {
      const [s, track] = await Promise.all([api(`/v1/shipments/${encodeURIComponent(id)}`), api(`/v1/shipments/${encodeURIComponent(id)}/track`).catch(() => null)]);
      if (stopped) return;
      errors.replaceChildren();
      streamed = [];
      lastDoc = s; lastTrack = track;
      render(s, track);
      liveText();
    } catch (err) {
      if (!stopped) showProblem(errors, err);
      if (err.status === 404) stopped = true;
    }
  }
  function liveText() {
    const how = live.dataset.mode === "sse" ? t("ship.live_push") : t("ship.live_poll");
    live.textContent = `● ${t("ship.live")} · ${how} · ${new Date().toLocaleTimeString()}`;
    live.className = `pill ${live.dataset.mode === "sse" ? "ok" : "warn"}`;
  }
  await refresh();
  // polling runs only while the stream is not live (before it opens, while it reconnects, after it failed)
  let timer = null;
  const poll = (on) => {
    if (on && !timer) timer = setInterval(() => { if (!stopped && document.visibilityState === "visible") refresh(); }, POLL_MS);
    if (!on && timer) { clearInterval(timer); timer = null; }
  };
  poll(true);
  let pending = null;
  const soon = (ms) => { clearTimeout(pending); pending = setTimeout(() => { if (!stopped) refresh(); }, ms); };
  const aborter = new AbortController();
  streamEvents(`/v1/shipments/${encodeURIComponent(id)}/events`, {
    signal: aborter.signal,
    onState: (state) => {
      if (stopped) return;
      live.dataset.mode = state === "live" ? "sse" : "poll";
      poll(state !== "live");
      liveText();
    },
    onEvent: ({ event, data }) => {
      if (stopped) return;
      live.dataset.events = String(Number(live.dataset.events) + (event === "ready" ? 0 : 1));
      if (event === "ready") { soon(0); return; } // what was stored between the page's load and the stream
      if (event === "position" && lastDoc) {
        streamed.push(data); // drawn at once; the page's figures follow with the next refresh
        const dev = (lastDoc.last || []).find((p) => p.device === data.device);
        if (dev) Object.assign(dev, { lat: data.lat, lon: data.lon, ts: data.ts, speed_kmh: data.speed_kmh });
        drawTrack(lastDoc, lastTrack);
        liveText();
        soon(1500);
        return;
      }
      if (event === "gone") { aborter.abort(); refresh(); return; }
      soon(200); // a milestone, the ETA or an alert: the shipment again
    },
  });
  return () => { stopped = true; aborter.abort(); poll(false); clearTimeout(pending); };
}

/**
 * The shipment's trackers and a form to bind one (its credential and MQTT topic shown once).
 * Built once per page: a refresh updates the list of trackers only, so what the user is typing
 * and an open credential stay on screen while live events refresh the shipment.
 */
function trackerCard(s, refresh) {
  const idInput = h("input", { name: "device", id: "tracker-id", placeholder: "TRK-1", required: true, maxlength: "64" });
  const errors = h("div");
  const out = h("div", { id: "tracker-credential" });
  const list = h("div");
  const update = (doc) => {
    const devices = doc.devices || [];
    list.replaceChildren(devices.length ? h("p", {}, devices.map((d) => h("span.pill", {}, d))) : h("p.muted", {}, t("ship.no_trackers")));
  };
  const el = h("section.card", { id: "trackers" }, h("h2", {}, t("ship.trackers")), list,
    h("form", { on: { submit: async (e) => {
      e.preventDefault(); errors.replaceChildren();
      try {
        const d = await api("/v1/devices", { method: "POST", body: { id: idInput.value.trim(), shipment: s.id } });
        out.replaceChildren(h("div.card", { style: { background: "#f6f9fc" } },
          h("strong", {}, t("ship.credential_once")),
          d.credential ? h("dl.small", {}, h("dt", {}, t("ship.device")), h("dd", { "data-device": d.id }, d.id),
            h("dt", {}, t("ship.key")), h("dd", {}, h("code", { id: "device-key" }, d.credential.key)),
            h("dt", {}, t("ship.topic")), h("dd", {}, h("code", {}, `cbec/v1/devices/${d.id}/position`))) : h("p", {}, t("ship.rebound"))));
        refresh();
      } catch (err) { showProblem(errors, err); }
    } } }, h("div.row", {}, field("ship.bind_tracker", idInput), h("button.btn.small", { type: "submit", id: "tracker-bind", style: { alignSelf: "end" } }, t("ship.bind")))),
    errors, out);
  update(s);
  return { el, update };
}
