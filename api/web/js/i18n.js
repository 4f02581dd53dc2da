// Languages: Simplified Chinese and English dictionaries (/web/i18n/*.json), dates in local time with the UTC offset.

const LANGS = ["en", "zh-CN"];
let lang = "en";
let dict = {};
let fallback = {};
const listeners = [];

export function currentLang() { return lang; }

function initial() {
  const saved = localStorage.getItem("cbec.lang");
  if (LANGS.includes(saved)) return saved;
  return (navigator.language || "en").toLowerCase().startsWith("zh") ? "zh-CN" : "en";
}

async function load(code) {
  const res = await fetch(`/web/i18n/${code}.json`);
  return res.ok ? res.json() : {};
}

/** Load the saved (or the browser's) language; call once before the first render. */
export async function initI18n() {
  fallback = await load("en");
  await setLang(initial(), false);
}

export async function setLang(code, notify = true) {
  lang = LANGS.includes(code) ? code : "en";
  dict = lang === "en" ? fallback : await load(lang);
  localStorage.setItem("cbec.lang", lang);
  document.documentElement.lang = lang;
  translateStatic();
  if (notify) listeners.forEach((f) => f(lang));
}

export function onLangChange(f) { listeners.push(f); }

/** The text of ``key`` in the current language, with {name} placeholders filled from ``vars``. */
export function t(key, vars = {}) {
  const s = dict[key] ?? fallback[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (_, k) => (vars[k] ?? `{${k}}`));
}

/** A known value (mode, kind, status, tag...) in words, the value itself when there is no entry. */
export function tv(group, value) {
  const key = `${group}.${value}`;
  const s = dict[key] ?? fallback[key];
  return s ?? String(value).replace(/_/g, " ");
}

function translateStatic() {
  document.querySelectorAll("[data-i18n]").forEach((e) => { e.textContent = t(e.dataset.i18n); });
  document.querySelectorAll("[data-i18n-label]").forEach((e) => { e.setAttribute("aria-label", t(e.dataset.i18nLabel)); });
  document.title = t("app.title");
}

function offset(d) {
  const m = -d.getTimezoneOffset();
  const sign = m >= 0 ? "+" : "−";
  const h = String(Math.floor(Math.abs(m) / 60)).padStart(2, "0");
  const mm = String(Math.abs(m) % 60).padStart(2, "0");
  return `UTC${sign}${h}:${mm}`;
}

/** A date-time in the browser's local time with its UTC offset, e.g. "2026-12-01 09:00 (UTC+08:00)". */
export function fmtDateTime(iso, { withOffset = true } = {}) {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const p2 = (n) => String(n).padStart(2, "0");
  const s = `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())} ${p2(d.getHours())}:${p2(d.getMinutes())}`;
  return withOffset ? `${s} (${offset(d)})` : s;
}

export function fmtDate(iso) {
  if (!iso) return "—";
  if (/^\d{4}-\d{2}-\d{2}$/.test(iso)) return iso;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

export function fmtNumber(x, digits = 0) {
  if (x === null || x === undefined || Number.isNaN(Number(x))) return "—";
  return Number(x).toLocaleString(lang, { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function fmtMoney(x, currency = "USD") {
  if (x === null || x === undefined) return "—";
  try {
    return Number(x).toLocaleString(lang, { style: "currency", currency, maximumFractionDigits: 0 });
  } catch { return `${fmtNumber(x)} ${currency}`; }
}

let zhNames = null;

/** Node id -> Simplified Chinese name (from the zh-CN dictionary), loaded once: the pickers search both languages. */
export async function chineseNodeNames() {
  if (!zhNames) {
    const zh = lang === "zh-CN" ? dict : await load("zh-CN");
    zhNames = Object.fromEntries(Object.entries(zh).filter(([k]) => k.startsWith("node.")).map(([k, v]) => [k.slice(5), v]));
  }
  return zhNames;
}

/** A node's display name in the current language (the Chinese names of the dictionary when present). */
export function nodeName(node) {
  if (!node) return "";
  const zh = lang === "zh-CN" ? dict[`node.${node.id}`] : null;
  return zh || node.name || node.id;
}

/**
 * A note or warning the server wrote ({code, params, text}: notes_detail / warnings_detail of a quote) in the
 * current language: the dictionary's template ``note.<code>`` with its params filled in, else the server's
 * English text (an unknown code, a note without one, or English).
 */
export function noteText(note) {
  if (!note || typeof note === "string") return note || "";
  const tpl = lang !== "en" && note.code ? dict[`note.${note.code}`] : null;
  if (!tpl) return note.text;
  const params = note.params || {};
  return tpl.replace(/\{(\w+)\}/g, (_, k) => (params[k] !== undefined && params[k] !== null ? String(params[k]) : `{${k}}`));
}
