// settings.js — Settings: auth config, governance, branding (each a form
// made from the document the API answers, saving only what changed), and
// usage with the plan's limits.
import { api, ApiError } from "./api.js";
import { h, form, table, say, errorText } from "./ui.js";

const SECTIONS = [
  { id: "auth", title: "Auth configuration", path: "/v1/auth-config", method: "POST",
    keys: ["providers", "passkeys", "oauth", "require_email_verification", "password_policy", "site_url", "redirect_urls", "email_templates", "branding"] },
  { id: "governance", title: "Governance", path: "/v1/governance", method: "PATCH",
    keys: ["audit_retention_days", "session_duration_secs", "access_token_ttl_secs", "password_min_length", "ip_allowlist", "files_keep_versions"] },
  { id: "branding", title: "Branding", path: "/v1/branding", method: "PATCH",
    keys: ["brand_name", "logo_url", "favicon_url", "primary_color", "secondary_color", "footer_text", "custom_css", "custom_domain"] },
];

export async function render(main) {
  main.append(h("h1", {}, "Settings"));
  const usage = h("section", { class: "card", "aria-labelledby": "usage-h" }, h("h2", { id: "usage-h" }, "Usage and plan limits"));
  main.append(usage);
  api("GET", "/v1/usage").then((u) => usage.append(usageTable(u)), (e) => usage.append(h("p", { class: "err" }, errorText(e))));
  const mail = h("section", { class: "card", "aria-labelledby": "mail-h" }, h("h2", { id: "mail-h" }, "Mail inbox (development)"));
  main.append(mail);
  inbox(mail);
  for (const s of SECTIONS) {
    const box = h("section", { class: "card", "aria-labelledby": "set-" + s.id }, h("h2", { id: "set-" + s.id }, s.title));
    main.append(box);
    try {
      box.append(settingsForm(s, await api("GET", s.path)));
    } catch (e) {
      box.append(h("p", { class: "err", role: "alert" }, errorText(e)));
    }
  }
}

// RFC 2047 words (=?UTF-8?B?…?=) and quoted-printable text, as mail
// clients show them.
function bytesText(bytes, charset) {
  try {
    return new TextDecoder(charset || "utf-8").decode(bytes);
  } catch {
    return new TextDecoder().decode(bytes);
  }
}
const qpBytes = (s) => {
  const out = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === "=" && /^[0-9A-Fa-f]{2}$/.test(s.slice(i + 1, i + 3))) {
      out.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else out.push(...new TextEncoder().encode(s[i]));
  }
  return new Uint8Array(out);
};
export const decodeWords = (s) => (s || "").replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_, cs, enc, txt) =>
  bytesText(enc.toUpperCase() === "B" ? Uint8Array.from(atob(txt), (c) => c.charCodeAt(0)) : qpBytes(txt.replace(/_/g, " ")), cs));
export function mailText(raw) {
  const split = (msg) => {
    const i = msg.indexOf("\r\n\r\n");
    return i < 0 ? [msg, ""] : [msg.slice(0, i), msg.slice(i + 4)];
  };
  let [head, body] = split(raw);
  const boundary = /boundary="?([^";\r\n]+)"?/i.exec(head);
  if (boundary) {
    const parts = body.split("--" + boundary[1]).map(split);
    const plain = parts.find(([h]) => /content-type:\s*text\/plain/i.test(h)) || parts[1] || ["", ""];
    [head, body] = plain;
  }
  if (/content-transfer-encoding:\s*quoted-printable/i.test(head)) body = bytesText(qpBytes(body.replace(/=\r\n/g, "")));
  else if (/content-transfer-encoding:\s*base64/i.test(head)) body = bytesText(Uint8Array.from(atob(body.replace(/\s+/g, "")), (c) => c.charCodeAt(0)));
  return body.replace(/\r\n/g, "\n");
}

// The development mail inbox (GET /v1/dev/mail): what the file driver
// wrote for this tenant; 404 when the stack has it off.
async function inbox(box) {
  let page;
  try {
    page = await api("GET", "/v1/dev/mail", undefined, { query: { limit: 50 } });
  } catch (e) {
    box.append(h("p", { class: "muted" }, e.status === 404 ? e.message : errorText(e)));
    return;
  }
  const shown = h("div", { "aria-live": "polite" });
  box.append(table([
    { label: "Date", cell: (m) => m.date || "" },
    { label: "To", cell: (m) => m.to || "" },
    { label: "Subject", cell: (m) => decodeWords(m.subject) },
    { label: "Actions", cell: (m) => h("button", { type: "button", class: "secondary", "aria-label": "Open " + decodeWords(m.subject),
      onclick: async (e) => {
        try {
          const full = await api("GET", "/v1/dev/mail/" + encodeURIComponent(m.id));
          shown.replaceChildren(h("h3", {}, decodeWords(full.subject)), h("pre", { id: "mail-text" }, mailText(full.raw)),
            h("details", {}, h("summary", {}, "Raw message"), h("pre", {}, full.raw)));
        } catch (err) {
          say(errorText(err));
        }
      } }, "Open") },
  ], page.messages, { label: "Mail inbox", empty: "No mail yet." }), h("p", { class: "muted" }, page.total + " messages"), shown);
}

function usageTable(u) {
  const rows = [];
  const walk = (prefix, v) => {
    if (v && typeof v === "object" && !Array.isArray(v)) for (const [k, x] of Object.entries(v)) walk(prefix ? prefix + "." + k : k, x);
    else rows.push([prefix, Array.isArray(v) ? JSON.stringify(v) : String(v)]);
  };
  walk("", u);
  return h("table", { "aria-label": "Usage" }, h("tbody", {}, rows.map(([k, v]) => h("tr", {}, h("th", { scope: "row" }, k), h("td", {}, v)))));
}

// One control per member: checkbox, number, text, or JSON for the nested.
function settingsForm(s, doc) {
  const kinds = {};
  const fields = s.keys.map((k) => {
    const v = doc ? doc[k] : undefined;
    if (typeof v === "boolean") return (kinds[k] = "bool"), { name: k, label: k, type: "checkbox", value: v };
    if (typeof v === "number") return (kinds[k] = "number"), { name: k, label: k, type: "number", value: v };
    if (v && typeof v === "object") return (kinds[k] = "json"), { name: k, label: k + " (JSON)", type: "textarea", value: JSON.stringify(v, null, 2) };
    return (kinds[k] = "text"), { name: k, label: k, value: v ?? "" };
  });
  const original = {};
  return form({
    label: s.title, submit: "Save " + s.title.toLowerCase(), reset: false, fields,
    onSubmit: async (values, el) => {
      const body = {};
      for (const k of s.keys) {
        const raw = values[k];
        let v = raw;
        if (kinds[k] === "number") v = raw === "" ? null : Number(raw);
        else if (kinds[k] === "json") {
          try {
            v = JSON.parse(raw);
          } catch {
            throw new ApiError(400, { error: { code: "INVALID_JSON", message: k + " is not valid JSON", details: { field: k } } });
          }
        } else if (kinds[k] === "text" && raw === "") v = doc && doc[k] === null ? null : undefined;
        if (v === undefined) continue;
        if (JSON.stringify(v) !== JSON.stringify(doc ? doc[k] : undefined)) body[k] = v;
      }
      if (!Object.keys(body).length) return say("Nothing changed");
      const saved = await api(s.method, s.path, body);
      Object.assign(doc || original, saved || body);
      say(s.title + " saved");
    },
  });
}
