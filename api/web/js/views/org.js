// The organisation (admins): its users and API keys; add a user, create or revoke a key.

import { api } from "../api.js";
import { t, tv, fmtDateTime } from "../i18n.js";
import { h, field, select, showProblem, card } from "../ui.js";

export const layout = "no-map";

export async function mount(panel, { session }) {
  const me = session.me;
  const errors = h("div");
  const users = h("tbody"); const keys = h("tbody"); const created = h("div", { id: "key-created" });
  panel.append(h("h1", {}, `${me.org.name} · ${tv("orgkind", me.org.kind)}`), errors);
  const load = async () => {
    try {
      const [u, k] = await Promise.all([api("/v1/users?limit=100"), api("/v1/keys?limit=100")]);
      users.replaceChildren(...(u.items || []).map((x) => h("tr", {}, h("td", {}, x.name), h("td", {}, x.email), h("td", {}, tv("role", x.role)), h("td", {}, x.disabled ? t("org.disabled") : t("org.active")))));
      if (!(u.items || []).length) users.append(h("tr", {}, h("td.empty", { colspan: "4" }, t("org.no_users"))));
      keys.replaceChildren(...(k.items || []).map((x) => h("tr", {}, h("td", {}, x.name || x.id), h("td", {}, tv("role", x.role)), h("td", {}, x.state),
        h("td", {}, fmtDateTime(x.last_used)),
        h("td", {}, x.state === "active" && x.id !== me.key_id ? h("button.btn.small.secondary", { type: "button", on: { click: async () => {
          try { await api(`/v1/keys/${x.id}`, { method: "DELETE" }); load(); } catch (err) { showProblem(errors, err); } } } }, t("org.revoke")) : null))));
    } catch (err) { showProblem(errors, err); }
  };
  const email = h("input", { type: "email", id: "user-email", required: true }); const name = h("input", { id: "user-name", required: true });
  const role = select("role", ["member", "admin", ...(me.org.kind === "office" ? ["analyst"] : [])].map((r) => [r, tv("role", r)]), "member", { id: "user-role" });
  const password = h("input", { type: "password", id: "user-password", required: true, autocomplete: "new-password" });
  const keyName = h("input", { id: "key-name", required: true, placeholder: "ERP integration" });
  const keyRole = select("role", ["member", "admin"].map((r) => [r, tv("role", r)]), "member", { id: "key-role" });
  panel.append(h("div.grid-auto", { style: { gridTemplateColumns: "repeat(auto-fit, minmax(320px, 1fr))" } },
    card(t("org.users"), h("div.table-wrap", {}, h("table", {}, h("thead", {}, h("tr", {}, ["org.name", "auth.email", "org.role", "ship.status"].map((k) => h("th", {}, t(k))))), users)),
      h("form", { on: { submit: async (e) => { e.preventDefault(); errors.replaceChildren();
        try { await api("/v1/users", { method: "POST", body: { email: email.value, name: name.value, role: role.value, password: password.value } }); e.target.reset(); load(); } catch (err) { showProblem(errors, err); } } } },
        h("h3", {}, t("org.add_user")), h("div.grid2", {}, field("org.name", name), field("auth.email", email), field("org.role", role), field("auth.password", password)),
        h("button.btn.small", { type: "submit" }, t("org.add_user")))),
    card(t("org.keys"), h("div.table-wrap", {}, h("table", {}, h("thead", {}, h("tr", {}, ["org.name", "org.role", "ship.status", "org.last_used", ""].map((k) => h("th", {}, k ? t(k) : "")))), keys)),
      h("form", { on: { submit: async (e) => { e.preventDefault(); errors.replaceChildren();
        try { const k = await api("/v1/keys", { method: "POST", body: { name: keyName.value, role: keyRole.value } });
          created.replaceChildren(h("p.small", {}, `${t("ship.credential_once")} `, h("code", {}, k.key))); load(); } catch (err) { showProblem(errors, err); } } } },
        h("h3", {}, t("org.create_key")), h("div.grid2", {}, field("org.name", keyName), field("org.role", keyRole)), h("button.btn.small", { type: "submit" }, t("org.create_key")), created))));
  await load();
}
