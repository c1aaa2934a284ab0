// tests/integration/openapi_client.mjs — what a client author does with
// /docs/openapi.json: validate it (OpenAPI 3.1 schema validator), generate
// TypeScript types (openapi-typescript) and type-check a small program
// against them (tsc).  Then it runs the same requests against the stack.
//
// Usage: node openapi_client.mjs BASE_URL API_KEY WORKDIR
// Needs NODE_PATH=build/test-npm/node_modules (tools/test-npm/install) and
// prints one JSON line: {"ok": true, ...} or {"ok": false, "error": "..."}.
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const [base, key, work] = process.argv.slice(2);
const mods = process.env.NODE_PATH.split(":")[0];
const require = createRequire(path.join(mods, "x.js"));
const out = {};
const fail = (msg) => {
  console.log(JSON.stringify({ ok: false, error: msg, ...out }));
  process.exit(1);
};

const res = await fetch(base + "/docs/openapi.json");
if (res.status !== 200) fail("GET /docs/openapi.json: " + res.status);
const text = await res.text();
const doc = JSON.parse(text);
mkdirSync(work, { recursive: true });
writeFileSync(path.join(work, "openapi.json"), text);

// 1. Valid OpenAPI 3.1.
const { Validator } = await import(path.join(mods, "@seriousme/openapi-schema-validator/index.js"));
const v = new Validator();
const r = await v.validate(doc);
out.version = v.version;
if (!r.valid) fail("invalid OpenAPI: " + JSON.stringify(r.errors).slice(0, 2000));

// 2. What a generator needs: every operation answers a 4xx (but the health
// probes), 501s are marked, a license, every JSON body has an example.
const ops = [];
for (const [p, item] of Object.entries(doc.paths))
  for (const [m, op] of Object.entries(item)) ops.push([m.toUpperCase(), p, op]);
out.operations = ops.length;
const no4xx = ops.filter(([, , op]) => !Object.keys(op.responses).some((s) => s.startsWith("4")))
  .map(([m, p]) => m + " " + p).filter((s) => s !== "GET /health" && s !== "GET /ready");
if (no4xx.length) fail("operations without a 4xx response: " + no4xx.join(", "));
const noExample = ops.filter(([, , op]) => op.requestBody?.content?.["application/json"] &&
  op.requestBody.content["application/json"].example === undefined).map(([m, p]) => m + " " + p);
if (noExample.length) fail("JSON bodies without an example: " + noExample.join(", "));
out.bodies = ops.filter(([, , op]) => op.requestBody).length;
// Every body's example is a request its schema accepts (JSON Schema 2020-12,
// the components resolvable): what a generated client would send.
const Ajv2020 = require("ajv/dist/2020").default;
const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
ajv.addSchema({ $id: "doc", components: doc.components });
const local = (s) => JSON.parse(JSON.stringify(s).replaceAll('"#/components/', '"doc#/components/'));
const badExamples = [];
for (const [m, p, op] of ops) {
  const media = op.requestBody?.content?.["application/json"];
  if (!media) continue;
  const check = ajv.compile(local(media.schema));
  if (!check(media.example)) badExamples.push(`${m} ${p}: ${ajv.errorsText(check.errors)}`);
}
if (badExamples.length) fail(badExamples.length + " body examples their schema refuses: " + badExamples.slice(0, 10).join("; "));
// A value outside a member's enum is refused by the server too, naming the
// member (the schema and the server read the same route rows).
const hdrs = { Authorization: "Bearer " + key, "Content-Type": "application/json" };
let enumChecked = 0;
const enumWrong = [];
for (const [m, p, op] of ops) {
  const media = op.requestBody?.content?.["application/json"];
  if (!media || op["x-implemented"] === false || !media.example || typeof media.example !== "object") continue;
  for (const [k, s] of Object.entries(media.schema.properties || {})) {
    if (!Array.isArray(s.enum)) continue;
    const url = p.replace(/\{[^}]+\}/g, "x_1");
    const res = await fetch(base + url, { method: m, headers: hdrs,
      body: JSON.stringify({ ...media.example, [k]: "no-such-" + k }) });
    const j = await res.json();
    if (res.status === 403 || res.status === 401) continue; /* routes for end users only */
    enumChecked++;
    if (res.status !== 400 || j.error?.details?.field !== k)
      enumWrong.push(`${m} ${p} ${k}: ${res.status} ${JSON.stringify(j.error).slice(0, 160)}`);
  }
}
if (enumWrong.length) fail("enum members the server took: " + enumWrong.slice(0, 8).join("; "));
if (enumChecked < 20) fail("only " + enumChecked + " enum members checked");
out.enums_checked = enumChecked;
const planned = ops.filter(([, , op]) => op["x-implemented"] === false);
if (planned.some(([, , op]) => !/not yet available/i.test(op.description))) fail("a 501 route without its note");
out.not_implemented = planned.length;
if (!doc.info.license?.name) fail("no info.license");
// The storage and services named are Tessera's own, not another vendor's.
const vendor = /Cloudflare|\bR2\b|Vectorize|Durable Objects/.exec(text);
if (vendor) fail("the document names another platform: " + text.slice(Math.max(0, vendor.index - 80), vendor.index + 80));
const param = (m, p, name) => (ops.find(([om, op_]) => om === m && op_ === p)?.[2].parameters || [])
  .some((x) => x.name === name);
for (const [m, p, names] of [
  ["GET", "/v1/objects/{object_type_id}/list", ["filter", "view_id", "cursor", "sort"]],
  ["GET", "/v1/webhook-deliveries", ["webhook_id", "status", "event_type"]],
  ["GET", "/v1/events/list", ["event_type"]],
  ["GET", "/v1/auth/notifications", ["unread_only", "cursor"]],
]) for (const n of names) if (!param(m, p, n)) fail(`${m} ${p} lacks the parameter ${n}`);
const tags = doc.tags.map((t) => t.name);
if (tags[0] !== "Object Types" || tags.indexOf("Objects") > 3) fail("tag order: " + tags.slice(0, 5));

// The responses are what the document says: real calls, their bodies
// checked against the documented schema of their status.
const respSchema = (m, p, status) => {
  const op = ops.find(([om, op_]) => om === m && op_ === p)?.[2];
  const r = op && (op.responses[String(status)] || op.responses.default);
  return r && r.$ref ? doc.components.responses[r.$ref.split("/").pop()].content["application/json"].schema
    : r?.content?.["application/json"]?.schema;
};
const hdr = { Authorization: "Bearer " + key };
const real = async (m, p, url, body, form) => {
  const res = await fetch(base + url, { method: m, headers: form ? hdr : { ...hdr, "Content-Type": "application/json" },
    body: form || (body === undefined ? undefined : JSON.stringify(body)) });
  const json = await res.json();
  const schema = respSchema(m, p, res.status);
  if (!schema) fail(`${m} ${url} answered ${res.status}, which the document does not list`);
  const check = ajv.compile(local(schema));
  if (!check(json)) fail(`${m} ${url} (${res.status}) does not match its schema: ${ajv.errorsText(check.errors)}: ${JSON.stringify(json).slice(0, 400)}`);
  return json.data;
};
const tt = await real("POST", "/v1/object-types", "/v1/object-types", { name: "doc_" + Date.now().toString(36) });
await real("POST", "/v1/object-types/{object_type_id}/properties", `/v1/object-types/${tt.id}/properties`, { name: "title", data_type: "string" });
await real("GET", "/v1/object-types", "/v1/object-types");
await real("GET", "/v1/object-types/{object_type_id}/properties", `/v1/object-types/${tt.id}/properties`);
const oo = await real("POST", "/v1/objects/{object_type_id}", `/v1/objects/${tt.id}`, { properties: { title: "x" } });
await real("PATCH", "/v1/objects/{object_type_id}/{object_id}", `/v1/objects/${tt.id}/${oo.id}`, { properties: { title: "y" } });
await real("GET", "/v1/objects/{object_type_id}/list", `/v1/objects/${tt.id}/list?filter=` +
  encodeURIComponent(JSON.stringify([{ property: "title", operator: "eq", value: "y" }])));
await real("POST", "/v1/objects/{object_type_id}", `/v1/objects/${tt.id}`, { properties: { nope: 1 } });
await real("POST", "/v1/keys", "/v1/keys", { label: "doc", scopes: ["read"] });
await real("GET", "/v1/keys", "/v1/keys");
await real("GET", "/v1/users", "/v1/users");
await real("POST", "/v1/webhooks", "/v1/webhooks", { url: "http://127.0.0.1:9/doc", events: ["object.created"] });
await real("GET", "/v1/webhooks", "/v1/webhooks");
await real("GET", "/v1/webhook-deliveries", "/v1/webhook-deliveries");
await real("GET", "/v1/events/list", "/v1/events/list");
const fd = new FormData();
fd.append("file", new Blob(["hello"], { type: "text/plain" }), "hello.txt");
await real("POST", "/v1/files/upload", "/v1/files/upload", undefined, fd);
await real("POST", "/v1/files/search", "/v1/files/search", {});
await real("GET", "/health", "/health");
await real("GET", "/events/types", "/events/types");
await real("GET", "/events/types", "/events/types?details=true");
await real("POST", "/v1/auth/signup", "/v1/auth/signup", { email: "doc" + Date.now().toString(36) + "@example.com",
  password: "correct-horse-battery-staple" });
await real("POST", "/v1/auth/portal-identify", "/v1/auth/portal-identify", { email: "nobody@example.com" });
out.responses_checked = 22;

// 3. Types, and a program that type-checks against them.
const ts = execFileSync(path.join(mods, ".bin/openapi-typescript"),
  [path.join(work, "openapi.json"), "-o", path.join(work, "api.d.ts")], { encoding: "utf8", stdio: "pipe" });
writeFileSync(path.join(work, "client.ts"), `
import type { paths, components } from "./api";

type Body<P extends keyof paths, M extends "post" | "patch"> =
  paths[P][M] extends { requestBody?: { content: { "application/json": infer B } } } ? B : never;
type Query<P extends keyof paths> =
  paths[P]["get"] extends { parameters: { query?: infer Q } } ? NonNullable<Q> : never;
type Ok<P extends keyof paths, M extends "get" | "post", S extends 200 | 201> =
  paths[P][M] extends { responses: { [K in S]: { content: { "application/json": infer R } } } } ? R : never;

declare const base: string, key: string;
async function call<T>(method: string, url: string, body?: unknown): Promise<T> {
  const res = await fetch(base + url, { method, headers: { Authorization: "Bearer " + key,
    "Content-Type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  return (await res.json()) as T;
}

export async function main(): Promise<string[]> {
  const type: Body<"/v1/object-types", "post"> = { name: "notes", display_name: "Notes" };
  const t = await call<Ok<"/v1/object-types", "post", 201>>("POST", "/v1/object-types", type);
  const typeId: string | undefined = t.data?.id;
  const prop: Body<"/v1/object-types/{object_type_id}/properties", "post"> = { name: "title", data_type: "string" };
  await call("POST", "/v1/object-types/" + typeId + "/properties", prop);
  const obj: Body<"/v1/objects/{object_type_id}", "post"> = { properties: { title: "x" } };
  const mixed: components["schemas"]["ObjectProperties"] = { title: "x", n: 2, done: true, tags: ["a"], none: null };
  const created = await call<Ok<"/v1/objects/{object_type_id}", "post", 201>>("POST", "/v1/objects/" + typeId, obj);
  const title = created.data?.properties.title;
  const q: Query<"/v1/objects/{object_type_id}/list"> = { filter: JSON.stringify([{ property: "title", operator: "eq", value: "x" }]), limit: 10 };
  const list = await call<Ok<"/v1/objects/{object_type_id}/list", "get", 200>>("GET",
    "/v1/objects/" + typeId + "/list?filter=" + encodeURIComponent(q.filter ?? "") + "&limit=" + q.limit);
  const rows: components["schemas"]["Object"][] = list.data?.results ?? [];
  const deliveries: Query<"/v1/webhook-deliveries"> = { webhook_id: "wh_1", status: "failed", event_type: "object.created" };
  return [String(title), String(rows.length), String(mixed.n), String(deliveries.status)];
}
`);
writeFileSync(path.join(work, "tsconfig.json"), JSON.stringify({
  compilerOptions: { strict: true, noEmit: true, target: "es2022", module: "es2022",
    moduleResolution: "bundler", lib: ["es2022", "dom"], skipLibCheck: true, types: [] },
  files: ["client.ts"] }));
try {
  execFileSync(path.join(mods, ".bin/tsc"), ["-p", path.join(work, "tsconfig.json")], { encoding: "utf8", stdio: "pipe" });
} catch (e) {
  fail("tsc: " + (e.stdout || "") + (e.stderr || ""));
}
// A program that must not type-check: a property value that no data type has.
writeFileSync(path.join(work, "bad.ts"), `
import type { paths } from "./api";
type Body = paths["/v1/objects/{object_type_id}"]["post"] extends
  { requestBody?: { content: { "application/json": infer B } } } ? B : never;
export const b: Body = { properties: { title: () => 1 } };
`);
writeFileSync(path.join(work, "tsconfig.bad.json"), JSON.stringify({
  compilerOptions: { strict: true, noEmit: true, target: "es2022", module: "es2022",
    moduleResolution: "bundler", skipLibCheck: true, types: [] }, files: ["bad.ts"] }));
let badPassed = true;
try {
  execFileSync(path.join(mods, ".bin/tsc"), ["-p", path.join(work, "tsconfig.bad.json")], { stdio: "pipe" });
} catch {
  badPassed = false;
}
if (badPassed) fail("a function as a property value type-checked: the types admit anything");
out.typed = true;
console.log(JSON.stringify({ ok: true, ...out }));
