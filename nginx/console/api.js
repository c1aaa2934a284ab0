// api.js — every call of the console goes through the public API here.
// The credential (an API key, or an end user's access and refresh tokens)
// lives in sessionStorage only: never a cookie, never the URL.
const KEY = "tessera.console.token";
const PARTS = ["", ".kind", ".label", ".refresh", ".renew"];

export const session = {
  token: () => sessionStorage.getItem(KEY),
  kind: () => sessionStorage.getItem(KEY + ".kind"),
  label: () => sessionStorage.getItem(KEY + ".label") || "",
  refreshToken: () => sessionStorage.getItem(KEY + ".refresh"),
  renewAt: () => Number(sessionStorage.getItem(KEY + ".renew")) || 0,
  set(token, kind, label) {
    sessionStorage.setItem(KEY, token);
    sessionStorage.setItem(KEY + ".kind", kind);
    sessionStorage.setItem(KEY + ".label", label || "");
  },
  // An end user's session answer (sign-in or refresh): the pair of tokens
  // and when to exchange them, by this browser's clock: a minute before
  // the access token expires, or a quarter of its life for short ones.
  setTokens(s) {
    const life = s.expires_in * 1000;
    sessionStorage.setItem(KEY, s.access_token);
    sessionStorage.setItem(KEY + ".refresh", s.refresh_token);
    sessionStorage.setItem(KEY + ".renew", String(Date.now() + life - Math.min(60000, life / 4)));
  },
  clear() {
    clearTimeout(refreshTimer);
    for (const p of PARTS) sessionStorage.removeItem(KEY + p);
  },
};

// An end user's access token is exchanged for a new pair (POST
// /v1/auth/refresh, the token still valid as the bearer) once its renewal
// time has come: before a call would send it, and by a timer while the tab
// stays open.  A refused refresh (the session revoked or over) signs the
// console out.
let refreshing = null;
let refreshTimer = 0;

export function fresh() {
  if (session.kind() !== "user" || !session.refreshToken() || Date.now() < session.renewAt())
    return Promise.resolve();
  if (!refreshing) refreshing = refresh().finally(() => (refreshing = null));
  return refreshing;
}

async function refresh() {
  let res, json = null;
  try {
    res = await fetch("/v1/auth/refresh", { method: "POST", headers: headers({ "Content-Type": "application/json" }),
      body: JSON.stringify({ refresh_token: session.refreshToken() }) });
    json = await res.json();
  } catch (e) {
    if (!res) throw new ApiError(0, { error: { code: "NETWORK", message: "The API is unreachable: " + e.message } });
  }
  if (!res.ok || !json || !json.success) {
    if (res.status === 401) window.dispatchEvent(new CustomEvent("tessera:unauthorized"));
    throw new ApiError(res.status, json);
  }
  session.setTokens(json.data);
  keepFresh();
}

// Arms the timer that refreshes an end user's tokens ahead of expiry.
export function keepFresh() {
  clearTimeout(refreshTimer);
  if (session.kind() !== "user" || !session.refreshToken()) return;
  const wait = Math.max(1000, session.renewAt() - Date.now() + 500);
  refreshTimer = setTimeout(() => fresh().catch(() => {}), wait);
}

// An error answered by the API: its code, message and the field it names.
export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || "HTTP " + status);
    this.status = status;
    this.code = e.code || "HTTP_" + status;
    this.details = e.details;
    this.error = e; // secure delete: dependencies and confirm_token are here
    this.field = e.details && e.details.field;
    this.requestId = body && body.request_id;
  }
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {}))
    if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? "?" + s : "";
}

export function headers(extra) {
  const h = { Accept: "application/json", ...extra };
  const t = session.token();
  if (t) h.Authorization = "Bearer " + t;
  return h;
}

// call("GET", "/v1/object-types") → {data, headers, status}; throws ApiError.
export async function call(method, path, body, opts = {}) {
  await fresh();
  const h = headers(opts.headers);
  let payload;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    h["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path + query(opts.query), { method, headers: h, body: payload });
  } catch (e) {
    throw new ApiError(0, { error: { code: "NETWORK", message: "The API is unreachable: " + e.message } });
  }
  let json = null;
  if (res.status !== 204) {
    try {
      json = await res.json();
    } catch {
      json = null;
    }
  }
  if (!res.ok || (json && json.success === false)) {
    if (res.status === 401 && !opts.signIn) window.dispatchEvent(new CustomEvent("tessera:unauthorized"));
    throw new ApiError(res.status, json);
  }
  return { data: json ? json.data : null, headers: res.headers, status: res.status };
}

export const api = async (method, path, body, opts) => (await call(method, path, body, opts)).data;

// An upload with progress (fetch has no upload progress): multipart POST.
export async function upload(path, form, onProgress) {
  await fresh();
  return new Promise((resolve, reject) => {
    const x = new XMLHttpRequest();
    x.open("POST", path);
    const t = session.token();
    if (t) x.setRequestHeader("Authorization", "Bearer " + t);
    x.setRequestHeader("Accept", "application/json");
    x.upload.onprogress = (e) => e.lengthComputable && onProgress && onProgress(e.loaded / e.total);
    x.onerror = () => reject(new ApiError(0, { error: { code: "NETWORK", message: "The upload failed" } }));
    x.onload = () => {
      let json = null;
      try {
        json = JSON.parse(x.responseText);
      } catch {
        json = null;
      }
      if (x.status >= 200 && x.status < 300 && json && json.success) resolve(json.data);
      else reject(new ApiError(x.status, json));
    };
    x.send(form);
  });
}

// Server-sent events through fetch (EventSource cannot send the bearer):
// calls onEvent({event, id, data}) until the returned controller aborts.
export function stream(path, onEvent, onState) {
  const ctl = new AbortController();
  (async () => {
    try {
      await fresh();
      const res = await fetch(path, { headers: headers({ Accept: "text/event-stream" }), signal: ctl.signal });
      if (!res.ok) {
        let body = null;
        try {
          body = await res.json();
        } catch {
          body = null;
        }
        throw new ApiError(res.status, body);
      }
      onState && onState("open");
      const reader = res.body.getReader();
      const dec = new TextDecoder();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true }).replace(/\r\n/g, "\n");
        let i;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const ev = { event: "message", id: "", data: "" };
          for (const line of block.split("\n")) {
            const m = /^([a-z]+): ?(.*)$/.exec(line);
            if (!m) continue;
            if (m[1] === "data") ev.data += (ev.data ? "\n" : "") + m[2];
            else if (m[1] === "event" || m[1] === "id") ev[m[1]] = m[2];
          }
          if (ev.data) onEvent(ev);
        }
      }
      onState && onState("closed");
    } catch (e) {
      if (e.name !== "AbortError") onState && onState("error", e);
    }
  })();
  return ctl;
}
