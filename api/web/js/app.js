// The application shell: session (who is signed in), role-gated navigation, hash routes, language switch.

import { api, credential, signOut } from "./api.js";
import { initI18n, onLangChange, setLang, currentLang, t, tv } from "./i18n.js";
import { clearOverlay, initMap, getMap, relabel } from "./map.js";
import { h, showProblem } from "./ui.js";

/** Pages: who may use them (anonymous, any member, admins) and for which kinds of organisation. */
const PAGES = [
  { id: "map", path: "#/map", module: "./views/mapview.js", need: null },
  { id: "quote", path: "#/quote", module: "./views/quote.js", need: null, kinds: ["forwarder", "office", "partner"] },
  { id: "shipments", path: "#/shipments", module: "./views/shipments.js", need: "member", kinds: ["forwarder", "office", "partner"] },
  { id: "warehouses", path: "#/warehouses", module: "./views/warehouses.js", need: "member" },
  // shared warehouses: exporters book space, operators offer it, both settle (issue 19)
  { id: "offers", path: "#/offers", module: "./views/sharing.js", need: "member", kinds: ["forwarder", "partner"] },
  { id: "operator", path: "#/operator", module: "./views/sharing.js", need: "member", kinds: ["warehouse_operator"] },
  { id: "settlements", path: "#/settlements", module: "./views/sharing.js", need: "member", kinds: ["forwarder", "partner", "warehouse_operator", "office"] },
  { id: "planning", path: "#/planning", module: "./views/planning.js", need: "member", kinds: ["forwarder", "office"] },
  { id: "simulations", path: "#/simulations", module: "./views/simulations.js", need: "member", kinds: ["forwarder", "office"] },
  { id: "stats", path: "#/stats", module: "./views/stats.js", need: "member" },
  { id: "org", path: "#/org", module: "./views/org.js", need: "admin" },
];
const SIGNIN = { id: "signin", module: "./views/signin.js", need: null };
const HOME = { forwarder: "quote", warehouse_operator: "warehouses", office: "warehouses", partner: "quote" };

export const session = { me: null };
let cleanup = null;
let renderSeq = 0;

function allowed(page) {
  const me = session.me;
  if (page.need === "member" && !me) return false;
  if (page.need === "admin" && !(me && me.role === "admin")) return false;
  if (me && page.kinds && !page.kinds.includes(me.org.kind)) return false;
  return true;
}

function renderNav(active) {
  const nav = document.getElementById("nav");
  nav.replaceChildren(...PAGES.filter(allowed).map((p) =>
    h("a", { href: p.path, "aria-current": p.id === active ? "page" : null, "data-page": p.id }, t(`nav.${p.id}`))));
  const who = document.getElementById("who");
  if (session.me) {
    who.replaceChildren(
      h("span.org", {}, h("strong", { "data-testid": "org-name" }, session.me.org.name),
        h("small", {}, `${tv("role", session.me.role)} · ${tv("orgkind", session.me.org.kind)}`)),
      h("button.btn.ghost", { type: "button", id: "signout", on: { click: () => { signOut(); session.me = null; location.hash = "#/map"; } } }, t("auth.signout")));
  } else {
    who.replaceChildren(h("a.btn.ghost", { href: "#/signin", id: "signin-link" }, t("auth.signin")));
  }
}

function parseRoute() {
  const [path, query = ""] = (location.hash || "#/").slice(1).split("?");
  const [, name = "", ...rest] = path.split("/");
  return { name, args: rest.map(decodeURIComponent), query: new URLSearchParams(query) };
}

/** Navigate to the current hash: load the page's module and mount it into the panel (and map). */
async function route() {
  const seq = ++renderSeq;
  const { name, args, query } = parseRoute();
  let page = name === "signin" ? SIGNIN : PAGES.find((p) => p.id === name);
  if (!page) page = PAGES.find((p) => p.id === (session.me ? HOME[session.me.org.kind] : "map")) || PAGES[0];
  if (!allowed(page)) {
    if (!session.me) { location.hash = `#/signin?next=${encodeURIComponent(location.hash)}`; return; }
    page = PAGES[0];
  }
  document.getElementById("nav").classList.remove("open");
  renderNav(page.id);
  if (cleanup) { try { cleanup(); } catch (e) { console.warn(e); } cleanup = null; }
  clearOverlay();
  const panel = document.getElementById("panel");
  const layout = document.getElementById("layout");
  let view;
  try {
    view = await import(page.module);
  } catch (err) {
    showProblem(panel, err);
    return;
  }
  if (seq !== renderSeq) return;
  layout.className = `layout ${view.layout || ""}`;
  layout.dataset.page = page.id;
  panel.replaceChildren();
  if (view.layout !== "no-map") {
    await initMap();
    getMap().invalidateSize();
  }
  try {
    cleanup = (await view.mount(panel, { args, query, session, navigate, refreshSession: afterSignIn, page: page.id })) || null;
  } catch (err) {
    showProblem(panel, err);
  }
}

export function navigate(hash) {
  if (location.hash === hash) route(); else location.hash = hash;
}

/** Who is signed in (GET /v1/orgs/me), or nobody. */
export async function refreshSession() {
  session.me = null;
  if (!credential()) return;
  try {
    session.me = await api("/v1/orgs/me");
  } catch (err) {
    if (err.status === 401 || err.status === 403) signOut();
    else throw err;
  }
}

async function afterSignIn(next) {
  await refreshSession();
  navigate(next && next.startsWith("#/") && !next.startsWith("#/signin") ? next : `#/${session.me ? HOME[session.me.org.kind] || "map" : "map"}`);
}

async function start() {
  await initI18n();
  const lang = document.getElementById("lang");
  lang.value = currentLang();
  lang.addEventListener("change", async () => { await setLang(lang.value); });
  onLangChange(() => { relabel(); route(); });
  document.getElementById("menu-toggle").addEventListener("click", (e) => {
    const nav = document.getElementById("nav");
    nav.classList.toggle("open");
    e.currentTarget.setAttribute("aria-expanded", String(nav.classList.contains("open")));
  });
  window.addEventListener("hashchange", route);
  try { await refreshSession(); } catch (err) { console.warn(err); }
  await route();
}

start();
