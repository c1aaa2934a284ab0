// tests/integration/console_browser.mjs — the admin console in a real
// browser: Debian's Chromium (headless) driven by puppeteer-core, against
// the stack the test started.  Signs in with an API key, creates a type
// and its properties, adds an object and edits it inline (a validation
// error shown on the field, then a good value), watches a live event
// arrive, replays a webhook delivery, uploads an image and sees its
// preview, rotates a key, and signs in as an end user with email and
// password: one without the admin permission gets the reduced view, one
// with it the Data page, where they add an object.  On failure it writes a screenshot of the
// page it was on and of every console page under OUTDIR.
//
// Usage: node console_browser.mjs BASE_URL API_KEY OUTDIR
// Needs NODE_PATH=build/test-npm/node_modules.  Prints one JSON line.
import { mkdirSync, writeFileSync, readFileSync, readdirSync } from "node:fs";
import { gzipSync, deflateSync } from "node:zlib";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const [base, key, outDir] = process.argv.slice(2);
const mods = process.env.NODE_PATH.split(":")[0];
const require = createRequire(path.join(mods, "x.js"));
const puppeteer = require("puppeteer-core");
const here = path.dirname(fileURLToPath(import.meta.url));
mkdirSync(outDir, { recursive: true });

const out = { steps: [] };
let step = "start";
const T = 20000;

async function apiCall(method, p, body, token = key) {
  const res = await fetch(base + p, { method, headers: { Authorization: "Bearer " + token, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: await res.json().catch(() => null) };
}

// A 48×32 PNG, red and blue halves, made here (no image tool needed).
function png() {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const w = 48, hgt = 32;
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(hgt, 4);
  ihdr[8] = 8; ihdr[9] = 2; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
  const raw = Buffer.alloc((w * 3 + 1) * hgt);
  for (let y = 0; y < hgt; y++)
    for (let x = 0; x < w; x++) {
      const o = y * (w * 3 + 1) + 1 + x * 3;
      raw[o] = x < w / 2 ? 220 : 20; raw[o + 1] = 40; raw[o + 2] = x < w / 2 ? 30 : 200;
    }
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw)), chunk("IEND", Buffer.alloc(0))]);
}

// Polls fn (async, truthy when done) until it holds or ms pass.
async function until(what, fn, ms = T) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => null);
    if (v) return v;
    if (Date.now() > end) throw new Error("timed out waiting for " + what);
    await new Promise((r) => setTimeout(r, 250));
  }
}

// The console is small: every file gzipped, and the whole.
let total = 0;
const dir = path.join(here, "../../nginx/console");
for (const f of readdirSync(dir)) total += gzipSync(readFileSync(path.join(dir, f))).length;
out.gzip_bytes = total;

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium", headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-dev-shm-usage"],
});
const page = await browser.newPage();
await page.setViewport({ width: 1366, height: 900 });
const consoleErrors = [];
// Script errors fail the test; the browser's log of a refused request (the
// wrong key, the bad values the test sends on purpose) does not.
page.on("console", (m) => m.type() === "error" && !/^Failed to load resource/.test(m.text()) && consoleErrors.push(m.text()));
page.on("pageerror", (e) => consoleErrors.push(String(e)));
page.on("dialog", (d) => d.accept());

const fill = async (formLabel, values) => {
  for (const [name, v] of Object.entries(values)) {
    const sel = `form[aria-label="${formLabel}"] [name="${name}"]`;
    await page.waitForSelector(sel, { timeout: T });
    const tag = await page.$eval(sel, (e) => e.tagName + ":" + e.type);
    if (tag === "SELECT:select-one") await page.select(sel, v);
    else if (tag === "INPUT:checkbox") {
      if ((await page.$eval(sel, (e) => e.checked)) !== v) await page.click(sel);
    } else {
      await page.$eval(sel, (e) => (e.value = ""));
      await page.type(sel, v);
    }
  }
};
const submit = (formLabel) => page.click(`form[aria-label="${formLabel}"] button[type=submit]`);
const go = async (hash) => {
  await page.evaluate((h) => (location.hash = h), hash);
  await new Promise((r) => setTimeout(r, 300));
};

try {
  // 1. Sign in with the API key; first paint is measured on the way.
  step = "sign in";
  // The page's own first paint: the browser started once (its start-up is
  // not the page's), then the page loaded again without the HTTP cache.
  await page.goto(base + "/console", { waitUntil: "load" });
  await page.setCacheEnabled(false);
  await page.goto(base + "/console", { waitUntil: "load" });
  // From the request of the page to the sign-in form on screen.
  await page.waitForSelector('form[aria-label="Sign in with an API key"] input', { visible: true, timeout: T });
  out.ready_ms = Math.round(await page.evaluate(() => {
    const fcp = performance.getEntriesByName("first-contentful-paint")[0];
    return fcp ? fcp.startTime : performance.now();
  }));
  await fill("Sign in with an API key", { api_key: "tsk_wrong" });
  await submit("Sign in with an API key");
  await page.waitForSelector('form[aria-label="Sign in with an API key"] [name="api_key"][aria-invalid="true"]', { timeout: T });
  await fill("Sign in with an API key", { api_key: key });
  await submit("Sign in with an API key");
  await page.waitForSelector("#nav:not([hidden])", { timeout: T });
  const stored = await page.evaluate(() => [sessionStorage.getItem("tessera.console.token"), document.cookie, location.href]);
  if (stored[0] !== key || stored[1].includes(key) || stored[2].includes(key)) throw new Error("the key is not (only) in sessionStorage");
  out.steps.push(step);

  // 2. A type and its properties.
  await page.setCacheEnabled(true);
  step = "create a type and properties";
  const typeName = "notes_" + Date.now().toString(36);
  await page.waitForSelector('form[aria-label="New object type"]', { timeout: T });
  await fill("New object type", { name: typeName, display_name: "Notes" });
  await submit("New object type");
  await page.waitForFunction(() => /#\/data\/ot_[^/]+\/properties/.test(location.hash), { timeout: T });
  const typeId = await page.evaluate(() => location.hash.split("/")[2]);
  await fill("Add a property", { name: "title", data_type: "string", is_required: true, is_sortable: true });
  await submit("Add a property");
  await page.waitForFunction(() => [...document.querySelectorAll('table[aria-label="Properties"] td')].some((td) => td.textContent === "title"), { timeout: T });
  await fill("Add a property", { name: "priority", data_type: "integer" });
  await submit("Add a property");
  await page.waitForFunction(() => [...document.querySelectorAll('table[aria-label="Properties"] td')].some((td) => td.textContent === "priority"), { timeout: T });
  out.steps.push(step);

  // 3. An object, then an inline edit: a bad value shows the API's error
  // on the field; a good one is saved.
  step = "add and edit an object";
  await go("#/data/" + typeId + "/objects");
  await page.waitForSelector('form[aria-label="New object"]', { timeout: T });
  // The required title missing: the error lands on its field.
  await fill("New object", { "properties.priority": "3" });
  await submit("New object");
  await page.waitForSelector('form[aria-label="New object"] [name="properties.title"][aria-invalid="true"]', { timeout: T });
  await fill("New object", { "properties.title": "First note", "properties.priority": "3" });
  await submit("New object");
  const editSel = 'button[data-prop="priority"]';
  await page.waitForSelector(editSel, { timeout: T });
  const objectId = await page.$eval(editSel, (b) => b.dataset.object);
  await page.click(editSel);
  const inputSel = `form.inline-edit input[name="properties.priority"]`;
  await page.waitForSelector(inputSel, { timeout: T });
  await page.$eval(inputSel, (e) => (e.value = ""));
  await page.type(inputSel, "not a number");
  await page.keyboard.press("Enter");
  await page.waitForSelector(`form.inline-edit [name="properties.priority"][aria-invalid="true"]`, { timeout: T });
  out.field_error = await page.$eval('form.inline-edit p.err[data-field-error="properties.priority"]', (p) => p.textContent);
  const focused = await page.evaluate(() => document.activeElement && document.activeElement.name);
  if (focused !== "properties.priority") throw new Error("the invalid field does not have the focus: " + focused);
  await page.$eval(inputSel, (e) => (e.value = ""));
  await page.type(inputSel, "7");
  await page.keyboard.press("Enter");
  await page.waitForFunction((s) => document.querySelector(s) && document.querySelector(s).textContent.trim() === "7", { timeout: T }, editSel);
  const got = await apiCall("GET", `/v1/objects/${typeId}/${objectId}`);
  if (got.body.data.properties.priority !== 7) throw new Error("the edit did not reach the API: " + JSON.stringify(got.body));
  // The filter builder narrows the table.
  await apiCall("POST", "/v1/objects/" + typeId, { properties: { title: "Second note", priority: 1 } });
  await page.click('button[aria-label="Remove filter 1"]').catch(() => {});
  await page.click("::-p-text(Add filter)");
  await page.select(".filter-row .f-prop", "title");
  await page.select(".filter-row .f-op", "eq");
  await page.type(".filter-row .f-val", "Second note");
  await page.click("#apply-filters");
  await page.waitForFunction(() => {
    const cells = [...document.querySelectorAll('button[data-prop="title"]')].map((b) => b.textContent);
    return cells.length === 1 && cells[0] === "Second note";
  }, { timeout: T });
  out.steps.push(step);

  // History, the trash and back, a CSV import with a refused row.
  step = "history, trash and import";
  await page.click("::-p-text(Clear)");
  await page.waitForSelector(`button[aria-label="History of ${objectId}"]`, { timeout: T });
  await page.click(`button[aria-label="History of ${objectId}"]`);
  await page.waitForFunction(() => /"priority": 3/.test(document.querySelector('table[aria-label="Versions"]')?.textContent || ""), { timeout: T });
  await page.click(`button[aria-label="Delete ${objectId}"]`);
  await page.waitForFunction((id) => !document.querySelector(`button[aria-label="Delete ${id}"]`), { timeout: T }, objectId);
  await go("#/data/" + typeId + "/trash");
  await page.waitForSelector(`button[aria-label="Restore ${objectId}"]`, { timeout: T });
  await page.click(`button[aria-label="Restore ${objectId}"]`);
  await page.waitForFunction((id) => !document.querySelector(`button[aria-label="Restore ${id}"]`), { timeout: T }, objectId);
  if ((await apiCall("GET", `/v1/objects/${typeId}/${objectId}`)).status !== 200) throw new Error("the restored object is not back");
  await go("#/data/" + typeId + "/io");
  await page.waitForSelector('form[aria-label="Import CSV"] textarea', { timeout: T });
  await page.type('form[aria-label="Import CSV"] textarea', "title,priority\nImported,4\n,5\n");
  await submit("Import CSV");
  await page.waitForFunction(() => {
    const r = document.querySelector("#import-report");
    return r && r.textContent.includes("1 of 2 rows imported") && r.querySelector('table[aria-label="Import errors"]')?.textContent.includes("title is required");
  }, { timeout: T });
  out.steps.push(step);

  // 4. A live event arrives after an object is created.
  step = "live event";
  await go("#/events");
  await page.waitForFunction(() => document.querySelector("#live-state")?.textContent === "live", { timeout: T });
  const created = await apiCall("POST", "/v1/objects/" + typeId, { properties: { title: "Live one" } });
  const liveId = created.body.data.id;
  await page.waitForFunction((id) => [...document.querySelectorAll('#live-events li[data-event="object.created"]')]
    .some((li) => li.textContent.includes(id)), { timeout: T }, liveId);
  out.steps.push(step);

  // 5. A webhook, a delivery, and its replay.
  step = "replay a webhook delivery";
  await fill("New webhook", { url: "http://127.0.0.1:9/console-hook", events: "object.created" });
  await submit("New webhook");
  await page.waitForFunction(() => /#\/events\/wh_/.test(location.hash), { timeout: T });
  await page.waitForSelector("#webhook-secret", { timeout: T }).catch(() => {});
  await page.waitForSelector("#deliveries", { timeout: T });
  await apiCall("POST", "/v1/objects/" + typeId, { properties: { title: "Hooked" } });
  await until("a delivery", async () => {
    await page.click("#dl-refresh");
    await new Promise((r) => setTimeout(r, 400));
    return page.$('table[aria-label="Deliveries"] button[data-replay]');
  }, 30000);
  await page.click('table[aria-label="Deliveries"] button[data-replay]');
  await until("the replayed delivery", async () => {
    await page.click("#dl-refresh");
    await new Promise((r) => setTimeout(r, 400));
    return page.evaluate(() => [...document.querySelectorAll('table[aria-label="Deliveries"] tbody tr')]
      .some((tr) => tr.children[2].textContent === "replay"));
  }, 30000);
  out.steps.push(step);

  // 6. An image uploaded shows its preview (the thumb variant).
  step = "upload an image";
  await go("#/files");
  await page.waitForSelector("#file-input", { timeout: T });
  const img = path.join(outDir, "console-upload.png");
  writeFileSync(img, png());
  const input = await page.$("#file-input");
  await input.uploadFile(img);
  await page.waitForFunction(() => {
    const i = document.querySelector('img[alt="Preview of console-upload.png"]');
    return i && i.complete && i.naturalWidth > 0;
  }, { timeout: 30000 });
  out.preview_width = await page.$eval('img[alt="Preview of console-upload.png"]', (i) => i.naturalWidth);
  out.steps.push(step);

  // 7. A key created, rotated: the new secret shown once works, the old
  // one no longer does.
  step = "rotate a key";
  await go("#/users");
  await page.waitForSelector('form[aria-label="New API key"]', { timeout: T });
  const label = "rotate-" + Date.now().toString(36);
  await fill("New API key", { label });
  await submit("New API key");
  await page.waitForSelector("#new-secret", { timeout: T });
  const first = await page.$eval("#new-secret", (e) => e.textContent);
  await go("#/data");
  await go("#/users");
  await page.waitForSelector(`button[aria-label="Rotate key ${label}"]`, { timeout: T });
  await page.click(`button[aria-label="Rotate key ${label}"]`);
  await page.waitForFunction((f) => {
    const s = document.querySelector("#new-secret");
    return s && s.textContent.startsWith("tsk_") && s.textContent !== f;
  }, { timeout: T }, first);
  const second = await page.$eval("#new-secret", (e) => e.textContent);
  const okNew = await apiCall("GET", "/v1/object-types", undefined, second);
  const okOld = await apiCall("GET", "/v1/object-types", undefined, first);
  if (okNew.status !== 200 || okOld.status !== 401) throw new Error(`after rotation: new ${okNew.status}, old ${okOld.status}`);
  out.steps.push(step);

  // The policy simulator: which sample rows the policy lets this user see;
  // a malformed condition is refused on the policy's field.
  step = "simulate a policy";
  await page.waitForSelector('form[aria-label="Policy simulator"] select[name="object_type_id"]', { timeout: T });
  await page.select('form[aria-label="Policy simulator"] select[name="object_type_id"]', typeId);
  await submit("Policy simulator");
  await page.waitForFunction(() => /1 of 2 rows allowed/.test(document.querySelector('#main').textContent), { timeout: T });
  await fill("Policy simulator", { policy: '{"action": "select", "condition_json": {"x": 1}}' });
  await submit("Policy simulator");
  await page.waitForSelector('form[aria-label="Policy simulator"] [name="policy"][aria-invalid="true"]', { timeout: T });
  out.steps.push(step);

  // 8. Settings: a value out of range is refused on its field; a good one
  // is saved.
  step = "settings";
  const before = (await apiCall("GET", "/v1/dev/mail")).body.data.total;
  const sent = await apiCall("POST", "/v1/email/send", { to: ["ada@example.com"], subject: "Héllo from the console",
    text: "Line one\nLine two = done" });
  if (sent.status !== 200 && sent.status !== 202) throw new Error("email: " + JSON.stringify(sent.body));
  await until("the message in the inbox", async () =>
    (await apiCall("GET", "/v1/dev/mail")).body.data.total > before);
  await go("#/settings");
  // The development mail inbox shows it, decoded.
  await page.waitForSelector('button[aria-label="Open Héllo from the console"]', { timeout: T });
  await page.click('button[aria-label="Open Héllo from the console"]');
  await page.waitForFunction(() => /Line two = done/.test(document.querySelector("#mail-text")?.textContent || ""), { timeout: T });
  await page.waitForSelector('form[aria-label="Governance"] [name="audit_retention_days"]', { timeout: T });
  await fill("Governance", { audit_retention_days: "0" });
  await submit("Governance");
  await page.waitForSelector('form[aria-label="Governance"] [name="audit_retention_days"][aria-invalid="true"]', { timeout: T });
  await fill("Governance", { audit_retention_days: "45" });
  await submit("Governance");
  await until("the saved governance", async () =>
    (await apiCall("GET", "/v1/governance")).body.data.audit_retention_days === 45);
  out.steps.push(step);

  // 9. Secure delete of the type: the console asks (the dialog is
  // accepted), then cascades with the confirm token.
  step = "delete the type";
  await go("#/data/" + typeId);
  await page.waitForSelector("::-p-text(Delete type)", { timeout: T });
  await page.click("::-p-text(Delete type)");
  await page.waitForFunction(() => location.hash === "#/data", { timeout: T });
  await until("the type gone", async () => (await apiCall("GET", "/v1/object-types/" + typeId)).status === 404);
  out.steps.push(step);

  // 10. An end user signs in with email and password; the pages they may
  // not reach say so.
  step = "sign in with email and password";
  const email = "admin-" + Date.now().toString(36) + "@example.com";
  const made = await apiCall("POST", "/v1/users", { email, password: "correct horse battery staple", email_verified: true });
  if (made.status !== 201) throw new Error("user: " + JSON.stringify(made.body));
  const tenantId = (await apiCall("GET", "/v1/usage")).body.data.tenant_id;
  await page.click("#signout");
  await fill("Sign in with email and password", { tenant_id: tenantId, email, password: "wrong password!" });
  await submit("Sign in with email and password");
  await page.waitForSelector('form[aria-label="Sign in with email and password"] p.err', { timeout: T });
  await fill("Sign in with email and password", { tenant_id: tenantId, email, password: "correct horse battery staple" });
  await submit("Sign in with email and password");
  await page.waitForSelector("#file-grid", { timeout: T });
  if ((await page.evaluate(() => sessionStorage.getItem("tessera.console.token.kind"))) !== "user") throw new Error("not a user session");
  await go("#/users");
  await page.waitForFunction(() => /INSUFFICIENT_SCOPE/.test(document.querySelector("main").textContent), { timeout: T });
  await page.click("#signout");
  await page.waitForSelector('form[aria-label="Sign in with an API key"]', { timeout: T });
  if (await page.evaluate(() => sessionStorage.length)) throw new Error("sign-out left something in sessionStorage");
  out.steps.push(step);

  // 11. Back with the key: that user's session is listed and revoked.
  step = "revoke a session";
  await fill("Sign in with an API key", { api_key: key });
  await submit("Sign in with an API key");
  await page.waitForSelector("#nav:not([hidden])", { timeout: T });
  await go("#/users");
  await page.waitForSelector(`button[aria-label="Details of ${email}"]`, { timeout: T });
  await page.click(`button[aria-label="Details of ${email}"]`);
  await page.waitForSelector('table[aria-label="Sessions"] button', { timeout: T });
  await page.click('table[aria-label="Sessions"] button');
  await page.waitForFunction(() => /No active sessions/.test(document.querySelector("tr.details")?.textContent || ""), { timeout: T });
  out.steps.push(step);

  // 12. A user holding a role with the admin permission signs in with
  // email and password and gets the whole console: the Data page, where
  // they add an object (theirs: created_by names them), and the Users page;
  // their access token is exchanged ahead of its expiry and keeps working.
  step = "admin user signs in with email and password";
  const bossEmail = "boss-" + Date.now().toString(36) + "@example.com";
  const boss = await apiCall("POST", "/v1/users", { email: bossEmail, password: "correct horse battery staple", email_verified: true });
  const adminRole = await apiCall("POST", "/v1/roles", { name: "admin", permissions: ["admin"] });
  if (boss.status !== 201 || adminRole.status !== 201) throw new Error("boss: " + JSON.stringify([boss.body, adminRole.body]));
  const bossId = boss.body.data.id;
  await apiCall("POST", "/v1/roles/assign", { user_id: bossId, role_id: adminRole.body.data.id });
  const tasks = await apiCall("POST", "/v1/object-types", { name: "tasks_" + Date.now().toString(36), display_name: "Tasks" });
  const tasksId = tasks.body.data.id;
  await apiCall("POST", `/v1/object-types/${tasksId}/properties`, { name: "title", data_type: "string" });
  await page.click("#signout");
  await fill("Sign in with email and password", { tenant_id: tenantId, email: bossEmail, password: "correct horse battery staple" });
  await submit("Sign in with email and password");
  await page.waitForSelector('form[aria-label="New object type"]', { timeout: T });
  if ((await page.evaluate(() => location.hash)) !== "#/data") throw new Error("the admin did not land on the Data page");
  await go("#/data/" + tasksId + "/objects");
  await page.waitForSelector('form[aria-label="New object"]', { timeout: T });
  await fill("New object", { "properties.title": "From the admin" });
  await submit("New object");
  await page.waitForFunction(() => [...document.querySelectorAll('button[data-prop="title"]')].some((b) => b.textContent === "From the admin"), { timeout: T });
  const listed = (await apiCall("GET", `/v1/objects/${tasksId}/list`)).body.data.results;
  const mine = listed.find((o) => o.properties.title === "From the admin");
  if (!mine || mine.created_by !== bossId) throw new Error("the admin's object: " + JSON.stringify(listed));
  const oldToken = await page.evaluate(() => sessionStorage.getItem("tessera.console.token"));
  await page.evaluate(() => sessionStorage.setItem("tessera.console.token.renew", String(Date.now() - 1000)));
  await go("#/users");
  await page.waitForSelector('form[aria-label="New API key"]', { timeout: T });
  const newToken = await page.evaluate(() => sessionStorage.getItem("tessera.console.token"));
  if (newToken === oldToken) throw new Error("the access token was not refreshed");
  if ((await apiCall("GET", "/v1/keys", undefined, newToken)).status !== 200) throw new Error("the refreshed token does not administer");
  await page.click("#signout");
  await page.waitForSelector('form[aria-label="Sign in with an API key"]', { timeout: T });
  if (await page.evaluate(() => sessionStorage.length)) throw new Error("sign-out left something in sessionStorage");
  out.steps.push(step);

  if (consoleErrors.length) throw new Error("errors in the page: " + consoleErrors.join(" | "));
  console.log(JSON.stringify({ ok: true, ...out }));
} catch (e) {
  const shots = [];
  try {
    const name = path.join(outDir, "console-failed-" + step.replace(/\W+/g, "-") + ".png");
    await page.screenshot({ path: name, fullPage: true });
    shots.push(name);
    for (const p of ["data", "users", "files", "events", "settings"]) {
      await go("#/" + p);
      await new Promise((r) => setTimeout(r, 700));
      const n = path.join(outDir, "console-page-" + p + ".png");
      await page.screenshot({ path: n, fullPage: true });
      shots.push(n);
    }
  } catch {
    /* the screenshots are a help, not the result */
  }
  console.log(JSON.stringify({ ok: false, step, error: String(e && e.stack || e), console: consoleErrors, screenshots: shots, ...out }));
  process.exitCode = 1;
} finally {
  await browser.close();
}
