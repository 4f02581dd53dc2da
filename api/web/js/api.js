// The public API as the application sees it: credentials, JSON calls, RFC 9457 problems.

const STORE = "cbec.credential";

/** An API error: the problem's title and detail (RFC 9457), its status and field errors. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.title || `HTTP ${status}`);
    this.status = status;
    this.title = problem.title || `HTTP ${status}`;
    this.detail = problem.detail || "";
    this.errors = problem.errors || [];
  }
}

/** The stored credential: {kind: "token"|"key", value, expires?} or null. */
export function credential() {
  try {
    const c = JSON.parse(sessionStorage.getItem(STORE) || localStorage.getItem(STORE) || "null");
    if (c && c.expires && Date.now() > c.expires) { signOut(); return null; }
    return c;
  } catch { return null; }
}

export function signOut() {
  sessionStorage.removeItem(STORE);
  localStorage.removeItem(STORE);
}

/** The credential's header (Authorization: Bearer, or X-API-Key), for calls that are not JSON. */
export function authHeaders() {
  const c = credential();
  if (!c) return {};
  return c.kind === "key" ? { "X-API-Key": c.value } : { Authorization: `Bearer ${c.value}` };
}

async function problemOf(res) {
  const type = res.headers.get("content-type") || "";
  if (type.includes("json")) {
    try { return await res.json(); } catch { /* fall through */ }
  }
  return { title: res.statusText || `HTTP ${res.status}`, detail: "" };
}

/** fetch + JSON; throws ApiError with the problem's title/detail on a non-2xx answer. */
export async function api(path, { method = "GET", body, form, headers = {}, signal } = {}) {
  const init = { method, headers: { Accept: "application/json, application/problem+json", ...authHeaders(), ...headers }, signal };
  if (form) {
    init.body = new URLSearchParams(form);
    init.headers["Content-Type"] = "application/x-www-form-urlencoded";
  } else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, { title: "network", detail: String(err.message || err) });
  }
  if (res.status === 204) return null;
  if (!res.ok) throw new ApiError(res.status, await problemOf(res));
  const out = await res.json();
  const location = res.headers.get("Location");
  if (location && out && typeof out === "object" && !Array.isArray(out)) Object.defineProperty(out, "_location", { value: location });
  return out;
}

/** Sign in with e-mail and password (OAuth2 password form) or an API key; returns /v1/orgs/me. */
export async function signIn({ email, password, key, remember }) {
  const store = remember ? localStorage : sessionStorage;
  signOut();
  if (key) {
    store.setItem(STORE, JSON.stringify({ kind: "key", value: key.trim() }));
  } else {
    const tok = await api("/v1/token", { method: "POST", form: { username: email, password } });
    store.setItem(STORE, JSON.stringify({ kind: "token", value: tok.access_token, expires: Date.now() + (tok.expires_in - 30) * 1000 }));
  }
  try {
    return await api("/v1/orgs/me");
  } catch (err) {
    signOut();
    throw err;
  }
}

/** Poll a job-like resource until it has finished; onProgress(record) after every answer. */
export async function pollJob(path, onProgress, { interval = 700, signal } = {}) {
  for (;;) {
    const rec = await api(path, { signal });
    onProgress && onProgress(rec);
    if (["succeeded", "failed", "cancelled"].includes(rec.status)) return rec;
    await new Promise((ok, no) => {
      const t = setTimeout(ok, interval);
      signal && signal.addEventListener("abort", () => { clearTimeout(t); no(new DOMException("aborted", "AbortError")); }, { once: true });
    });
  }
}

/** Download a file the API answers (CSV, XLSX, a statement) with the credential's header, saved as ``filename``. */
export async function download(path, filename) {
  let res;
  try {
    res = await fetch(path, { headers: { ...authHeaders() } });
  } catch (err) {
    throw new ApiError(0, { title: "network", detail: String(err.message || err) });
  }
  if (!res.ok) throw new ApiError(res.status, await problemOf(res));
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
  return blob;
}

/**
 * Server-sent events read with fetch(): EventSource cannot send the credential's header, and a key in the URL
 * would end up in logs. Calls onEvent({event, data, id}) per event (data parsed as JSON); reconnects after the
 * server's ``retry`` with ``Last-Event-ID`` (so nothing is missed) until ``signal`` aborts; onState("live" |
 * "reconnecting" | "failed", err) says how it goes. A 4xx answer (the shipment is gone, the credential expired)
 * stops it: the caller falls back to polling.
 */
export async function streamEvents(path, { onEvent, onState = () => {}, signal } = {}) {
  let lastId = null;
  let retry = 3000;
  let failures = 0;
  while (!signal || !signal.aborted) {
    try {
      const headers = { Accept: "text/event-stream", ...authHeaders() };
      if (lastId) headers["Last-Event-ID"] = lastId;
      const res = await fetch(path, { headers, signal, cache: "no-store" });
      if (!res.ok) {
        const err = new ApiError(res.status, await problemOf(res));
        if (res.status >= 400 && res.status < 500) { onState("failed", err); return; }
        throw err;
      }
      failures = 0;
      onState("live");
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      let ev = { event: "message", data: [], id: null };
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let nl;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl).replace(/\r$/, "");
          buf = buf.slice(nl + 1);
          if (line === "") {
            if (ev.id !== null) lastId = ev.id;
            if (ev.data.length) {
              let data = ev.data.join("\n");
              try { data = JSON.parse(data); } catch { /* plain text */ }
              onEvent({ event: ev.event, data, id: lastId });
            }
            ev = { event: "message", data: [], id: null };
            continue;
          }
          if (line.startsWith(":")) continue; // a comment: the server's heartbeat
          const colon = line.indexOf(":");
          const name = colon < 0 ? line : line.slice(0, colon);
          const val = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
          if (name === "event") ev.event = val;
          else if (name === "data") ev.data.push(val);
          else if (name === "id") ev.id = val;
          else if (name === "retry" && /^\d+$/.test(val)) retry = Number(val);
        }
      }
    } catch (err) {
      if (err.name === "AbortError" || (signal && signal.aborted)) return;
      failures += 1;
      onState(failures > 5 ? "failed" : "reconnecting", err);
      if (failures > 5) return;
    }
    if (signal && signal.aborted) return;
    onState("reconnecting");
    await new Promise((ok) => setTimeout(ok, retry));
  }
}
