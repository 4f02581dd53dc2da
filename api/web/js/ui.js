// Small DOM helpers shared by the views: element builder, problems, progress, formatting bits.

import { t, tv } from "./i18n.js";

/** h("div.card#id", {attrs, on: {click}}, children...) -> HTMLElement */
export function h(spec, attrs = {}, ...children) {
  if (attrs === null || typeof attrs !== "object" || attrs instanceof Node || Array.isArray(attrs)) {
    children.unshift(attrs);
    attrs = {};
  }
  const [, tag = "div", rest = ""] = spec.match(/^([a-z0-9]*)(.*)$/i);
  const el = document.createElement(tag || "div");
  for (const part of rest.match(/[.#][^.#]+/g) || []) {
    if (part[0] === ".") el.classList.add(part.slice(1)); else el.id = part.slice(1);
  }
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "on") for (const [ev, f] of Object.entries(v)) el.addEventListener(ev, f);
    else if (k === "style" && typeof v === "object") Object.assign(el.style, v);
    else if (k === "html") el.innerHTML = v;
    else if (k in el && !["list", "form", "for"].includes(k) && typeof v !== "string") el[k] = v;
    else el.setAttribute(k === "className" ? "class" : k, v === true ? "" : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** A labelled form field: <label class=field><span>label</span><input ...></label>. */
export function field(labelKey, control, hint) {
  return h("label.field", {}, h("span", {}, t(labelKey)), control, hint ? h("small.muted", {}, hint) : null);
}

export function select(name, options, value, attrs = {}) {
  return h("select", { name, ...attrs }, options.map(([v, label]) => h("option", { value: v, selected: String(v) === String(value) }, label)));
}

/** The problem box: the API error's title and detail in plain words (field errors listed). */
export function problemBox(err) {
  if (err && err.name === "AbortError") return null;
  const title = err && err.status === 0 ? t("error.network") : (err && err.title) || t("error.unknown");
  const lines = [];
  if (err && err.detail) lines.push(err.detail);
  for (const e of (err && err.errors) || []) {
    const where = e.field || (e.loc && e.loc.join(".")) || e.pointer || (e.row !== undefined ? `row ${e.row}` : "");
    lines.push(`${where ? where + ": " : ""}${e.message || e.msg || e.detail || JSON.stringify(e)}`);
  }
  if (!lines.length && err && !err.title) lines.push(String(err && err.message ? err.message : err));
  return h("div.problem", { role: "alert" }, h("strong", {}, title), lines.length ? h("p", {}, lines.join("\n")) : null);
}

export function showProblem(container, err) {
  container.replaceChildren();
  const box = problemBox(err);
  if (box) container.append(box);
  else if (err && err.name !== "AbortError") console.warn(err);
}

export function progressBar(fraction) {
  const bar = h("div", { style: { width: `${Math.round(Math.max(0, Math.min(1, fraction || 0)) * 100)}%` } });
  return h("div.progress", { role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": String(Math.round((fraction || 0) * 100)) }, bar);
}

/** A mode as a coloured badge with its name (Road / 公路 ...). */
export function modeBadge(mode) {
  return h(`span.mode.${mode}`, { title: tv("mode", mode) }, tv("mode", mode));
}

export function statusPill(status) {
  const s = String(status || "");
  const cls = s === "delivered" || s === "succeeded" ? "ok" : s === "failed" ? "bad" : s.startsWith("at:") || s === "running" ? "warn" : "";
  const label = s.startsWith("at:") ? t("status.at", { node: s.slice(3) }) : tv("status", s);
  return h(`span.pill${cls ? "." + cls : ""}`, {}, label);
}

export function card(title, ...children) {
  return h("section.card", {}, title ? h("h2", {}, title) : null, ...children);
}

export function debounce(f, ms) {
  let timer;
  return (...a) => { clearTimeout(timer); timer = setTimeout(() => f(...a), ms); };
}

/** A table that folds into one card per row on a phone (table.stack in app.css): every cell is given its
 * column's heading as data-label, shown before the value when the heading row is hidden. */
export function stacked(table) {
  const heads = [...table.querySelectorAll("thead th")].map((th) => th.textContent);
  table.classList.add("stack");
  for (const tr of table.querySelectorAll("tbody tr")) {
    [...tr.children].forEach((td, i) => {
      if (!heads[i] || td.hasAttribute("colspan")) return;
      td.dataset.label = heads[i];
      if (heads[i].length > 15) td.classList.add("long-label"); // two lines: the cell keeps their height
    });
  }
  return table;
}
