// ui.js — small DOM helpers: elements, forms whose errors land on the field
// the API names, tables, and the status line.
import { ApiError } from "./api.js";

let uid = 0;
export const nextId = (p) => (p || "f") + "-" + ++uid;

// h("button", {type: "button", onclick}, "Save")
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k === "value") el.value = v;
    else if (k === "checked") el.checked = !!v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function say(msg) {
  const s = document.getElementById("status");
  s.textContent = msg;
  clearTimeout(say.t);
  say.t = setTimeout(() => (s.textContent = ""), 4000);
}

export const short = (id) => (id && id.length > 14 ? id.slice(0, 6) + "…" + id.slice(-6) : id || "");
export const when = (t) => (t ? new Date(t).toLocaleString() : "");

// An error block for an API error (code, message, field, request id).
export function errorText(e) {
  if (!(e instanceof ApiError)) return String(e && e.message ? e.message : e);
  return e.message + " (" + e.code + (e.field ? ", field " + e.field : "") + ")";
}

// Marks the control named by the error's field, or shows the error in box.
export function showError(formEl, box, e) {
  clearErrors(formEl);
  const field = e instanceof ApiError && e.field;
  // The control the field names, or the one holding it ("policy" for
  // "policy.condition_json", "scopes" for "scopes[2]").
  const named = field && formEl ? [...formEl.querySelectorAll("[name]")] : [];
  const ctl = named.find((c) => c.name === field) ||
    named.find((c) => field.startsWith(c.name + ".") || field.startsWith(c.name + "["));
  if (ctl) {
    const msg = h("p", { class: "err", id: nextId("err"), role: "alert", dataset: { fieldError: field } },
      e.message + (ctl.name === field ? "" : " (" + field + ")"));
    ctl.setAttribute("aria-invalid", "true");
    ctl.setAttribute("aria-describedby", msg.id);
    (ctl.closest(".field") || ctl.parentElement).append(msg);
    ctl.focus();
  } else if (box) {
    box.replaceChildren(h("p", { class: "err", role: "alert" }, errorText(e)));
  } else say(errorText(e));
}

export function clearErrors(root) {
  if (!root) return;
  root.querySelectorAll("[aria-invalid]").forEach((c) => c.removeAttribute("aria-invalid"));
  root.querySelectorAll("p.err").forEach((p) => p.remove());
}

// field({name, label, type, options, value, required, hint})
export function field(f) {
  const id = nextId("in");
  let ctl;
  if (f.type === "select")
    ctl = h("select", { id, name: f.name, required: f.required },
      (f.options || []).map((o) => {
        const [v, t] = Array.isArray(o) ? o : [o, o];
        return h("option", { value: v, selected: String(f.value) === String(v) }, t);
      }));
  else if (f.type === "textarea") ctl = h("textarea", { id, name: f.name, required: f.required, placeholder: f.placeholder }, f.value || "");
  else if (f.type === "checkbox")
    return h("div", { class: "field" }, h("label", { class: "inline", for: id },
      h("input", { id, type: "checkbox", name: f.name, checked: f.value }), f.label));
  else ctl = h("input", { id, name: f.name, type: f.type || "text", value: f.value, required: f.required,
    placeholder: f.placeholder, autocomplete: f.autocomplete || "off" });
  return h("div", { class: "field" }, h("label", { for: id }, f.label), ctl, f.hint ? h("p", { class: "muted" }, f.hint) : null);
}

// A form: fields, a submit button, errors on the named fields.  onSubmit
// gets the values ({name: string | boolean}) and may throw an ApiError.
export function form(opts) {
  const box = h("div");
  const btn = h("button", { type: "submit" }, opts.submit || "Save");
  const el = h("form", { class: opts.class || "", "aria-label": opts.label }, opts.fields.map((f) => (f instanceof Node ? f : field(f))),
    h("div", { class: "row" }, btn, opts.extra || null), box);
  el.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(el);
    box.replaceChildren();
    const values = {};
    for (const c of el.querySelectorAll("[name]")) values[c.name] = c.type === "checkbox" ? c.checked : c.value;
    btn.disabled = true;
    try {
      await opts.onSubmit(values, el);
      if (opts.reset !== false) el.reset();
    } catch (e) {
      showError(el, box, e);
    } finally {
      btn.disabled = false;
    }
  });
  return el;
}

// A table of rows: cols [{label, cell(row) → node|string}].
export function table(cols, rows, opts = {}) {
  if (!rows.length) return h("p", { class: "muted" }, opts.empty || "Nothing here yet.");
  return h("div", { class: "scroll" }, h("table", { "aria-label": opts.label },
    h("thead", {}, h("tr", {}, cols.map((c) => h("th", { scope: "col" }, c.head || c.label)))),
    h("tbody", {}, rows.map((r) => h("tr", { dataset: { id: r.id || "" } }, cols.map((c) => h("td", {}, c.cell(r))))))));
}

// Runs an action from a button: disables it, reports the error.
export async function act(btn, fn, done) {
  btn.disabled = true;
  try {
    await fn();
    if (done) say(done);
  } catch (e) {
    say(errorText(e));
  } finally {
    btn.disabled = false;
  }
}

export function json(v) {
  return h("pre", {}, JSON.stringify(v, null, 2));
}
