// Sign in: e-mail and password (OAuth2 password flow, POST /v1/token) or an organisation's API key.

import { signIn } from "../api.js";
import { t } from "../i18n.js";
import { h, field, showProblem } from "../ui.js";

export const layout = "no-map";

export function mount(panel, { query, refreshSession }) {
  const errors = h("div", { "aria-live": "assertive" });
  let mode = "password";
  const email = h("input", { name: "email", type: "email", autocomplete: "username", id: "signin-email" });
  const password = h("input", { name: "password", type: "password", autocomplete: "current-password", id: "signin-password" });
  const key = h("input", { name: "key", type: "password", autocomplete: "off", placeholder: "cbk_…", id: "signin-key" });
  const remember = h("input", { type: "checkbox", name: "remember" });
  const pwFields = h("div", {}, field("auth.email", email), field("auth.password", password));
  const keyFields = h("div", { hidden: true }, field("auth.apikey", key, t("auth.apikey_hint")));
  const tabButton = (id, label) => h("button", { type: "button", role: "tab", id: `tab-${id}`, "aria-selected": String(mode === id),
    on: { click: () => { mode = id; pwFields.hidden = id !== "password"; keyFields.hidden = id !== "key";
      tabs.querySelectorAll("button").forEach((b) => b.setAttribute("aria-selected", String(b.id === `tab-${id}`))); } } }, label);
  const tabs = h("div.tabs", { role: "tablist" }, tabButton("password", t("auth.with_password")), tabButton("key", t("auth.with_key")));
  const submit = h("button.btn.block", { type: "submit", id: "signin-submit" }, t("auth.signin"));
  const form = h("form", { on: { submit: async (e) => {
    e.preventDefault();
    submit.disabled = true;
    errors.replaceChildren();
    try {
      await signIn(mode === "key" ? { key: key.value, remember: remember.checked }
                                  : { email: email.value, password: password.value, remember: remember.checked });
      await refreshSession(query.get("next"));
    } catch (err) {
      showProblem(errors, err);
    } finally { submit.disabled = false; }
  } } }, tabs, pwFields, keyFields, h("label.check", {}, remember, t("auth.remember")), errors, submit);
  panel.append(h("div.signin", {}, h("section.card", {}, h("h1", {}, t("auth.title")), h("p.muted", {}, t("auth.intro")), form)));
  email.focus();
}
