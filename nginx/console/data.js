// data.js — the Data page: object types, their properties, and a table of
// objects with a filter builder, sorting, cursor paging, inline edit (the
// API's error on the field), version history, trash and CSV import/export.
import { api, headers, ApiError } from "./api.js";
import { h, form, table, act, say, short, when, showError, clearErrors, errorText, json, nextId } from "./ui.js";

const DATA_TYPES = ["string", "text", "rich_text", "integer", "number", "decimal", "currency", "percent",
  "boolean", "date", "datetime", "time", "email", "url", "phone", "enum", "multi_enum", "json", "array",
  "reference", "file", "geo_point"];
const NUMERIC = new Set(["integer", "number", "decimal", "currency", "percent"]);
const STRUCTURED = new Set(["multi_enum", "json", "array", "geo_point"]);
const OPERATORS = ["eq", "neq", "gt", "gte", "lt", "lte", "in", "nin", "contains", "starts_with", "is_null", "is_not_null"];

// A property's value from what was typed: numbers, booleans and JSON as such.
function parseValue(prop, text) {
  if (text === "" || text === undefined) return null;
  if (prop.data_type === "boolean") return text === "true" ? true : text === "false" ? false : text;
  if (NUMERIC.has(prop.data_type) && text.trim() !== "" && !isNaN(Number(text))) return Number(text);
  if (STRUCTURED.has(prop.data_type)) {
    try {
      return JSON.parse(text);
    } catch {
      return text; // the API says what is wrong with it
    }
  }
  return text;
}
const show = (v) => (v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v));

function valueInput(prop, name, value) {
  const id = nextId("in");
  let ctl;
  if (prop.data_type === "boolean")
    ctl = h("select", { id, name }, [["", "—"], ["true", "true"], ["false", "false"]].map(([v, t]) =>
      h("option", { value: v, selected: show(value) === v }, t)));
  else if (prop.data_type === "enum" && Array.isArray(prop.enum_values))
    ctl = h("select", { id, name }, h("option", { value: "" }, "—"), prop.enum_values.map((v) => h("option", { value: v, selected: value === v }, v)));
  else ctl = h("input", { id, name, value: show(value), type: NUMERIC.has(prop.data_type) ? "text" : "text", inputmode: NUMERIC.has(prop.data_type) ? "decimal" : undefined });
  return { id, ctl };
}

export async function render(main, [typeId, tab = "objects"]) {
  const types = await api("GET", "/v1/object-types");
  const side = h("nav", { class: "side card", "aria-label": "Object types" },
    h("h2", {}, "Object types"),
    h("ul", {}, types.map((t) => h("li", {}, h("a", { href: "#/data/" + t.id, "aria-current": t.id === typeId ? "true" : undefined }, t.display_name || t.name)))),
    h("h3", {}, "New type"),
    form({
      label: "New object type", submit: "Create type",
      fields: [{ name: "name", label: "Name", required: true, placeholder: "contacts", hint: "Lower case, digits and _." },
        { name: "display_name", label: "Display name" }],
      onSubmit: async (v) => {
        const body = { name: v.name };
        if (v.display_name) body.display_name = v.display_name;
        const t = await api("POST", "/v1/object-types", body);
        say("Type " + t.name + " created");
        location.hash = "#/data/" + t.id + "/properties";
      },
    }));
  const content = h("section", { "aria-live": "polite" });
  main.append(h("h1", {}, "Data"), h("div", { class: "cols" }, side, content));
  const type = types.find((t) => t.id === typeId);
  if (!type) {
    content.append(h("p", { class: "muted" }, types.length ? "Choose an object type." : "Create your first object type."));
    return;
  }
  const props = await api("GET", "/v1/object-types/" + type.id + "/properties");
  const tabs = [["objects", "Objects"], ["properties", "Properties"], ["trash", "Trash"], ["io", "Import / export"]];
  content.append(
    h("div", { class: "row" }, h("h2", {}, type.display_name || type.name), h("span", { class: "muted" }, type.id),
      h("button", { type: "button", class: "danger", onclick: (e) => deleteType(e.target, type) }, "Delete type")),
    h("nav", { class: "tabs", "aria-label": "Type sections" }, tabs.map(([k, t]) =>
      h("a", { href: "#/data/" + type.id + "/" + k, "aria-current": k === tab ? "page" : undefined }, t))));
  const body = h("div");
  content.append(body);
  if (tab === "properties") return propertiesTab(body, type, props);
  if (tab === "trash") return trashTab(body, type, props);
  if (tab === "io") return ioTab(body, type);
  return objectsTab(body, type, props);
}

// Secure delete: the first DELETE answers 409 with what would go and a
// confirm token; the second, after the user agrees, cascades.
async function deleteType(btn, type) {
  await act(btn, async () => {
    try {
      await api("DELETE", "/v1/object-types/" + type.id);
    } catch (e) {
      const d = e instanceof ApiError && e.error;
      if (!(d && d.confirm_token)) throw e;
      const what = (d.dependencies || []).map((x) => x.count + " " + (x.label || x.type)).join(", ");
      if (!confirm("Deleting " + type.name + " also deletes " + what + ". Delete everything?")) return;
      await api("DELETE", "/v1/object-types/" + type.id, undefined, { query: { force: "true", confirm_token: d.confirm_token } });
    }
    location.hash = "#/data";
  }, "Type deleted");
}

function propertiesTab(body, type, props) {
  const reload = () => window.dispatchEvent(new HashChangeEvent("hashchange"));
  body.append(table([
    { label: "Name", cell: (p) => p.name },
    { label: "Data type", cell: (p) => p.data_type },
    { label: "Required", cell: (p) => (p.is_required ? "yes" : "") },
    { label: "Unique", cell: (p) => (p.is_unique ? "yes" : "") },
    { label: "Indexed", cell: (p) => (p.is_indexed ? "yes" : "") },
    { label: "Sortable", cell: (p) => (p.is_sortable ? "yes" : "") },
    { label: "Description", cell: (p) => p.description || "" },
    { label: "Actions", cell: (p) => h("div", { class: "row" },
      h("button", { type: "button", class: "secondary", "aria-label": "Toggle required on " + p.name,
        onclick: (e) => act(e.target, async () => {
          await api("PATCH", "/v1/object-types/" + type.id + "/properties/" + p.id, { is_required: !p.is_required });
          reload();
        }, "Saved") }, p.is_required ? "Make optional" : "Make required"),
      h("button", { type: "button", class: "danger", "aria-label": "Delete property " + p.name,
        onclick: (e) => confirm("Delete property " + p.name + " and its values?") && act(e.target, async () => {
          await api("DELETE", "/v1/object-types/" + type.id + "/properties/" + p.id);
          reload();
        }, "Property deleted") }, "Delete")) },
  ], props, { label: "Properties", empty: "No properties yet: add the first one below." }));
  body.append(h("h3", {}, "Add a property"), form({
    label: "Add a property", submit: "Add property",
    fields: [
      { name: "name", label: "Name", required: true, placeholder: "title" },
      { name: "data_type", label: "Data type", type: "select", options: DATA_TYPES },
      { name: "enum_values", label: "Enum values", placeholder: "open, closed", hint: "For enum and multi_enum: comma-separated." },
      { name: "description", label: "Description" },
      { name: "is_required", label: "Required", type: "checkbox" },
      { name: "is_unique", label: "Unique", type: "checkbox" },
      { name: "is_indexed", label: "Indexed (filter fast)", type: "checkbox" },
      { name: "is_sortable", label: "Sortable", type: "checkbox" }],
    onSubmit: async (v) => {
      const b = { name: v.name, data_type: v.data_type, is_required: v.is_required, is_unique: v.is_unique,
        is_indexed: v.is_indexed, is_sortable: v.is_sortable };
      if (v.description) b.description = v.description;
      if (v.enum_values) b.enum_values = v.enum_values.split(",").map((s) => s.trim()).filter(Boolean);
      await api("POST", "/v1/object-types/" + type.id + "/properties", b);
      say("Property " + v.name + " added");
      reload();
    },
  }));
}

// The filter builder: rows of property, operator and value → ?filter=[…].
function filterBuilder(props, state, apply) {
  const rows = h("div");
  const names = ["id", "created_at", "updated_at", ...props.map((p) => p.name)];
  const addRow = (f = { property: props[0] ? props[0].name : "id", operator: "eq", value: "" }) => {
    const n = rows.children.length + 1;
    const pid = nextId("fp"), oid = nextId("fo"), vid = nextId("fv");
    const row = h("div", { class: "row filter-row" },
      h("div", { class: "field" }, h("label", { for: pid }, "Property " + n),
        h("select", { id: pid, class: "f-prop" }, names.map((x) => h("option", { value: x, selected: x === f.property }, x)))),
      h("div", { class: "field" }, h("label", { for: oid }, "Operator " + n),
        h("select", { id: oid, class: "f-op" }, OPERATORS.map((x) => h("option", { value: x, selected: x === f.operator }, x)))),
      h("div", { class: "field" }, h("label", { for: vid }, "Value " + n),
        h("input", { id: vid, class: "f-val", value: show(f.value), placeholder: "in/nin: a,b" })),
      h("button", { type: "button", class: "secondary", "aria-label": "Remove filter " + n, onclick: () => row.remove() }, "Remove"));
    rows.append(row);
  };
  (state.filters || []).forEach(addRow);
  const read = () => [...rows.querySelectorAll(".filter-row")].map((r) => {
    const property = r.querySelector(".f-prop").value, operator = r.querySelector(".f-op").value;
    const raw = r.querySelector(".f-val").value;
    const prop = props.find((p) => p.name === property) || { data_type: "string" };
    const f = { property, operator };
    if (operator === "in" || operator === "nin") f.value = raw.split(",").map((s) => parseValue(prop, s.trim()));
    else if (operator !== "is_null" && operator !== "is_not_null") f.value = parseValue(prop, raw);
    return f;
  });
  return h("section", { class: "card", "aria-label": "Filters" }, h("h3", {}, "Filters"), rows,
    h("div", { class: "row" },
      h("button", { type: "button", class: "secondary", onclick: () => addRow() }, "Add filter"),
      h("button", { type: "button", id: "apply-filters", onclick: () => apply(read()) }, "Apply filters"),
      h("button", { type: "button", class: "secondary", onclick: () => apply([]) }, "Clear")));
}

async function objectsTab(body, type, props) {
  const state = { filters: [], sort: "", order: "desc", cursors: [null] };
  const listBox = h("div");
  const errBox = h("div");
  const load = async () => {
    errBox.replaceChildren();
    const q = { limit: 25, cursor: state.cursors[state.cursors.length - 1] || undefined };
    if (state.filters.length) q.filter = JSON.stringify(state.filters);
    if (state.sort) Object.assign(q, { sort: state.sort, order: state.order });
    let page;
    try {
      page = await api("GET", "/v1/objects/" + type.id + "/list", undefined, { query: q });
    } catch (e) {
      errBox.replaceChildren(h("p", { class: "err", role: "alert" }, errorText(e)));
      return;
    }
    listBox.replaceChildren(objectsTable(type, props, page.results, state, load),
      h("div", { class: "row" },
        h("span", { class: "muted" }, (page.total ?? page.results.length) + " objects"),
        h("button", { type: "button", class: "secondary", disabled: state.cursors.length < 2,
          onclick: () => { state.cursors.pop(); load(); } }, "Previous page"),
        h("button", { type: "button", class: "secondary", disabled: !page.next_cursor,
          onclick: () => { state.cursors.push(page.next_cursor); load(); } }, "Next page")));
  };
  body.append(filterBuilder(props, state, (filters) => {
    state.filters = filters;
    state.cursors = [null];
    load();
  }), errBox, listBox, h("h3", {}, "New object"), newObjectForm(type, props, load));
  await load();
}

function newObjectForm(type, props, reload) {
  if (!props.length) return h("p", { class: "muted" }, "Add properties first.");
  const fields = props.map((p) => {
    const { id, ctl } = valueInput(p, "properties." + p.name, p.default_value);
    return h("div", { class: "field" }, h("label", { for: id }, p.name + (p.is_required ? " *" : "")), ctl,
      h("p", { class: "muted" }, p.data_type));
  });
  return form({
    label: "New object", submit: "Create object", class: "card", fields,
    onSubmit: async (v) => {
      const properties = {};
      for (const p of props) {
        const val = parseValue(p, v["properties." + p.name]);
        if (val !== null) properties[p.name] = val;
      }
      const o = await api("POST", "/v1/objects/" + type.id, { properties });
      say("Object " + o.id + " created");
      await reload();
    },
  });
}

function objectsTable(type, props, rows, state, reload) {
  const sortable = new Set(["created_at", "updated_at", ...props.filter((p) => p.is_sortable).map((p) => p.name)]);
  const head = (name, label) => {
    if (!sortable.has(name)) return label;
    const on = state.sort === name;
    return h("button", { type: "button", class: "link", "aria-label": "Sort by " + name + (on ? " (" + state.order + ")" : ""),
      onclick: () => {
        state.order = on && state.order === "asc" ? "desc" : "asc";
        state.sort = name;
        state.cursors = [null];
        reload();
      } }, label + (on ? (state.order === "asc" ? " ▲" : " ▼") : ""));
  };
  const cols = [{ label: "ID", cell: (o) => h("span", { title: o.id }, short(o.id)) }]
    .concat(props.map((p) => ({ head: head(p.name, p.name), label: p.name, cell: (o) => editableCell(type, p, o) })))
    .concat([{ head: head("updated_at", "Updated"), label: "Updated", cell: (o) => when(o.updated_at) },
      { label: "Actions", cell: (o) => h("div", { class: "row" },
        h("button", { type: "button", class: "secondary", "aria-label": "History of " + o.id, onclick: (e) => history(e.target, type, o) }, "History"),
        h("button", { type: "button", class: "danger", "aria-label": "Delete " + o.id,
          onclick: (e) => act(e.target, async () => {
            await api("DELETE", "/v1/objects/" + type.id + "/" + o.id);
            await reload();
          }, "Moved to the trash") }, "Delete")) }]);
  return table(cols, rows, { label: type.name + " objects", empty: "No objects match." });
}

// A cell that becomes an input on click or Enter; Enter saves, Escape
// cancels; the API's error shows under the input, which keeps focus.
function editableCell(type, prop, obj) {
  const cell = h("div", { class: "cell" });
  const view = () => {
    const b = h("button", { type: "button", class: "link", "aria-label": "Edit " + prop.name + " of " + obj.id,
      dataset: { prop: prop.name, object: obj.id }, onclick: edit }, show(obj.properties[prop.name]) || "\u00a0");
    cell.replaceChildren(b);
    return b;
  };
  const edit = () => {
    const { ctl } = valueInput(prop, "properties." + prop.name, obj.properties[prop.name]);
    ctl.setAttribute("aria-label", prop.name + " of " + obj.id);
    const f = h("form", { class: "inline-edit" }, ctl);
    const save = async (ev) => {
      ev && ev.preventDefault();
      clearErrors(f);
      try {
        const o = await api("PATCH", "/v1/objects/" + type.id + "/" + obj.id,
          { properties: { [prop.name]: parseValue(prop, ctl.value) } });
        Object.assign(obj, o);
        view().focus();
        say("Saved");
      } catch (e) {
        showError(f, null, e);
        if (!f.querySelector(".err")) f.append(h("p", { class: "err", role: "alert" }, errorText(e)));
      }
    };
    f.addEventListener("submit", save);
    ctl.addEventListener("keydown", (e) => {
      if (e.key === "Escape") view().focus();
    });
    if (ctl.tagName === "SELECT") ctl.addEventListener("change", save);
    cell.replaceChildren(f);
    ctl.focus();
  };
  view();
  return cell;
}

async function history(btn, type, obj) {
  await act(btn, async () => {
    const versions = await api("GET", "/v1/objects/" + type.id + "/" + obj.id + "/versions");
    const list = Array.isArray(versions) ? versions : versions.versions || [];
    const dlg = h("section", { class: "card", role: "region", "aria-label": "History of " + obj.id },
      h("h3", {}, "History of " + obj.id),
      table([{ label: "Version", cell: (v) => String(v.version) }, { label: "When", cell: (v) => when(v.created_at) },
        { label: "By", cell: (v) => short(v.changed_by) },
        { label: "Properties", cell: (v) => json(v.properties) },
        { label: "Actions", cell: (v) => h("button", { type: "button", class: "secondary", "aria-label": "Restore version " + v.version,
          onclick: (e) => act(e.target, async () => {
            await api("PATCH", "/v1/objects/" + type.id + "/" + obj.id, { properties: v.properties });
            window.dispatchEvent(new HashChangeEvent("hashchange"));
          }, "Version " + v.version + " restored") }, "Restore these values") }],
      list, { label: "Versions", empty: "No earlier versions: the object was never changed." }),
      h("button", { type: "button", class: "secondary", onclick: () => dlg.remove() }, "Close"));
    btn.closest("table").parentElement.after(dlg);
    dlg.querySelector("button").focus();
  });
}

async function trashTab(body, type, props) {
  const page = await api("GET", "/v1/objects/" + type.id + "/trash", undefined, { query: { limit: 50 } });
  body.append(table([
    { label: "ID", cell: (o) => o.id },
    ...props.slice(0, 4).map((p) => ({ label: p.name, cell: (o) => show(o.properties[p.name]) })),
    { label: "Deleted", cell: (o) => when(o.deleted_at || o.updated_at) },
    { label: "Actions", cell: (o) => h("button", { type: "button", "aria-label": "Restore " + o.id,
      onclick: (e) => act(e.target, async () => {
        await api("POST", "/v1/objects/" + type.id + "/" + o.id + "/restore");
        e.target.closest("tr").remove();
      }, "Restored") }, "Restore") },
  ], page.results, { label: "Trash", empty: "The trash is empty." }));
}

function ioTab(body, type) {
  const report = h("div", { id: "import-report", "aria-live": "polite" });
  body.append(h("h3", {}, "Import CSV"), form({
    label: "Import CSV", submit: "Import",
    fields: [{ name: "csv", label: "CSV (a header row of property names)", type: "textarea", placeholder: "title,priority\nFirst,1" }],
    reset: false,
    onSubmit: async (v) => {
      const r = await api("POST", "/v1/data/import", { object_type_id: type.id, format: "csv", csv: v.csv });
      report.replaceChildren(h("p", { class: r.failed ? "err" : "ok" }, r.imported + " of " + r.total + " rows imported" +
        (r.failed ? ", " + r.failed + " refused:" : ".")),
      table([{ label: "Row", cell: (e) => String(e.row) }, { label: "Field", cell: (e) => e.field || "" },
        { label: "Error", cell: (e) => e.message }], r.errors || [], { label: "Import errors", empty: "" }));
    },
  }), report);
  body.append(h("h3", {}, "Export"), h("button", { type: "button", onclick: (e) => act(e.target, async () => {
    const r = await api("POST", "/v1/data/export", { object_type_id: type.id, format: "csv" });
    const res = await fetch(r.download_path || "/v1/data/export/" + r.export_id, { headers: headers() });
    if (!res.ok) throw new Error("The export could not be downloaded (HTTP " + res.status + ")");
    const url = URL.createObjectURL(await res.blob());
    const a = h("a", { href: url, download: type.name + ".csv" });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 5000);
  }, "Exported " + type.name) }, "Export CSV"));
}
