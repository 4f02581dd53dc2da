// The map: Leaflet over a bundled Natural Earth base (offline), an optional OpenStreetMap layer when
// online, the network (nodes by kind, services by mode, planned dashed, sea legs along sea lanes), a
// legend, and overlay layers the views draw on (a quote's route, a shipment's track, warehouses...).

import { api } from "./api.js";
import { t, tv, nodeName, fmtNumber } from "./i18n.js";

export const MODE_COLOR = { road: "#8d6e63", rail: "#1565c0", air: "#c2185b", sea: "#00838f" };
export const KIND_STYLE = {
  origin_zone: { color: "#f2a541", r: 7 }, bonded_zone: { color: "#f2a541", r: 6 },
  rail_terminal: { color: "#1565c0", r: 5 }, airport: { color: "#c2185b", r: 4 }, seaport: { color: "#00838f", r: 5 },
  border_crossing: { color: "#6b7280", r: 4 }, overseas_warehouse: { color: "#7b2cbf", r: 6 }, market: { color: "#0b2545", r: 5 },
};
const LABEL_ZOOM = 4;

let map = null;
let network = null; // {nodes: {id: props+lat/lon}, services: [feature]}
let networkPromise = null;
const layers = { base: null, osm: null, services: null, nodes: null, labels: null, overlay: null };
let legendCtl = null;
let drawnResolve;
export const mapDrawn = new Promise((ok) => { drawnResolve = ok; });

/** The network (GeoJSON of /v1/network), fetched once. */
export function loadNetwork() {
  if (!networkPromise) {
    networkPromise = api("/v1/network").then((fc) => {
      const nodes = {};
      const services = [];
      for (const f of fc.features) {
        const p = f.properties;
        if (p.feature === "node") nodes[p.id] = { ...p, lon: f.geometry.coordinates[0], lat: f.geometry.coordinates[1] };
        else services.push(f);
      }
      network = { nodes, services, asOf: fc.properties && fc.properties.data_as_of };
      return network;
    });
  }
  return networkPromise;
}

export function getMap() { return map; }

/** Create the map once (in #map), with the base layers, network and legend. */
export async function initMap() {
  if (map) return map;
  const L = window.L;
  map = L.map("map", { worldCopyJump: true, minZoom: 2, maxZoom: 12, zoomSnap: 0.5, preferCanvas: true, attributionControl: true,
                       zoomControl: false }).setView([38, 60], 3);
  L.control.zoom({ position: "topright" }).addTo(map);
  map.createPane("base"); map.getPane("base").style.zIndex = 150;
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution('<a href="https://www.naturalearthdata.com/" target="_blank" rel="noopener">Natural Earth</a> (public domain)');
  layers.overlay = L.layerGroup().addTo(map);
  const base = fetch("/web/vendor/naturalearth/countries-50m.json").then((r) => r.json()).then((topo) => {
    // land filled without outlines (the rings cut at the antimeridian would draw as lines across the map),
    // then the borders between countries as one mesh
    const countries = window.topojson.feature(topo, topo.objects.countries);
    const mesh = window.topojson.mesh(topo, topo.objects.countries, (a, b) => a !== b);
    const borders = { type: "MultiLineString", coordinates: mesh.coordinates.flatMap((line) => {
      const parts = [[]]; // split where a border jumps across the antimeridian
      line.forEach((p, i) => { if (i && Math.abs(p[0] - line[i - 1][0]) > 90) parts.push([]); parts[parts.length - 1].push(p); });
      return parts.filter((part) => part.length > 1);
    }) };
    layers.base = L.layerGroup([
      L.geoJSON(countries, { pane: "base", interactive: false, style: { stroke: false, fillColor: "#f7f4ec", fillOpacity: 1 } }),
      L.geoJSON(borders, { pane: "base", interactive: false, style: { color: "#b4c3d3", weight: 0.7, fill: false } }),
    ]).addTo(map);
  });
  const net = loadNetwork().then(drawNetwork);
  addLegend();
  map.on("zoomend", updateLabels);
  await Promise.all([base, net]);
  map.getContainer().dataset.ready = "network";
  map.getContainer().dataset.readyMs = String(Math.round(performance.now())); // since navigation (bench/web_bench.py)
  drawnResolve();
  return map;
}

const MODE_WEIGHT = { road: 1.3, rail: 2.4, air: 1.1, sea: 2.2 };
const MODE_OPACITY = { road: 0.5, rail: 0.75, air: 0.28, sea: 0.75 };

function serviceStyle(p) {
  return { color: MODE_COLOR[p.mode] || "#4f7cac", weight: MODE_WEIGHT[p.mode] || 1.5, opacity: baseOpacity(p),
           dashArray: p.planned ? "6 6" : null };
}

function baseOpacity(p) { return p.planned ? 0.9 : MODE_OPACITY[p.mode] || 0.5; }

function arc(a, b) {
  // air services: a gentle arc between the airports (drawn, not flown)
  const [x1, y1] = a; const [x2, y2] = b;
  const mx = (x1 + x2) / 2; const my = (y1 + y2) / 2;
  const dx = x2 - x1; const dy = y2 - y1;
  const cx = mx - dy * 0.15; const cy = my + dx * 0.15;
  const pts = [];
  for (let i = 0; i <= 24; i++) {
    const s = i / 24;
    pts.push([(1 - s) * (1 - s) * y1 + 2 * (1 - s) * s * cy + s * s * y2, (1 - s) * (1 - s) * x1 + 2 * (1 - s) * s * cx + s * s * x2]);
  }
  return pts;
}

export function serviceLatLngs(f) {
  const c = f.geometry.coordinates;
  if (f.properties.mode === "air" && c.length === 2) return arc(c[0], c[1]);
  return c.map(([lon, lat]) => [lat, lon]);
}

function serviceTip(p, group = [p]) {
  const n = network.nodes;
  const more = group.length > 1 ? `<br>${group.slice(0, 4).map((g) => g.carrier || g.id).join("<br>")}${group.length > 4 ? "<br>…" : ""}` : "";
  return `<b>${tv("mode", p.mode)} · ${group.length > 1 ? t("map.n_services", { n: group.length }) : p.carrier || p.id}</b>${more}<br>${nodeName(n[p.from])} → ${nodeName(n[p.to])}` +
    `<br>${fmtNumber(p.distance_km)} km · p50 ${fmtNumber(p.transit_p50_h / 24, 1)} ${t("unit.days")}` +
    (p.stops ? `<br>${t("map.via")}: ${p.stops.split("|").map((s) => nodeName(n[s])).join(", ")}` : "") +
    (p.planned ? `<br><i>${t("map.planned")}</i>` : "");
}

function drawNetwork(net) {
  const L = window.L;
  layers.services = L.layerGroup();
  // one line per (mode, from, to, planned): parallel services of several carriers are drawn once
  const groups = new Map();
  for (const f of net.services) {
    const p = f.properties;
    const key = `${p.mode}|${p.from}|${p.to}|${p.planned}|${p.stops || ""}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(f);
  }
  for (const group of groups.values()) {
    const f = group[0];
    const line = L.polyline(serviceLatLngs(f), serviceStyle(f.properties));
    line.bindTooltip(() => serviceTip(f.properties, group.map((g) => g.properties)), { sticky: true });
    line.feature = f;
    layers.services.addLayer(line);
  }
  layers.services.addTo(map);
  layers.nodes = L.layerGroup();
  layers.labels = L.layerGroup();
  const seen = new Set();
  for (const n of Object.values(net.nodes)) {
    const st = KIND_STYLE[n.kind] || { color: "#333", r: 4 };
    const m = L.circleMarker([n.lat, n.lon], { radius: st.r, color: "#fff", weight: 1.5, fillColor: st.color, fillOpacity: 1,
                                               dashArray: n.status === "planned" ? "2 2" : null });
    m.bindTooltip(() => `<b>${nodeName(n)}</b><br>${tv("kind", n.kind)} · ${n.country}${n.status === "planned" ? " · " + t("map.planned") : ""}`);
    layers.nodes.addLayer(m);
    const key = `${n.lat.toFixed(2)},${n.lon.toFixed(2)}`;
    if (!seen.has(key) && !["airport", "border_crossing"].includes(n.kind)) {
      seen.add(key);
      const label = L.tooltip({ permanent: true, direction: "right", className: "node-label", offset: [6, 0], interactive: false })
        .setLatLng([n.lat, n.lon]).setContent(shortName(n));
      label.node = n;
      layers.labels.addLayer(label);
    }
  }
  layers.nodes.addTo(map);
  updateLabels();
}

/** A map label: the name without its explanation in brackets ("Hamburg", not "Hamburg (rail terminal and market)"). */
export function shortName(n) {
  const name = nodeName(n);
  const short = name.replace(/\s*[(（].*$/, "").replace(/^Shared overseas warehouse\s+/, "WH ");
  return short || name;
}

function updateLabels() {
  if (!layers.labels) return;
  if (map.getZoom() >= LABEL_ZOOM) layers.labels.addTo(map); else layers.labels.remove();
}

/** Re-render the language-dependent parts (labels, legend). */
export function relabel() {
  if (layers.labels) layers.labels.eachLayer((l) => l.setContent(shortName(l.node)));
  if (legendCtl) { legendCtl.remove(); addLegend(); }
}

function addLegend() {
  const L = window.L;
  legendCtl = L.control({ position: "bottomright" });
  legendCtl.onAdd = () => {
    const div = L.DomUtil.create("div", "legend");
    div.setAttribute("role", "group");
    div.setAttribute("aria-label", t("map.legend"));
    L.DomEvent.disableClickPropagation(div);
    const modes = Object.entries(MODE_COLOR).map(([m, c]) => `<div><span class="sw" style="border-color:${c}"></span>${tv("mode", m)}</div>`).join("");
    const kinds = ["origin_zone", "rail_terminal", "seaport", "airport", "border_crossing", "overseas_warehouse", "market"]
      .map((k) => `<div><span class="dot" style="background:${KIND_STYLE[k].color}"></span>${tv("kind", k)}</div>`).join("");
    // folded on a phone (the map is small there), open on a wide screen
    div.innerHTML = `<details${map.getSize().x > 600 ? " open" : ""}><summary>${t("map.legend")}</summary>` +
      `${modes}<div><span class="sw dash" style="border-color:#555"></span>${t("map.planned")}</div>` +
      `<details><summary>${t("map.nodes")}</summary>${kinds}</details>` +
      `<label><input type="checkbox" id="toggle-network" checked> ${t("map.show_network")}</label>` +
      `<label><input type="checkbox" id="toggle-osm"${layers.osm && map.hasLayer(layers.osm) ? " checked" : ""}${navigator.onLine ? "" : " disabled"}> ${t("map.osm")}</label></details>`;
    div.querySelector("#toggle-network").addEventListener("change", (e) => showNetwork(e.target.checked));
    div.querySelector("#toggle-osm").addEventListener("change", (e) => toggleOsm(e.target.checked));
    return div;
  };
  legendCtl.addTo(map);
}

function toggleOsm(on) {
  const L = window.L;
  if (on && !layers.osm) {
    layers.osm = L.tileLayer("https://tile.openstreetmap.org/{z}/{x}/{y}.png", {
      maxZoom: 12, attribution: '© <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>' });
  }
  if (on) layers.osm.addTo(map); else if (layers.osm) layers.osm.remove();
  if (layers.base) layers.base.eachLayer((l) => l.setStyle({ fillOpacity: on ? 0 : 1 }));
}

/** Show or dim the network under a view's own drawing. */
export function showNetwork(on = true, { dim = false } = {}) {
  if (!layers.services) return;
  if (on) { layers.services.addTo(map); layers.nodes.addTo(map); } else { layers.services.remove(); layers.nodes.remove(); }
  layers.services.eachLayer((l) => l.setStyle({ opacity: dim ? 0.12 : baseOpacity(l.feature.properties) }));
  const box = document.getElementById("toggle-network");
  if (box) box.checked = on;
}

/** The overlay group the current view draws into (cleared on every view change). */
export function overlay() { return layers.overlay; }

export function clearOverlay() {
  if (layers.overlay) layers.overlay.clearLayers();
  showNetwork(true);
}

/** Fit the map to some [lat, lon] points (with padding). */
export function fitTo(latlngs, maxZoom = 6) {
  if (!map || !latlngs.length) return;
  map.invalidateSize();
  const wide = map.getSize().x > 700; // keep what is fitted clear of the legend (bottom right) and of a floating panel
  const floating = wide && document.getElementById("layout").classList.contains("map-only") ? 380 : 40;
  map.fitBounds(window.L.latLngBounds(latlngs), { paddingTopLeft: [floating, 40], paddingBottomRight: [wide ? 230 : 40, wide ? 60 : 40], maxZoom, animate: false });
}

/** The drawn line of a service (sea lane, rail through its stops...), or the straight line between two nodes. */
export function legLatLngs(leg) {
  const f = network && network.services.find((s) => s.properties.id === leg.service);
  if (f) {
    const pts = serviceLatLngs(f);
    const from = network.nodes[leg.from];
    if (from && pts.length && Math.abs(pts[0][0] - from.lat) + Math.abs(pts[0][1] - from.lon) > 0.5) pts.reverse();
    return pts;
  }
  const a = network && network.nodes[leg.from]; const b = network && network.nodes[leg.to];
  return a && b ? [[a.lat, a.lon], [b.lat, b.lon]] : [];
}

/** Draw an option's legs on the overlay (modes coloured, transfer points marked); returns the points. */
export function drawOption(option, { fit = true, clear = true, labels = true } = {}) {
  const L = window.L;
  if (clear) overlay().clearLayers();
  showNetwork(true, { dim: true });
  const all = [];
  for (const leg of option.legs || []) {
    const pts = legLatLngs(leg);
    if (!pts.length) continue;
    all.push(...pts);
    L.polyline(pts, { color: "#fff", weight: 8, opacity: 0.9 }).addTo(overlay());
    L.polyline(pts, { color: MODE_COLOR[leg.mode] || "#333", weight: 4.5, opacity: 1, className: "route-leg" })
      .bindTooltip(`${tv("mode", leg.mode)} · ${leg.carrier || leg.service}`, { sticky: true }).addTo(overlay());
  }
  const stops = [];
  (option.legs || []).forEach((leg, i) => { if (i === 0) stops.push(leg.from); stops.push(leg.to); });
  stops.forEach((id, i) => {
    const n = network && network.nodes[id];
    if (!n) return;
    const end = i === 0 || i === stops.length - 1;
    L.circleMarker([n.lat, n.lon], { radius: end ? 8 : 5, color: "#0b2545", weight: 2, fillColor: end ? "#f2a541" : "#fff", fillOpacity: 1 })
      .bindTooltip(shortName(n), { permanent: end && labels, direction: "top", className: end && labels ? "wh-label" : "" }).addTo(overlay());
  });
  if (fit) fitTo(all);
  map.getContainer().dataset.routeLegs = String((option.legs || []).length);
  return all;
}

export function networkNodes() { return network ? network.nodes : {}; }
