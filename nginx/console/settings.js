// settings.js — Settings: auth config, governance, branding (each a form
// made from the document the API answers, saving only what changed), and
// usage with the plan's limits.
import { api, ApiError } from "./api.js";
import { h, form, json, say, errorText } from "./ui.js";

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
