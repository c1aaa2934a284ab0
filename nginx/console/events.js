// events.js — the Events page: webhooks with their delivery log (status,
// response, error of each attempt), replay and retry; the dead-letter
// queue; a live tail of the event stream (SSE); the audit log.
import { api, call, stream } from "./api.js";
import { h, form, table, act, say, short, when, json, errorText } from "./ui.js";

export async function render(main, [webhookId]) {
  main.append(h("h1", {}, "Events"));
  const tail = liveTail();
  const hooks = h("section", { class: "card", "aria-labelledby": "wh-h" });
  main.append(tail.el, hooks);
  await webhooks(hooks, webhookId);
  const dlq = h("section", { class: "card", "aria-labelledby": "dlq-h" });
  const audit = h("section", { class: "card", "aria-labelledby": "audit-h" });
  main.append(dlq, audit);
  await Promise.all([deadLetters(dlq).catch((e) => dlq.append(h("p", { class: "err" }, errorText(e)))),
    auditLog(audit).catch((e) => audit.append(h("p", { class: "err" }, errorText(e))))]);
  return tail.stop;
}

// Live tail: GET /events/stream as server-sent events, newest first.
function liveTail() {
  const list = h("ol", { class: "tail", id: "live-events", "aria-label": "Live events", "aria-live": "polite", reversed: true });
  const state = h("span", { class: "muted", id: "live-state" }, "stopped");
  const chan = h("input", { id: "live-channels", placeholder: "all channels", "aria-describedby": "live-hint" });
  let ctl = null;
  const stop = () => {
    if (ctl) ctl.abort();
    ctl = null;
    state.textContent = "stopped";
    btn.textContent = "Start live tail";
  };
  const start = () => {
    const q = chan.value.trim() ? "?channels=" + encodeURIComponent(chan.value.trim()) : "";
    state.textContent = "connecting…";
    ctl = stream("/events/stream" + q, (ev) => {
      let d;
      try {
        d = JSON.parse(ev.data);
      } catch {
        d = { event: ev.event, data: ev.data };
      }
      list.prepend(h("li", { dataset: { event: d.event || ev.event } },
        h("strong", {}, d.event || ev.event), " ", d.channel || "", " ", d.resource_id || "", " ",
        h("span", { class: "muted" }, when(d.timestamp))));
      while (list.children.length > 200) list.lastChild.remove();
    }, (s, e) => {
      state.textContent = s === "error" ? "error: " + errorText(e) : s === "open" ? "live" : s;
      if (s !== "open") {
        ctl = null;
        btn.textContent = "Start live tail";
      }
    });
    btn.textContent = "Stop live tail";
  };
  const btn = h("button", { type: "button", id: "live-toggle", onclick: () => (ctl ? stop() : start()) }, "Start live tail");
  const el = h("section", { class: "card", "aria-labelledby": "tail-h" }, h("h2", { id: "tail-h" }, "Live events"),
    h("div", { class: "row" }, h("div", { class: "field" }, h("label", { for: "live-channels" }, "Channels"), chan), btn, state),
    h("p", { class: "muted", id: "live-hint" }, "Comma-separated, e.g. objects:contacts,files,events; empty: every channel you may read."),
    list);
  setTimeout(start, 0);
  return { el, stop };
}

async function webhooks(box, selected) {
  const list = await api("GET", "/v1/webhooks");
  const secret = h("div");
  box.append(h("h2", { id: "wh-h" }, "Webhooks"),
    table([
      { label: "URL", cell: (w) => h("a", { href: "#/events/" + w.id, "aria-current": w.id === selected ? "true" : undefined }, w.url) },
      { label: "Events", cell: (w) => (w.events || []).join(", ") },
      { label: "Status", cell: (w) => w.status + (w.disabled_reason ? " — " + w.disabled_reason : "") },
      { label: "Actions", cell: (w) => h("div", { class: "row" },
        h("button", { type: "button", class: "secondary", "aria-label": "Send a test to " + w.url,
          onclick: (e) => act(e.target, () => api("POST", "/v1/webhooks/" + w.id + "/test"), "Test sent") }, "Test"),
        h("button", { type: "button", class: "secondary", "aria-label": (w.status === "active" ? "Pause " : "Activate ") + w.url,
          onclick: (e) => act(e.target, async () => {
            await api("PATCH", "/v1/webhooks/" + w.id, { status: w.status === "active" ? "paused" : "active" });
            window.dispatchEvent(new HashChangeEvent("hashchange"));
          }) }, w.status === "active" ? "Pause" : "Activate"),
        h("button", { type: "button", class: "danger", "aria-label": "Delete webhook " + w.url,
          onclick: (e) => confirm("Delete the webhook to " + w.url + "?") && act(e.target, async () => {
            await api("DELETE", "/v1/webhooks/" + w.id);
            location.hash = "#/events";
          }, "Webhook deleted") }, "Delete")) },
    ], list, { label: "Webhooks", empty: "No webhooks yet." }),
    h("h3", {}, "New webhook"),
    form({
      label: "New webhook", submit: "Create webhook",
      fields: [{ name: "url", label: "URL", type: "url", required: true, placeholder: "https://example.com/hook" },
        { name: "events", label: "Events", value: "object.created", hint: "Comma-separated types from /events/types, e.g. object.*, file.uploaded." }],
      onSubmit: async (v) => {
        const w = await api("POST", "/v1/webhooks", { url: v.url, events: v.events.split(",").map((s) => s.trim()).filter(Boolean) });
        secret.replaceChildren(h("p", {}, "Signing secret (shown once, copy it now):"), h("p", { class: "secret", id: "webhook-secret" }, w.secret));
        location.hash = "#/events/" + w.id;
      },
    }), secret);
  const hook = list.find((w) => w.id === selected);
  if (hook) box.append(await deliveries(hook));
}

async function deliveries(hook) {
  const box = h("section", { "aria-labelledby": "dl-h", id: "deliveries" });
  const status = h("select", { id: "dl-status" }, [["", "any"], ["succeeded", "succeeded"], ["failed", "failed"]].map(([v, t]) => h("option", { value: v }, t)));
  const type = h("input", { id: "dl-type", placeholder: "object.created" });
  const body = h("div");
  const load = async () => {
    const page = await api("GET", "/v1/webhook-deliveries", undefined,
      { query: { webhook_id: hook.id, status: status.value, event_type: type.value.trim(), limit: 50 } });
    body.replaceChildren(table([
      { label: "When", cell: (d) => when(d.created_at) },
      { label: "Event", cell: (d) => h("span", { title: d.event_id }, d.event_type) },
      { label: "Trigger", cell: (d) => d.trigger },
      { label: "Attempt", cell: (d) => String(d.attempt) },
      { label: "Status", cell: (d) => h("span", { class: d.status === "succeeded" ? "ok" : "err" }, d.status + (d.status_code ? " " + d.status_code : "")) },
      { label: "Time", cell: (d) => (d.duration_ms ?? "") + " ms" },
      { label: "Response / error", cell: (d) => (d.response_excerpt || d.error ? h("pre", {}, [d.error, d.response_excerpt].filter(Boolean).join("\n")) : "") },
      { label: "Actions", cell: (d) => h("div", { class: "row" },
        h("button", { type: "button", class: "secondary", "aria-label": "Replay " + d.event_type + " " + d.id, dataset: { replay: d.id },
          onclick: (e) => act(e.target, async () => {
            await api("POST", "/v1/webhooks/" + hook.id + "/replay", { event: d.event_id });
            setTimeout(load, 1500);
          }, "Replay sent") }, "Replay"),
        d.status === "failed" ? h("button", { type: "button", class: "secondary", "aria-label": "Retry " + d.id,
          onclick: (e) => act(e.target, async () => {
            await api("POST", "/v1/webhook-deliveries/" + d.id + "/retry");
            setTimeout(load, 1500);
          }, "Retry queued") }, "Retry") : null) },
    ], page.deliveries, { label: "Deliveries", empty: "No deliveries yet." }),
    h("p", { class: "muted" }, page.total + " deliveries"));
  };
  box.append(h("h3", { id: "dl-h" }, "Deliveries of " + hook.url),
    h("div", { class: "row" },
      h("div", { class: "field" }, h("label", { for: "dl-status" }, "Status"), status),
      h("div", { class: "field" }, h("label", { for: "dl-type" }, "Event type"), type),
      h("button", { type: "button", id: "dl-refresh", onclick: (e) => act(e.target, load) }, "Refresh")),
    body);
  await load();
  return box;
}

async function deadLetters(box) {
  const page = await api("GET", "/v1/dlq", undefined, { query: { limit: 50 } });
  const rows = Array.isArray(page) ? page : page.messages || page.items || [];
  box.append(h("h2", { id: "dlq-h" }, "Dead-letter queue"), table([
    { label: "When", cell: (m) => when(m.created_at || m.failed_at) },
    { label: "Kind", cell: (m) => m.kind || "" },
    { label: "Error", cell: (m) => m.error || m.last_error || "" },
    { label: "Actions", cell: (m) => h("div", { class: "row" },
      h("button", { type: "button", class: "secondary", "aria-label": "Retry " + m.id,
        onclick: (e) => act(e.target, async () => {
          await api("POST", "/v1/dlq/" + m.id + "/retry");
          e.target.closest("tr").remove();
        }, "Sent again") }, "Retry"),
      h("button", { type: "button", class: "danger", "aria-label": "Discard " + m.id,
        onclick: (e) => act(e.target, async () => {
          await api("DELETE", "/v1/dlq/" + m.id);
          e.target.closest("tr").remove();
        }, "Discarded") }, "Discard")) },
  ], rows, { label: "Dead letters", empty: "Nothing failed for good." }));
}

async function auditLog(box) {
  const body = h("div");
  const load = async (v = {}) => {
    const page = await api("GET", "/v1/audit-logs", undefined, { query: { limit: 50, action: v.action, resource_type: v.resource_type } });
    const rows = Array.isArray(page) ? page : page.logs || page.entries || page.audit_logs || [];
    body.replaceChildren(table([
      { label: "When", cell: (a) => when(a.created_at) },
      { label: "Action", cell: (a) => a.action },
      { label: "Resource", cell: (a) => (a.resource_type || "") + " " + short(a.resource_id) },
      { label: "Actor", cell: (a) => (a.actor_type || "") + " " + short(a.actor_id) },
    ], rows, { label: "Audit log", empty: "No entries match." }));
  };
  box.append(h("h2", { id: "audit-h" }, "Audit log"), form({
    label: "Audit filters", submit: "Filter", class: "row", reset: false,
    fields: [{ name: "action", label: "Action", placeholder: "object.created" },
      { name: "resource_type", label: "Resource type", placeholder: "object" }],
    onSubmit: load,
  }), body);
  await load();
}
