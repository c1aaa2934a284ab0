// users.js — Users and access: end users (search, ban, delete, MFA,
// roles), roles and their permissions, the policy simulator, and API keys
// (create with scopes, allowlist and expiry; rotate; revoke; the secret
// shown once).
import { api, ApiError } from "./api.js";
import { h, form, table, act, say, short, when, errorText } from "./ui.js";

const SCOPES = ["read", "write", "schema", "files", "auth", "ai", "*"];
const reload = () => window.dispatchEvent(new HashChangeEvent("hashchange"));

export async function render(main) {
  main.append(h("h1", {}, "Users and access"));
  const keys = h("section", { class: "card", "aria-labelledby": "keys-h" });
  const users = h("section", { class: "card", "aria-labelledby": "users-h" });
  const roles = h("section", { class: "card", "aria-labelledby": "roles-h" });
  const sim = h("section", { class: "card", "aria-labelledby": "sim-h" });
  main.append(keys, users, roles, sim);
  const guard = (box, p) => p.catch((e) => box.append(h("p", { class: "err", role: "alert" }, errorText(e))));
  await Promise.all([guard(keys, apiKeys(keys)), guard(users, endUsers(users)), guard(roles, roleList(roles)),
    guard(sim, simulator(sim))]);
}

function secretBox(token, what) {
  return h("div", { class: "card", role: "region", "aria-label": "New secret" },
    h("p", {}, what + " — shown this once; copy it now:"),
    h("p", { class: "secret", id: "new-secret" }, token),
    h("button", { type: "button", class: "secondary", onclick: (e) => navigator.clipboard.writeText(token).then(() => say("Copied"), () => say("Copy it by hand")) }, "Copy"));
}

async function apiKeys(box) {
  const keys = await api("GET", "/v1/keys");
  const shown = h("div", { "aria-live": "polite" });
  box.append(h("h2", { id: "keys-h" }, "API keys"), shown, table([
    { label: "Label", cell: (k) => k.label },
    { label: "Prefix", cell: (k) => h("code", {}, k.prefix) },
    { label: "Scopes", cell: (k) => (k.scopes || []).join(" ") },
    { label: "Allowlist", cell: (k) => (k.ip_allowlist || []).join(", ") },
    { label: "Expires", cell: (k) => when(k.expires_at) || "never" },
    { label: "Last used", cell: (k) => when(k.last_used_at) },
    { label: "Actions", cell: (k) => h("div", { class: "row" },
      h("button", { type: "button", class: "secondary", "aria-label": "Rotate key " + k.label, dataset: { rotate: k.id },
        onclick: (e) => confirm("Rotate " + k.label + "? The old key stops working.") && act(e.target, async () => {
          const r = await api("POST", "/v1/keys/" + k.id + "/rotate", {});
          shown.replaceChildren(secretBox(r.token, "New key for " + (r.new_key ? r.new_key.label : k.label)));
          shown.querySelector("button").focus();
        }, "Key rotated") }, "Rotate"),
      h("button", { type: "button", class: "danger", "aria-label": "Revoke key " + k.label,
        onclick: (e) => confirm("Revoke " + k.label + "?") && act(e.target, async () => {
          await api("DELETE", "/v1/keys/" + k.id);
          e.target.closest("tr").remove();
        }, "Key revoked") }, "Revoke")) },
  ], keys, { label: "API keys" }),
  h("h3", {}, "New key"),
  form({
    label: "New API key", submit: "Create key",
    fields: [{ name: "label", label: "Label", required: true, placeholder: "CI deploy" },
      h("fieldset", {}, h("legend", {}, "Scopes"), SCOPES.map((s) => h("label", { class: "inline" },
        h("input", { type: "checkbox", name: "scope:" + s, checked: s === "read" }), s))),
      { name: "ip_allowlist", label: "IP allowlist", placeholder: "203.0.113.0/24, 2001:db8::/32", hint: "Comma-separated addresses or CIDR blocks; empty: any." },
      { name: "expires_at", label: "Expires", type: "datetime-local" }],
    onSubmit: async (v) => {
      const b = { label: v.label, scopes: SCOPES.filter((s) => v["scope:" + s]) };
      if (v.ip_allowlist.trim()) b.ip_allowlist = v.ip_allowlist.split(",").map((s) => s.trim()).filter(Boolean);
      if (v.expires_at) b.expires_at = new Date(v.expires_at).toISOString();
      const r = await api("POST", "/v1/keys", b);
      shown.replaceChildren(secretBox(r.token, "Key " + r.key.label));
    },
  }));
}

async function endUsers(box) {
  const body = h("div");
  const load = async (v = {}) => {
    const page = await api("GET", "/v1/users", undefined, { query: { search: v.search, role: v.role, limit: 50 } });
    body.replaceChildren(table([
      { label: "Email / phone", cell: (u) => u.email || u.phone || short(u.id) },
      { label: "Role", cell: (u) => u.role },
      { label: "Verified", cell: (u) => (u.email_verified ? "yes" : "no") },
      { label: "Banned", cell: (u) => (u.banned ? "yes" : "") },
      { label: "Last sign-in", cell: (u) => when(u.last_sign_in_at) },
      { label: "Actions", cell: (u) => h("div", { class: "row" },
        h("button", { type: "button", class: "secondary", "aria-label": "Details of " + (u.email || u.id),
          onclick: (e) => act(e.target, () => details(e.target.closest("tr"), u)) }, "Details"),
        h("button", { type: "button", class: "secondary", "aria-label": (u.banned ? "Unban " : "Ban ") + (u.email || u.id),
          onclick: (e) => act(e.target, async () => {
            await api("PATCH", "/v1/users/" + u.id, { banned: !u.banned });
            await load(v);
          }, u.banned ? "Unbanned" : "Banned") }, u.banned ? "Unban" : "Ban"),
        h("button", { type: "button", class: "danger", "aria-label": "Delete user " + (u.email || u.id),
          onclick: (e) => act(e.target, async () => {
            try {
              await api("DELETE", "/v1/users/" + u.id);
            } catch (err) {
              const d = err instanceof ApiError && err.error;
              if (!(d && d.confirm_token)) throw err;
              if (!confirm("This user owns data; delete it all?")) return;
              await api("DELETE", "/v1/users/" + u.id, undefined, { query: { force: "true", confirm_token: d.confirm_token } });
            }
            await load(v);
          }, "User deleted") }, "Delete")) },
    ], page.users || [], { label: "End users", empty: "No users match." }), h("p", { class: "muted" }, (page.total ?? 0) + " users"));
  };
  box.append(h("h2", { id: "users-h" }, "End users"), form({
    label: "Search users", submit: "Search", class: "row", reset: false,
    fields: [{ name: "search", label: "Search", placeholder: "email, phone or id" }, { name: "role", label: "Role" }],
    onSubmit: load,
  }), body);
  await load();
}

// A user's sessions (revocable), MFA factors and roles, under their row.
async function details(tr, u) {
  const q = { user_id: u.id };
  const [sessions, mfa, roles] = await Promise.all([
    api("GET", "/v1/auth/sessions", undefined, { query: q }).catch((x) => x),
    api("GET", "/v1/users/" + u.id + "/mfa").catch((x) => x),
    api("GET", "/v1/users/" + u.id + "/roles").catch((x) => x)]);
  const part = (v, f) => (v instanceof Error ? h("p", { class: "err" }, errorText(v)) : f(v));
  const cell = h("td", { colspan: 6 });
  const refresh = () => details(tr, u).catch((x) => say(errorText(x)));
  cell.append(h("h4", {}, "Sessions"), part(sessions, (list) => h("div", {},
    table([{ label: "Started", cell: (s) => when(s.created_at) }, { label: "Last active", cell: (s) => when(s.last_active_at) },
      { label: "Address", cell: (s) => s.ip || "" }, { label: "Client", cell: (s) => s.user_agent || "" },
      { label: "Level", cell: (s) => s.aal || "" },
      { label: "Actions", cell: (s) => h("button", { type: "button", class: "danger", "aria-label": "Revoke session " + s.id,
        onclick: (e) => act(e.target, async () => {
          await api("DELETE", "/v1/auth/sessions/" + s.id, undefined, { query: q });
          refresh();
        }, "Session revoked") }, "Revoke") }], list, { label: "Sessions", empty: "No active sessions." }),
    list.length ? h("button", { type: "button", class: "danger", onclick: (e) => act(e.target, async () => {
      await api("DELETE", "/v1/auth/sessions", undefined, { query: q });
      refresh();
    }, "Signed out everywhere") }, "Sign out everywhere") : null)),
  h("h4", {}, "MFA factors"), part(mfa, (list) => table([{ label: "Type", cell: (f) => f.factor_type || f.type || "" },
    { label: "Status", cell: (f) => f.status || (f.verified ? "verified" : "unverified") },
    { label: "Added", cell: (f) => when(f.created_at) }], Array.isArray(list) ? list : list.factors || [],
  { label: "MFA factors", empty: "No second factor." })),
  h("h4", {}, "Roles"), part(roles, (list) => h("p", {}, (Array.isArray(list) ? list : list.roles || [])
    .map((r) => r.name || r).join(", ") || "none")));
  const next = tr.nextElementSibling;
  if (next && next.classList.contains("details")) next.remove();
  tr.after(h("tr", { class: "details" }, cell));
}

async function roleList(box) {
  const roles = await api("GET", "/v1/roles");
  box.append(h("h2", { id: "roles-h" }, "Roles"), table([
    { label: "Name", cell: (r) => r.name },
    { label: "Description", cell: (r) => r.description || "" },
    { label: "Permissions", cell: (r) => (r.permissions || []).join(", ") },
    { label: "Users", cell: (r) => String(r.user_count ?? "") },
  ], roles, { label: "Roles", empty: "No roles: every end user is governed by policies alone." }),
  h("h3", {}, "New role"), form({
    label: "New role", submit: "Create role",
    fields: [{ name: "name", label: "Name", required: true }, { name: "description", label: "Description" },
      { name: "permissions", label: "Permissions", placeholder: "objects:read, files:read", hint: "Comma-separated." }],
    onSubmit: async (v) => {
      const b = { name: v.name, permissions: v.permissions.split(",").map((s) => s.trim()).filter(Boolean) };
      if (v.description) b.description = v.description;
      await api("POST", "/v1/roles", b);
      reload();
    },
  }));
}

// "Can this user read this row?": POST /v1/policies/simulate.
async function simulator(box) {
  const out = h("div", { "aria-live": "polite" });
  const types = await api("GET", "/v1/object-types").catch(() => []);
  box.append(h("h2", { id: "sim-h" }, "Policy simulator"),
    h("p", { class: "muted" }, "Would this policy let this user see these rows? Nothing is stored."), form({
      label: "Policy simulator", submit: "Simulate", reset: false,
      fields: [{ name: "object_type_id", label: "Object type", type: "select", options: types.map((t) => [t.id, t.name]) },
        { name: "policy", label: "Policy (JSON)", type: "textarea",
          value: '{"action": "select", "condition_json": {"property": "created_by", "operator": "eq", "value": {"auth": "uid"}}}' },
        { name: "auth_context", label: "Auth context (JSON)", type: "textarea", value: '{"uid": "usr_1", "role": "authenticated"}' },
        { name: "sample_data", label: "Rows (JSON array)", type: "textarea", value: '[{"created_by": "usr_1"}, {"created_by": "usr_2"}]' }],
      onSubmit: async (v) => {
        const parse = (name) => {
          try {
            return JSON.parse(v[name]);
          } catch {
            throw new ApiError(400, { error: { code: "INVALID_JSON", message: name + " is not valid JSON", details: { field: name } } });
          }
        };
        const r = await api("POST", "/v1/policies/simulate", { object_type_id: v.object_type_id, policy: parse("policy"),
          auth_context: parse("auth_context"), sample_data: parse("sample_data") });
        out.replaceChildren(h("p", {}, r.allowed_count + " of " + r.total + " rows allowed" +
          (r.role_applies === false ? " (the policy's role is not this user's)" : "")),
        table([{ label: "Row", cell: (x) => String(x.index) },
          { label: "Allowed", cell: (x) => h("span", { class: x.allowed ? "ok" : "err" }, x.allowed ? "yes" : "no") },
          { label: "Why", cell: (x) => x.reason || "" }], r.results || [], { label: "Simulation", empty: "" }));
      },
    }), out);
}
