// The operator's partners (#/operator): the organisations that may book its "partners" offers. Everyone sees
// the list; an admin adds one by organisation id and removes one (PUT /v1/offers/partners with the whole new
// list: 404 for an unknown organisation, 422 for an invalid one, 403 for a non-admin).

import { api } from "../api.js";
import { t } from "../i18n.js";
import { h, field, showProblem } from "../ui.js";

/** The "Partners" card; it loads and redraws itself. ``names``: organisation id -> name, where known besides
 * the names the service gives with the list. */
export function partnersPanel(env, names = () => ({})) {
  const admin = env.me.role === "admin";
  const list = h("div", { id: "partners-list" }, h("span.muted", {}, "…"));
  const out = h("div", { id: "partners-problem", "aria-live": "assertive" });
  let partners = [];
  let named = {}; // organisation id -> name, as the service answered
  let loaded = false;
  const take = (doc) => {
    partners = doc.partners;
    named = Object.fromEntries((doc.organisations || []).map((o) => [o.id, o.name]));
  };

  const save = async (next, btn) => {
    out.replaceChildren();
    if (btn) btn.disabled = true;
    try {
      take(await api("/v1/offers/partners", { method: "PUT", body: { partners: next } }));
      draw();
      return true;
    } catch (err) { showProblem(out, err); return false; } finally { if (btn) btn.disabled = false; }
  };

  const draw = () => {
    const known = { ...names(), ...named };
    list.replaceChildren(partners.length
      ? h("ul.partners", {}, partners.map((id) => h("li", { "data-partner": id },
        known[id] ? [h("strong", {}, known[id]), " ", h("code.small.muted", {}, id)] : h("code", {}, id),
        admin ? h("button.btn.small.secondary", { type: "button", "data-act": "remove-partner", "aria-label": `${t("share.partner_remove")} ${id}`,
          on: { click: (e) => save(partners.filter((p) => p !== id), e.currentTarget) } }, t("share.partner_remove")) : null)))
      : h("p.muted", { id: "no-partners" }, t("share.no_partners")));
  };

  const orgInput = h("input", { id: "partner-org", name: "partner", required: true, maxlength: "64", pattern: "[A-Za-z0-9_.:\\-]+",
    placeholder: "org_…", autocomplete: "off" });
  const form = admin ? h("form.row", { id: "partner-form", on: { submit: async (e) => {
    e.preventDefault();
    const id = orgInput.value.trim();
    if (!id) return;
    if (partners.includes(id)) { orgInput.value = ""; return; }
    if (await save([...partners, id], form.querySelector("button[type=submit]"))) orgInput.value = "";
  } } }, field("share.partner_org", orgInput), h("button.btn", { type: "submit", id: "partner-add", style: { alignSelf: "end" } }, t("share.partner_add")))
    : h("p.small.muted", { id: "partners-readonly" }, t("share.partners_readonly"));

  const card = h("section.card", { id: "partners-card" }, h("h2", {}, t("share.partners")),
    h("p.small.muted", {}, t("share.partners_intro")), list, form, out);

  (async () => {
    try {
      take(await api("/v1/offers/partners"));
      loaded = true;
      draw();
    } catch (err) { showProblem(list, err); }
  })();
  return { card, redraw: () => loaded && draw() };
}
