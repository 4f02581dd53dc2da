// The network map: every node and service, a search to fly to a node, the counts by mode.

import { loadNetwork, getMap, fitTo } from "../map.js";
import { t, tv, nodeName, fmtDate } from "../i18n.js";
import { h, field, modeBadge } from "../ui.js";

export const layout = "map-only";

export async function mount(panel) {
  const net = await loadNetwork();
  const byMode = {};
  for (const f of net.services) byMode[f.properties.mode] = (byMode[f.properties.mode] || 0) + 1;
  const planned = net.services.filter((f) => f.properties.planned).length;
  const list = h("ul.legs", { id: "node-results" });
  const search = h("input", { type: "search", id: "node-search", placeholder: t("map.search_ph"), autocomplete: "off" });
  const nodes = Object.values(net.nodes);
  const show = () => {
    const q = search.value.trim().toLowerCase();
    list.replaceChildren(...(q ? nodes.filter((n) => `${n.id} ${n.name} ${nodeName(n)}`.toLowerCase().includes(q)).slice(0, 8) : []).map((n) =>
      h("li", {}, h("a", { href: "#/map", on: { click: (e) => { e.preventDefault(); getMap().setView([n.lat, n.lon], 7); } } },
        nodeName(n)), h("span.muted", {}, ` · ${tv("kind", n.kind)}`))));
  };
  search.addEventListener("input", show);
  panel.append(h("section.card", {},
    h("h1", {}, t("map.title")),
    h("p.muted.small", {}, t("map.intro")),
    h("div.grid2", {},
      h("div.stat", {}, h("b", { id: "node-count" }, String(nodes.length)), h("span", {}, t("map.nodes"))),
      h("div.stat", {}, h("b", { id: "service-count" }, String(net.services.length)), h("span", {}, t("map.services")))),
    h("div.row", { style: { margin: "10px 0" } }, Object.entries(byMode).map(([m, c]) => h("span.pill", {}, modeBadge(m), ` ${c}`)),
      h("span.pill", {}, `${t("map.planned")}: ${planned}`)),
    field("map.search", search), list,
    h("p.small.muted", {}, t("map.as_of", { date: fmtDate(net.asOf) })),
    h("a.btn.block", { href: "#/quote", style: { display: "block", textAlign: "center", textDecoration: "none", marginTop: "8px" } }, t("map.cta"))));
  fitTo(nodes.map((n) => [n.lat, n.lon]), 3);
}
