#!/usr/bin/env python3
"""Generate Tessera's OpenAPI 3.1 document from the route table.

Usage: tools/openapi.py ROUTES_JSON SPEC_JSON OUT [--version V]

ROUTES_JSON is the output of `tessera routes --json` ("-" reads stdin): one
object per route with method, path (":name" parameters), group, summary,
auth ("none" or "bearer"), scope and implemented. The route table is the
source of truth: every route becomes exactly one operation, and nothing that
is not a route is documented.

SPEC_JSON is tools/spec/endpoints.json, the machine-readable API reference.
Its row for the same (method, path) adds the description, query parameters,
request and response examples and documented errors. Request and response
schemas are inferred from those examples.

OUT receives the document (written atomically). info.version is V, or 0.1.0.
"""

import argparse
import http
import json
import os
import re
import sys
import tempfile

OPENAPI_VERSION = "3.1.0"
DEFAULT_VERSION = "0.1.0"
PARAM_RE = re.compile(r"^[:*]([A-Za-z_][A-Za-z0-9_]*)$")
DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
PARAM_TYPES = {"string", "integer", "number", "boolean"}

ERROR_SCHEMA = {
    "type": "object",
    "description": "The error envelope every failed request answers with.",
    "required": ["success", "error", "request_id"],
    "properties": {
        "success": {"const": False},
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "Stable error code, e.g. VALIDATION_ERROR."},
                "message": {"type": "string", "description": "Human-readable explanation."},
                "details": {"description": "Extra information, e.g. which field failed validation."},
            },
        },
        "request_id": {"type": "string", "description": "Same as the X-Request-Id header."},
    },
}

SUCCESS_SCHEMA = {
    "type": "object",
    "description": "The envelope every successful JSON response is wrapped in.",
    "required": ["success", "data", "request_id"],
    "properties": {
        "success": {"const": True},
        "data": {},
        "request_id": {"type": "string"},
    },
}

# Standard error responses: (component name, status, code, description).
STANDARD_ERRORS = [
    ("BadRequest", 400, "VALIDATION_ERROR", "The request is malformed or fails validation (INVALID_JSON, VALIDATION_ERROR)."),
    ("Unauthorized", 401, "UNAUTHORIZED", "Missing, invalid or expired API key or token."),
    ("Forbidden", 403, "INSUFFICIENT_SCOPE", "The key lacks the required scope, or the tenant is suspended or over quota."),
    ("NotFound", 404, "NOT_FOUND", "No such resource in this tenant."),
    ("PayloadTooLarge", 413, "PAYLOAD_TOO_LARGE", "The request body exceeds the limit."),
    ("RateLimited", 429, "RATE_LIMITED", "Too many requests; retry after the number of seconds in Retry-After."),
    ("NotImplemented", 501, "NOT_IMPLEMENTED", "This endpoint is not implemented yet."),
    ("Error", None, "INTERNAL_ERROR", "Any other error, in the standard error envelope."),
]
ERROR_COMPONENT_BY_STATUS = {status: name for name, status, _, _ in STANDARD_ERRORS if status}

# The groups a newcomer starts with come first; the others follow in the
# reference's order.
TAG_FIRST = ["Object Types", "Properties", "Objects", "Views", "Files", "API Keys", "Users",
             "Authentication", "Roles", "Policies", "Webhooks", "Webhook Deliveries", "Events",
             "Realtime", "Audit"]

# Query parameters the hand-written handlers read (req_query* in handlers/),
# beyond what the reference lists.  CRUD rows get theirs from the route
# table (`resource`: filters, sorts, show_all); test_console checks a few of
# these against the server.  (name, type, description)
PAGE = [("limit", "integer", "Page size."), ("offset", "integer", "Rows to skip.")]
CURSOR = [("limit", "integer", "Page size."),
          ("cursor", "string", "The next_cursor of the previous page.")]
OBJECT_LIST = CURSOR + [
    ("filter", "string", "A JSON array of filters, each {\"property\", \"operator\", \"value\"}; "
                         "operators eq neq gt gte lt lte in nin contains starts_with is_null "
                         "is_not_null, e.g. `[{\"property\":\"status\",\"operator\":\"eq\",\"value\":\"open\"}]`."),
    ("view_id", "string", "A saved view whose filters, sort and columns apply."),
    ("sort", "string", "A sortable property (or created_at, updated_at)."),
    ("order", "string", "asc or desc.")]
VARIANT = [("w", "integer", "Width in pixels."), ("h", "integer", "Height in pixels."),
           ("fit", "string", "cover, contain, fill, inside or outside."),
           ("format", "string", "jpeg, png or webp."), ("quality", "integer", "1 to 100."),
           ("crop", "string", "A crop box x,y,w,h."), ("gravity", "string", "Where to crop from."),
           ("rotate", "integer", "0, 90, 180 or 270."), ("blur", "string", "Blur sigma."),
           ("autorotate", "boolean", "Apply the EXIF orientation (default true).")]
ON_BEHALF = [("user_id", "string", "With an API key: the end user acted for.")]
EXTRA_QUERY = {
    ("GET", "/v1/objects/:object_type_id/list"): OBJECT_LIST,
    ("GET", "/v1/objects/:object_type_id/trash"): OBJECT_LIST,
    ("GET", "/v1/webhook-deliveries"): PAGE + [
        ("webhook_id", "string", "Deliveries of this webhook only."),
        ("status", "string", "succeeded or failed."),
        ("event_type", "string", "Deliveries of this event type only."),
        ("event_id", "string", "Deliveries of this event only."),
        ("created_after", "string", "RFC 3339 time."), ("created_before", "string", "RFC 3339 time.")],
    ("GET", "/v1/events/list"): CURSOR + PAGE[1:] + [
        ("event_type", "string", "A custom event's name (as POST /v1/events took it)."),
        ("type", "string", "An event type, a prefix such as object.* or *.")],
    ("GET", "/v1/auth/notifications"): CURSOR + [
        ("unread_only", "boolean", "Only unread notifications.")] + ON_BEHALF,
    ("GET", "/v1/auth/notifications/count"): ON_BEHALF,
    ("GET", "/v1/auth/notifications/preferences"): ON_BEHALF,
    ("PUT", "/v1/auth/notifications/preferences"): ON_BEHALF,
    ("DELETE", "/v1/auth/notifications/preferences/:channel"): ON_BEHALF,
    ("POST", "/v1/auth/notifications/read-all"): ON_BEHALF,
    ("GET", "/v1/auth/sessions"): ON_BEHALF,
    ("DELETE", "/v1/auth/sessions"): ON_BEHALF,
    ("DELETE", "/v1/auth/sessions/:session_id"): ON_BEHALF,
    ("GET", "/v1/audit-logs"): PAGE + [("action", "string", "e.g. object.created."),
                                       ("resource_type", "string", "e.g. object.")],
    ("GET", "/v1/errors"): CURSOR + [("level", "string", "error, warning or info."),
                                     ("source", "string", "Where the error was reported from.")],
    ("GET", "/v1/errors/summary"): [("limit", "integer", "Groups to return."),
                                    ("level", "string", "error, warning or info."),
                                    ("source", "string", "Where the error was reported from.")],
    ("GET", "/v1/users"): [("role", "string", "Users with this role."),
                           ("search", "string", "Part of the email or phone.")],
    ("GET", "/v1/files/folders"): PAGE,
    ("GET", "/v1/files/trash"): CURSOR,
    ("DELETE", "/v1/files/:file_id"): [("permanent", "boolean", "Delete now instead of moving to the trash.")],
    ("DELETE", "/v1/files/trash"): [("force", "boolean", "Confirm emptying the trash."),
                                    ("confirm_token", "string", "The token the first call answered.")],
    ("GET", "/v1/files/:file_id/content"): [("version", "integer", "An older version of the file."),
                                            ("download", "boolean", "Content-Disposition attachment (default true)."),
                                            ("disposition", "string", "inline or attachment.")],
    ("GET", "/v1/files/:file_id/variants/:variant"): VARIANT,
    ("GET", "/events/stream"): [("channels", "string", "Comma-separated event types or prefixes.")],
    ("GET", "/events/types"): [("details", "string", "true: each type with its description.")],
    ("GET", "/v1/dlq"): PAGE,
    ("GET", "/v1/automations/:automation_id/runs"): PAGE,
    ("GET", "/v1/functions/:function_id/logs"): PAGE + [("status", "string", "Runs with this status.")],
    ("GET", "/v1/integrations/:integration_id/logs"): PAGE,
    ("GET", "/v1/accounting/bank-accounts/:bank_account_id/transactions"): PAGE + [
        ("status", "string", "Transactions with this status.")],
    ("GET", "/v1/accounting/reports/general-ledger"): [("account_id", "string", "One account only.")],
    ("GET", "/v1/accounting/reports/trial-balance"): [("period_id", "string", "The period to report.")],
    ("GET", "/v1/accounting/accounts"): [("active", "boolean", "Active accounts only.")],
    ("GET", "/v1/accounting/journal-entries"): [("account_id", "string", "Entries touching this account.")],
    ("GET", "/v1/analytics/engine"): [("event_type", "string", "One event type only.")],
    ("GET", "/v1/forms/:form_id/analytics"): [("days", "integer", "Days to cover (default 30).")],
    ("GET", "/v1/forms/:form_id/submissions/export"): [("format", "string", "csv or json.")],
    ("GET", "/v1/saved-reports/:report_id/export"): [("format", "string", "csv or json.")],
    ("GET", "/v1/dashboards/:dashboard_id"): [("refresh", "boolean", "Recompute the widgets' data instead of the cache.")],
    ("GET", "/v1/objects/:object_type_id/:object_id/comments"): CURSOR,
    ("GET", "/v1/objects/:type/:id/associations"): CURSOR + [
        ("association_type", "string", "One association type only."),
        ("direction", "string", "from, to or both.")],
    ("GET", "/v1/auth/verify"): [("token", "string", "The token the email carried."),
                                 ("type", "string", "signup, recovery or email_change.")],
    ("GET", "/v1/auth/oauth/:provider"): [("redirect_to", "string", "Where to return after sign-in.")],
    ("GET", "/v1/auth/oauth/:provider/callback"): [
        ("code", "string", "The provider's authorization code."), ("state", "string", "The state sent."),
        ("error", "string", "The provider's error."), ("error_description", "string", "Its text."),
        ("iss", "string", "The issuer (RFC 9207).")],
    ("GET", "/v1/realtime"): [("channels", "string", "Comma-separated channels."),
                              ("token", "string", "An end user's JWT (browsers cannot set headers)."),
                              ("tenant_id", "string", "The tenant, with token.")],
    ("POST", "/v1/files/:file_id/upload-put"): [("token", "string", "The signature."),
                                                 ("expires", "string", "Expiry (Unix seconds)."),
                                                 ("t", "string", "The tenant.")],
}

# The reference describes another vendor's platform in places; the
# descriptions say what Tessera runs on instead (README: Files, Realtime, AI).
DESCRIPTION_FIXES = [
    ("Uses Durable Objects with WebSocket Hibernation.",
     "The app checks the token and the channels, then nginx's nchan module holds the connection "
     "(no worker does)."),
    ("Generate embeddings for objects and insert them into the Vectorize index.",
     "Generate embeddings for objects and store them in the tenant's vector index (its MariaDB "
     "database: `_ai_vectors`)."),
    ("Search the Vectorize index for objects", "Search the tenant's vector index (exact cosine) for objects"),
    ("List available Cloudflare Workers AI models grouped by capability.",
     "List the available AI models (the built-in local ones and each configured provider's) grouped "
     "by capability."),
    ("R2 object is cleaned up asynchronously.",
     "The bytes (on local disk under `storage_root`) stay while the file is in the trash and are "
     "removed by the runner after `files_trash_days`, or at once with `permanent=true`."),
    ("an image file stored in R2", "an image file stored by Tessera"),
    ("File storage on Cloudflare R2 with", "File storage on local disk (`storage_root`) with"),
    ("Cloudflare Workers AI — ", "AI (built-in local models, or the providers you configure) — "),
    ("direct client-side upload to R2, bypassing the Worker size limit.",
     "direct client-side upload of the bytes to Tessera's storage (local disk under `storage_root`), "
     "beyond the 25 MB direct-upload limit."),
]


def fix_description(text):
    for old, new in DESCRIPTION_FIXES:
        text = text.replace(old, new)
    return text


# Values of an object's properties: one JSON shape per data type (string,
# text, email, url, date, datetime, enum, reference, file: string; integer,
# number, decimal, currency, percent: number; boolean; multi_enum, array:
# array; json, geo_point: object or any; null clears a value).
PROPERTY_VALUE = {
    "description": "A property value; its JSON shape depends on the property's data_type.",
    "anyOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"},
              {"type": "array", "items": {}}, {"type": "object", "additionalProperties": True},
              {"type": "null"}]}
OBJECT_PROPERTIES = {
    "type": "object", "description": "The object's property values by property name.",
    "additionalProperties": {"$ref": "#/components/schemas/PropertyValue"}}
OBJECT_SCHEMA = {
    "type": "object", "required": ["id", "object_type_id", "properties"],
    "properties": {
        "id": {"type": "string"}, "object_type_id": {"type": "string"},
        "properties": {"$ref": "#/components/schemas/ObjectProperties"},
        "created_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": "string", "format": "date-time"},
        "created_by": {"type": ["string", "null"]}, "version": {"type": "integer"},
        "is_deleted": {"type": "boolean"}},
    "additionalProperties": True}
OBJECT_LIST_SCHEMA = {
    "type": "object", "required": ["results", "next_cursor"],
    "properties": {"results": {"type": "array", "items": {"$ref": "#/components/schemas/Object"}},
                   "next_cursor": {"type": ["string", "null"]}, "total": {"type": "integer"}}}
PAGE_SCHEMA = {
    "type": "object", "description": "An offset page: the rows are under the list's own key.",
    "properties": {"total": {"type": "integer"}, "limit": {"type": "integer"},
                   "offset": {"type": "integer"}}}
CURSOR_SCHEMA = {
    "type": "object", "description": "A cursor page: the rows are under the list's own key.",
    "properties": {"next_cursor": {"type": ["string", "null"]}, "total": {"type": "integer"}}}
# Hand-written object routes: what data holds.
OBJECT_ROUTES = {
    ("POST", "/v1/objects/:object_type_id"): "Object",
    ("GET", "/v1/objects/:object_type_id/:object_id"): "Object",
    ("PATCH", "/v1/objects/:object_type_id/:object_id"): "Object",
    ("POST", "/v1/objects/:object_type_id/:object_id/restore"): "Object",
    ("GET", "/v1/objects/:object_type_id/list"): "ObjectList",
    ("GET", "/v1/objects/:object_type_id/trash"): "ObjectList",
}
# What data holds on hand-written routes (and CRUD rows whose reply hook
# reshapes a write), where it is not free-form.
def _ref(name):
    return {"$ref": "#/components/schemas/%s" % name}


def _page(key, row, cursor=False):
    props = {key: {"type": "array", "items": row}, "total": {"type": "integer"}}
    if cursor:
        props["next_cursor"] = {"type": ["string", "null"]}
    else:
        props.update({"limit": {"type": "integer"}, "offset": {"type": "integer"}})
    return {"type": "object", "required": [key], "properties": props}


WEBHOOK_DELIVERY_SCHEMA = {
    "type": "object", "additionalProperties": True,
    "properties": {"id": {"type": "string"}, "webhook_id": {"type": "string"}, "event_id": {"type": "string"},
                   "event_type": {"type": "string"}, "trigger": {"type": "string", "description": "event, retry, replay or test"},
                   "attempt": {"type": "integer"}, "status": {"type": "string", "description": "succeeded or failed"},
                   "status_code": {"type": ["integer", "null"]}, "duration_ms": {"type": ["integer", "null"]},
                   "response_excerpt": {"type": ["string", "null"]}, "error": {"type": ["string", "null"]},
                   "created_at": {"type": "string", "format": "date-time"}}}
EVENT_SCHEMA = {
    "type": "object", "additionalProperties": True,
    "properties": {"id": {"type": "string"}, "type": {"type": "string"}, "event_type": {"type": "string"},
                   "resource_type": {"type": ["string", "null"]}, "resource_id": {"type": ["string", "null"]},
                   "data": {}, "actor_type": {"type": "string"}, "actor_id": {"type": ["string", "null"]},
                   "created_at": {"type": "string", "format": "date-time"}}}
_EVENT_TYPE = {"type": "object", "required": ["type"], "properties": {
    "type": {"type": "string"}, "resource_type": {"type": "string"}, "description": {"type": "string"},
    "subscribable": {"type": "boolean"}, "in_feed": {"type": "boolean"}, "example": {}}}
# A sign-up: tokens, or null tokens and confirmation_sent when the address
# must be confirmed first.
_SIGNED_UP = {"type": "object", "required": ["user", "access_token"], "properties": {
    "access_token": {"type": ["string", "null"]}, "refresh_token": {"type": ["string", "null"]},
    "token_type": {"type": "string"}, "expires_in": {"type": "integer"}, "expires_at": {"type": "integer"},
    "confirmation_sent": {"type": "boolean"}, "user": _ref("User")}}

DATA_SCHEMAS = {
    ("POST", "/v1/files/upload"): _ref("File"),
    ("POST", "/v1/files/:file_id/restore"): _ref("File"),
    ("POST", "/v1/files/search"): _page("results", _ref("File"), cursor=True),
    ("GET", "/v1/files/trash"): _page("results", _ref("File"), cursor=True),
    ("GET", "/v1/webhook-deliveries"): _page("deliveries", _ref("WebhookDelivery")),
    ("GET", "/v1/events/list"): {"allOf": [_page("events", _ref("Event"), cursor=True),
                                           {"type": "object", "properties": {"limit": {"type": "integer"},
                                                                             "offset": {"type": "integer"}}}]},
    ("POST", "/v1/keys"): {"type": "object", "required": ["key", "token"],
                           "properties": {"key": _ref("ApiKey"),
                                          "token": {"type": "string", "description": "The secret, shown this once."}}},
    ("POST", "/v1/keys/:key_id/rotate"): {"type": "object", "required": ["old_key", "new_key", "token"],
                                          "properties": {"old_key": _ref("ApiKey"), "new_key": _ref("ApiKey"),
                                                         "token": {"type": "string", "description": "The new secret, shown this once."}}},
    ("POST", "/v1/webhooks"): {"allOf": [_ref("Webhook"), {"type": "object", "required": ["secret"], "properties": {
        "secret": {"type": "string", "description": "The signing secret, shown this once."}}}]},
    ("GET", "/v1/object-types/:object_type_id"): _ref("ObjectType"),
    ("GET", "/health"): {"type": "object", "required": ["status", "service", "version", "timestamp", "uptime"],
                         "properties": {
        "status": {"type": "string", "enum": ["ok", "degraded"]}, "service": {"type": "string"},
        "version": {"type": "string"}, "timestamp": {"type": "string", "format": "date-time"},
        "region": {"type": "string"}, "uptime": {"type": "integer", "description": "Seconds since the pool started."},
        "checks": {"type": "object", "additionalProperties": {"type": "string"}}}},
    ("GET", "/events/types"): {"type": "array", "description": "Type names; objects with ?details=true.",
                               "items": {"anyOf": [{"type": "string"}, _EVENT_TYPE]}},
    ("POST", "/v1/auth/signup"): _SIGNED_UP,
    ("POST", "/v1/auth/portal-signup"): _SIGNED_UP,
    ("GET", "/v1/auth/user"): _ref("User"),
    ("POST", "/v1/auth/passkeys/register/complete"): _ref("Passkey"),
    ("PATCH", "/v1/auth/user"): _ref("User"),
    ("GET", "/v1/auth/sessions"): {"type": "array", "items": {"type": "object", "properties": {
        "id": {"type": "string"}, "user_id": {"type": "string"}, "aal": {"type": "string"},
        "ip": {"type": ["string", "null"]}, "user_agent": {"type": ["string", "null"]},
        "created_at": {"type": "string", "format": "date-time"},
        "last_active_at": {"type": ["string", "null"], "format": "date-time"},
        "expires_at": {"type": ["string", "null"], "format": "date-time"}, "current": {"type": "boolean"}}}},
    ("POST", "/v1/sql"): {"type": "object", "properties": {
        "columns": {"type": "array", "items": {"type": "string"}},
        "rows": {"type": "array", "items": {"type": "object", "additionalProperties": True}},
        "row_count": {"type": "integer"}, "duration_ms": {"type": "number"}}},
    ("POST", "/v1/ai/embeddings"): {"type": "object", "properties": {
        "embeddings": {"type": "array", "items": {"type": "array", "items": {"type": "number"}}},
        "model": {"type": "string"}, "dimensions": {"type": "integer"}, "usage": {"type": "object"}}},
    ("POST", "/v1/files/uploads/tus"): {"type": "object", "properties": {
        "file_id": {"type": "string"}, "upload_url": {"type": "string"}, "upload_length": {"type": "integer"},
        "upload_offset": {"type": "integer"}, "status": {"type": "string"}}},
    ("POST", "/v1/auth/portal-identify"): {"type": "object", "properties": {
        "tenant_id": {"type": ["string", "null"], "description": "The tenant when exactly one matches."},
        "multiple_tenants": {"type": "boolean"},
        "tenants": {"type": "array", "items": {"type": "object", "properties": {
            "id": {"type": "string"}, "name": {"type": "string"}}}}}},
}

# Routes whose success is a file, not the envelope (by status).
_BINARY = {"schema": {"type": "string", "format": "binary"}}
_EXPORT = {"text/csv": {"schema": {"type": "string"}},
           "application/json": {"schema": {"description": "The rows (or the report's result) as JSON."}}}
FILE_ANSWERS = {
    ("GET", "/v1/files/:file_id/content"): {200: {"application/octet-stream": _BINARY},
                                            206: {"application/octet-stream": _BINARY}},
    ("GET", "/v1/forms/:form_id/submissions/export"): {200: _EXPORT},
    ("GET", "/v1/saved-reports/:report_id/export"): {200: dict(_EXPORT, **{
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": _BINARY})},
}

# Answers a route gives besides its reference row's: an association PUT
# that makes the link answers 201 (200 when it was there), a tus upload
# is created (201).
EXTRA_SUCCESS = {
    ("PUT", "/v1/objects/:from_type/:from_id/associations/:association_type/:to_type/:to_id"): (201,),
    ("POST", "/v1/files/uploads/tus"): (201,),
}

COL_SCHEMA = {"string": {"type": "string"}, "integer": {"type": "integer"},
              "boolean": {"type": "boolean"},
              "date-time": {"type": ["string", "null"], "format": "date-time"},
              "json": {}, "words": {"type": "array", "items": {"type": "string"}}}


def fail(msg):
    print("openapi.py: " + msg, file=sys.stderr)
    sys.exit(1)


def load_json(path):
    try:
        if path == "-":
            return json.load(sys.stdin)
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        fail("cannot read %s: %s" % (path, e))


def segments(path):
    return [s for s in path.split("/") if s]


def path_params(path):
    """Names of the parameters in a route pattern, in order."""
    out = []
    for seg in segments(path):
        m = PARAM_RE.match(seg)
        if m:
            out.append(m.group(1))
        elif seg.startswith((":", "*")):
            fail("bad path parameter %r in %s" % (seg, path))
    return out


def shape(path):
    """The path with parameter names erased: /v1/x/:id and /v1/x/{key} agree."""
    return "/" + "/".join("{}" if seg.startswith((":", "*", "{")) else seg for seg in segments(path))


def template(path, names=None):
    """Route pattern to an OpenAPI path template, optionally renaming params."""
    names = list(names) if names is not None else None
    out = []
    for seg in segments(path):
        if PARAM_RE.match(seg):
            name = names.pop(0) if names is not None else PARAM_RE.match(seg).group(1)
            out.append("{%s}" % name)
        else:
            out.append(seg)
    return "/" + "/".join(out)


def infer_schema(value):
    """A JSON Schema describing an example value (types only, no constraints)."""
    if value is None:
        return {}
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "integer"}
    if isinstance(value, float):
        return {"type": "number"}
    if isinstance(value, str):
        if value == "...":
            return {}  # the reference's placeholder: any value
        if DATETIME_RE.match(value):
            return {"type": "string", "format": "date-time"}
        return {"type": "string"}
    if isinstance(value, list):
        items = next((v for v in value if v is not None), None)
        return {"type": "array", "items": infer_schema(items) if items is not None else {}}
    if isinstance(value, dict):
        schema = {"type": "object"}
        if value:
            schema["properties"] = {k: infer_schema(v) for k, v in value.items()}
        return schema
    return {}


def reason(status):
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Status %d" % status


def operation_id(method, path, used):
    parts = [method.lower()]
    segs = segments(path)
    if segs and segs[0] == "v1":
        segs = segs[1:]
    for seg in segs:
        m = PARAM_RE.match(seg)
        word = ("by_" + m.group(1)) if m else seg
        parts.append(re.sub(r"[^A-Za-z0-9]+", "_", word).strip("_").lower())
    if len(parts) == 1:
        parts.append("root")
    base = "_".join(p for p in parts if p)
    op_id, n = base, 2
    while op_id in used:
        op_id, n = "%s_%d" % (base, n), n + 1
    used.add(op_id)
    return op_id


def param_schema(p):
    ptype = p.get("type") if p.get("type") in PARAM_TYPES else "string"
    schema = {"type": ptype}
    m = re.search(r"Default:\s*([^\s,;]+)", p.get("description") or "")
    if m:
        raw = m.group(1)
        try:
            if ptype == "integer":
                schema["default"] = int(raw)
            elif ptype == "number":
                schema["default"] = float(raw)
            elif ptype == "boolean" and raw in ("true", "false"):
                schema["default"] = raw == "true"
            elif ptype == "string":
                schema["default"] = raw
        except ValueError:
            pass
    return schema


def query_param(name, ptype, description, required=False):
    param = {"name": name, "in": "query", "required": required, "schema": {"type": ptype}}
    if description:
        param["description"] = description
    return param


def build_parameters(route, key_names, spec_row):
    spec_params = (spec_row or {}).get("params") or []
    spec_path = [p for p in spec_params if p.get("in") == "path"]
    params = []
    for i, name in enumerate(key_names):
        # Match the reference's path params by name, else by position.
        sp = next((p for p in spec_path if p.get("name") == name), None)
        if sp is None and i < len(spec_path):
            sp = spec_path[i]
        param = {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        if sp and sp.get("description"):
            param["description"] = sp["description"]
        params.append(param)
    seen = set(key_names)

    def add(param):
        if param["name"] not in seen:
            seen.add(param["name"])
            params.append(param)

    for sp in spec_params:
        if sp.get("in") != "query" or not sp.get("name"):
            continue
        param = {"name": sp["name"], "in": "query", "required": bool(sp.get("required")),
                 "schema": param_schema(sp)}
        if sp.get("description"):
            param["description"] = sp["description"]
        add(param)
    # A CRUD list: what the resource engine reads.
    res = route.get("resource") or {}
    if res.get("op") == "list":
        add(query_param("limit", "integer", "Page size."))
        if res.get("list_shape") == "page":
            add(query_param("offset", "integer", "Rows to skip."))
        else:
            add(query_param("cursor", "string", "The next_cursor of the previous page "
                            "(the X-Next-Cursor header of an array list)."))
        for f in res.get("filters") or []:
            add(query_param(f["name"], f["type"], "Rows whose %s equals this." % f["name"]))
        if res.get("sorts"):
            p = query_param("sort", "string", "Order by a field; a leading - sorts descending.")
            p["schema"]["enum"] = [s for n in res["sorts"] for s in (n, "-" + n)]
            add(p)
        if res.get("show_all"):
            add(query_param(res["show_all"], "boolean", "true: include rows that are no longer live."))
    for name, ptype, desc in EXTRA_QUERY.get((route["method"].upper(), route["path"]), []):
        add(query_param(name, ptype, desc))
    return params


# --- request bodies: schemas and examples -----------------------------------

def free_form(schema, path=()):
    """An object schema without properties admits any members: say so, since
    generators read a bare {"type": "object"} as an empty object."""
    if not isinstance(schema, dict):
        return schema
    types = schema.get("type")
    types = types if isinstance(types, list) else [types]
    if "object" in types and "properties" not in schema and "additionalProperties" not in schema:
        schema["additionalProperties"] = True
    for k, v in (schema.get("properties") or {}).items():
        free_form(v)
    if isinstance(schema.get("items"), dict):
        free_form(schema["items"])
    return schema


def object_body(route_path, schema):
    """Object routes: properties are the type's values, free-form by name."""
    if not route_path.startswith("/v1/objects/:object_type_id"):
        return schema
    props = schema.get("properties") or {}
    if "properties" in props:
        props["properties"] = {"$ref": "#/components/schemas/ObjectProperties"}
    item = {"type": "object", "required": ["properties"],
            "properties": {"properties": {"$ref": "#/components/schemas/ObjectProperties"}}}
    if route_path.endswith("/batch/create") and "objects" in props:
        props["objects"]["items"] = item
    if route_path.endswith("/batch/update") and "updates" in props:
        upd = json.loads(json.dumps(item))
        upd["required"] = ["object_id", "properties"]
        upd["properties"]["object_id"] = {"type": "string"}
        props["updates"]["items"] = upd
    return schema


EXAMPLE_STRINGS = {
    "email": "ada@example.com", "password": "correct-horse-battery-staple", "url": "https://example.com/hook",
    "name": "contacts", "display_name": "Contacts", "label": "CI deploy key", "title": "First note",
    "description": "What this is for.", "data_type": "string", "phone": "+15555550123",
    "code": "123456", "token": "tok_0123456789abcdef", "role": "member", "folder": "docs",
    "filename": "report.pdf", "mime_type": "application/pdf", "event_type": "order.placed",
    "object_type_id": "ot_0123456789abcdef", "object_id": "obj_0123456789abcdef",
    "user_id": "usr_0123456789abcdef", "file_id": "file_0123456789abcdef",
    "currency": "USD", "date": "2026-01-31", "timezone": "UTC", "cron_expression": "0 9 * * 1",
    "redirect_to": "https://example.com/welcome", "query": "SELECT 1", "message": "Hello",
    "body": "Looks good to me.", "channel": "email", "provider": "google", "action": "read",
    "start_date": "2026-01-01", "end_date": "2026-12-31", "due_date": "2026-02-28",
    "effective_date": "2026-01-31", "run_at": "2026-01-31T09:00:00Z", "next_run": "2026-02-01",
    "created_after": "2026-01-01T00:00:00Z", "created_before": "2026-12-31T23:59:59Z",
    "expires_at": "2027-01-01T00:00:00Z", "to": "ada@example.com", "reply_to": "ada@example.com",
    "from": "Tessera <noreply@example.com>", "date_property": "created_at",
}
EXAMPLE_ARRAYS = {"scopes": ["read", "write"], "events": ["object.created"], "ip_allowlist": ["203.0.113.0/24"],
                  "enum_values": ["open", "closed"], "object_ids": ["obj_0123456789abcdef"],
                  "file_ids": ["file_0123456789abcdef"], "channels": ["object.*"], "tags": ["launch"],
                  "categories": ["security"]}


def schema_types(schema):
    t = schema.get("type")
    return t if isinstance(t, list) else ([t] if t else [])


def fits(value, schema, components_schemas):
    """Whether an example value satisfies a (simple) schema."""
    if not isinstance(schema, dict):
        return True
    if "$ref" in schema:
        return fits(value, components_schemas.get(schema["$ref"].rsplit("/", 1)[-1], {}), components_schemas)
    if "anyOf" in schema:
        return any(fits(value, s, components_schemas) for s in schema["anyOf"])
    types = schema_types(schema)
    if value == "..." or (isinstance(value, list) and value and value[0] in ({}, "...")):
        return False
    if types:
        ok = {"string": isinstance(value, str), "integer": isinstance(value, int) and not isinstance(value, bool),
              "number": isinstance(value, (int, float)) and not isinstance(value, bool),
              "boolean": isinstance(value, bool), "object": isinstance(value, dict),
              "array": isinstance(value, list), "null": value is None}
        if not any(ok.get(t, False) for t in types):
            return False
    if "enum" in schema and value not in schema["enum"]:
        return False
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0) or len(value) > schema.get("maxLength", 1 << 30):
            return False
    if isinstance(value, int) and not isinstance(value, bool) and "minimum" in schema:
        if not schema["minimum"] <= value <= schema.get("maximum", value):
            return False
    if isinstance(value, list):
        if len(value) > schema.get("maxItems", 1 << 30):
            return False
        return all(fits(v, schema.get("items") or {}, components_schemas) for v in value)
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        if any(k not in value for k in schema.get("required") or []):
            return False
        for k, v in value.items():
            if k in props:
                if not fits(v, props[k], components_schemas):
                    return False
            elif schema.get("additionalProperties") is False:
                return False
            elif isinstance(schema.get("additionalProperties"), dict):
                if not fits(v, schema["additionalProperties"], components_schemas):
                    return False
    return True


def make_value(name, schema, components_schemas):
    if "$ref" in schema:
        ref = schema["$ref"].rsplit("/", 1)[-1]
        if ref == "ObjectProperties":
            return {"title": "Hello", "priority": 2}
        return make_value(name, components_schemas.get(ref, {}), components_schemas)
    types = [t for t in schema_types(schema) if t != "null"]
    kind = types[0] if types else "string"
    if [v for v in schema.get("enum") or [] if v is not None]:
        return EXAMPLE_STRINGS[name] if name in EXAMPLE_STRINGS and EXAMPLE_STRINGS[name] in schema["enum"] \
            else [v for v in schema["enum"] if v is not None][0]
    if kind == "string":
        v = EXAMPLE_STRINGS.get(name, name.replace("_", "-") if name else "value")
        if len(v) < schema.get("minLength", 0):
            v = v + "x" * (schema["minLength"] - len(v))
        return v[:schema.get("maxLength", len(v))]
    if kind in ("integer", "number"):
        return max(schema.get("minimum", 1), 1) if schema.get("maximum", 1) >= 1 else schema.get("minimum", 0)
    if kind == "boolean":
        return True
    if kind == "array":
        if name in EXAMPLE_ARRAYS and fits(EXAMPLE_ARRAYS[name], schema, components_schemas):
            return EXAMPLE_ARRAYS[name]
        items = schema.get("items") or {}
        if items.get("type") == "string":
            return ["value"]
        if items.get("properties"):
            return [make_value(name, items, components_schemas)]
        return []
    if kind == "object":
        props = schema.get("properties") or {}
        return {k: make_value(k, props[k], components_schemas)
                for k in (schema.get("required") or []) if k in props}
    return None


def example_for(schema, spec_example, components_schemas):
    """The reference's example when it is a valid request; otherwise its
    valid members, and every required member made up from its name."""
    if fits(spec_example, schema, components_schemas) and spec_example not in ({}, None):
        return spec_example
    props = schema.get("properties") or {}
    out = {}
    if isinstance(spec_example, dict):
        for k, v in spec_example.items():
            if k in props and fits(v, props[k], components_schemas):
                out[k] = v
            elif k in props and v == "...":
                out[k] = make_value(k, props[k], components_schemas)
    for k in schema.get("required") or []:
        if k not in out and k in props:
            out[k] = make_value(k, props[k], components_schemas)
    if not out and props:
        # Nothing required: show one optional member.
        k = next(iter(props))
        out[k] = make_value(k, props[k], components_schemas)
    return out


def build_request_body(spec_row):
    if not spec_row:
        return None
    example = spec_row.get("request")
    if isinstance(example, (dict, list)):
        return {"required": True, "content": {"application/json": {
            "schema": free_form(infer_schema(example)), "example": example}}}
    if "multipart" in (spec_row.get("description") or "").lower():
        return {"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["file"],
            "properties": {"file": {"type": "string", "format": "binary"},
                           "folder": {"type": "string"}, "access": {"type": "string"}}}}}}
    return None


# --- responses ---------------------------------------------------------------

def component_name(res_type):
    return "".join(w.capitalize() for w in re.split(r"[^A-Za-z0-9]+", res_type) if w)


def envelope(data_schema):
    """The success envelope with data of this schema."""
    return {"allOf": [{"$ref": "#/components/schemas/SuccessEnvelope"},
                      {"type": "object", "properties": {"data": data_schema}}]}


def data_schema_of(route):
    """What data holds, when the route table says (CRUD rows, object rows)."""
    key = (route["method"].upper(), route["path"])
    if key in OBJECT_ROUTES:
        return {"$ref": "#/components/schemas/%s" % OBJECT_ROUTES[key]}
    if key in DATA_SCHEMAS:
        return DATA_SCHEMAS[key]
    res = route.get("resource")
    if not res or res.get("op") in (None, "none", "delete"):
        return None
    if res.get("custom_reply") and res["op"] != "list" and res["op"] != "get":
        return None
    row = {"$ref": "#/components/schemas/%s" % component_name(res["type"])}
    if res["op"] != "list":
        return row
    rows = {"type": "array", "items": row}
    shape = res.get("list_shape")
    if shape == "array":
        return rows
    return {"allOf": [{"$ref": "#/components/schemas/%s" % ("Page" if shape == "page" else "CursorPage")},
                      {"type": "object", "required": [res["list_key"]],
                       "properties": {res["list_key"]: rows}}]}


def resource_schemas(routes):
    """A component schema for each CRUD resource's rendered row."""
    out = {}
    for route in routes:
        res = route.get("resource")
        if not res or not res.get("fields"):
            continue
        name = component_name(res["type"])
        schema = out.setdefault(name, {"type": "object", "properties": {},
                                       "additionalProperties": True})
        for f, col in res["fields"].items():
            prop = json.loads(json.dumps(COL_SCHEMA.get(col, {})))
            # Any column but the id may be NULL, rendered null.
            if f != "id" and isinstance(prop.get("type"), str):
                prop["type"] = [prop["type"], "null"]
            schema["properties"].setdefault(f, prop)
        schema["required"] = ["id"] if "id" in res["fields"] else []
    return out


def user_rows(schema):
    """An inferred answer's "user" member is the User row (its email and
    phone may be null: anonymous and phone users), at any depth."""
    if isinstance(schema, dict):
        props = schema.get("properties")
        if isinstance(props, dict):
            for k, v in list(props.items()):
                props[k] = _ref("User") if k == "user" and v.get("type") == "object" else user_rows(v)
        if isinstance(schema.get("items"), dict):
            schema["items"] = user_rows(schema["items"])
    return schema


def success_content(example, spec_row, data_schema=None):
    if data_schema is not None:
        content = {"schema": envelope(data_schema)}
        if isinstance(example, dict) and example.get("success") is True:
            pass  # the reference's examples are placeholders ("...") here
        return {"application/json": content}
    if isinstance(example, (dict, list)):
        schema = free_form(infer_schema(example))
        if isinstance(example, dict) and example.get("success") is True and "data" in example:
            schema = envelope(free_form(user_rows(infer_schema(example["data"]))))
        return {"application/json": {"schema": schema, "example": example}}
    if isinstance(example, str):
        return {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
    if "html" in (spec_row or {}).get("description", "").lower():
        return {"text/html": {"schema": {"type": "string"}}}
    return {"application/json": {"schema": {"$ref": "#/components/schemas/SuccessEnvelope"}}}


def build_responses(route, spec_row, has_body, key_names, query_params):
    responses = {}
    data_schema = data_schema_of(route)
    rows = (spec_row or {}).get("responses") or []
    for r in rows:
        status = int(r.get("status", 200))
        responses[str(status)] = {"description": reason(status),
                                  "content": success_content(r.get("example"), spec_row,
                                                             data_schema if status < 300 else None)}
    for e in (spec_row or {}).get("errors") or []:
        status = int(e.get("status", 0))
        if not status or str(status) in responses:
            continue
        resp = {"description": e.get("description") or reason(status)}
        if status >= 400:
            resp["content"] = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        if status in (301, 302, 303, 307, 308):
            resp["headers"] = {"Location": {"schema": {"type": "string"}, "description": "Where to go next."}}
        responses[str(status)] = resp
    for status, content in FILE_ANSWERS.get((route["method"].upper(), route["path"]), {}).items():
        responses[str(status)] = {"description": reason(status), "content": content}
    for status in EXTRA_SUCCESS.get((route["method"].upper(), route["path"]), ()):
        responses.setdefault(str(status), {"description": reason(status),
                                           "content": success_content(None, spec_row, data_schema)})
    if not any(int(s) < 400 for s in responses):
        status = "201" if (route.get("resource") or {}).get("op") == "create" else "200"
        responses[status] = {"description": reason(int(status)),
                             "content": success_content(None, spec_row, data_schema)}

    wanted = []
    if has_body or query_params:
        wanted.append(400)
    if route.get("auth") == "bearer":
        wanted += [401, 403]
    # The public routes that answer 4xx of their own.
    if route.get("path") == "/webhooks/stripe":
        wanted.append(400)
    if key_names or route.get("path", "").startswith("/docs") or route.get("path") in ("/", "/v1/tenant-config"):
        wanted.append(404)
    if has_body:
        wanted.append(413)
    if route.get("auth") == "bearer":
        wanted.append(429)
    if route.get("implemented") is False:
        wanted.append(501)
    for status in wanted:
        if str(status) not in responses:
            responses[str(status)] = {"$ref": "#/components/responses/%s" % ERROR_COMPONENT_BY_STATUS[status]}
    responses["default"] = {"$ref": "#/components/responses/Error"}
    return responses


def components(routes=()):
    responses = {}
    for name, status, code, desc in STANDARD_ERRORS:
        example = {"success": False, "error": {"code": code, "message": desc},
                   "request_id": "req_0123456789abcdef0123456789abcdef"}
        resp = {"description": desc, "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Error"}, "example": example}}}
        if status == 429:
            resp["headers"] = {"Retry-After": {"description": "Seconds to wait before retrying.",
                                               "schema": {"type": "integer"}}}
        responses[name] = resp
    return {
        "securitySchemes": {"bearerAuth": {
            "type": "http", "scheme": "bearer",
            "description": "A tenant API key (scopes: read, write, schema, files, auth, ai, *) "
                           "or an end-user JWT issued by the auth endpoints."}},
        "schemas": {"Error": ERROR_SCHEMA, "SuccessEnvelope": SUCCESS_SCHEMA,
                    "Page": PAGE_SCHEMA, "CursorPage": CURSOR_SCHEMA,
                    "PropertyValue": PROPERTY_VALUE, "ObjectProperties": OBJECT_PROPERTIES,
                    "Object": OBJECT_SCHEMA, "ObjectList": OBJECT_LIST_SCHEMA,
                    "WebhookDelivery": WEBHOOK_DELIVERY_SCHEMA, "Event": EVENT_SCHEMA,
                    **resource_schemas(routes)},
        "responses": responses,
    }


def index_spec(spec):
    rows = spec.get("endpoints") if isinstance(spec, dict) else spec
    if not isinstance(rows, list):
        fail("the spec has no endpoints list")
    index = {}
    for row in rows:
        if isinstance(row, dict) and row.get("method") and row.get("path"):
            index.setdefault((row["method"].upper(), shape(row["path"])), row)
    return index


def info_description(spec):
    text = ["Tessera is a multi-tenant backend as a service. Every response is JSON: "
            "`{\"success\": true, \"data\": …, \"request_id\": \"req_…\"}` on success, "
            "`{\"success\": false, \"error\": {\"code\", \"message\", \"details\"?}, "
            "\"request_id\"}` on failure.",
            "Operations marked `x-implemented: false` answer 501 NOT_IMPLEMENTED for now; "
            "`x-scope` is the API key scope an operation requires; operations marked "
            "`x-tessera-extension: true` are Tessera's additions beyond the API reference."]
    conventions = spec.get("conventions") if isinstance(spec, dict) else None
    if conventions:
        # The reference's text, as Markdown: JSON examples as code, and
        # placeholders such as <token> escaped so they are not taken for HTML.
        paras = ["```json\n%s\n```" % c if str(c).lstrip().startswith("{")
                 else str(c).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                 for c in conventions]
        text.append("## Conventions\n\n" + "\n\n".join(paras))
    return "\n\n".join(text)


def build(routes, spec, version):
    if not isinstance(routes, list):
        fail("the route table is not a JSON array")
    spec_index = index_spec(spec)
    groups = spec.get("groups", []) if isinstance(spec, dict) else []
    group_desc = {g.get("name"): fix_description(g.get("description") or "") for g in groups if isinstance(g, dict)}
    tag_order = [g.get("name") for g in groups if isinstance(g, dict)]

    paths, keys_by_shape, seen, used_ids = {}, {}, set(), set()
    comps = components(routes)
    component_schemas = comps["schemas"]
    route_keys = {(r.get("method", "").upper(), r.get("path")) for r in routes}
    for table, name in ((EXTRA_QUERY, "EXTRA_QUERY"), (DATA_SCHEMAS, "DATA_SCHEMAS"), (OBJECT_ROUTES, "OBJECT_ROUTES")):
        for key in table:
            if key not in route_keys:
                fail("%s names %s %s, which is not a route" % ((name,) + key))
    matched, tags_used = 0, []
    for route in routes:
        for field in ("method", "path"):
            if not isinstance(route.get(field), str) or not route[field]:
                fail("route without %s: %r" % (field, route))
        method = route["method"].upper()
        if method not in ("GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"):
            fail("unsupported method %s for %s" % (method, route["path"]))
        rshape = shape(route["path"])
        if (method, rshape) in seen:
            fail("route listed twice: %s %s" % (method, route["path"]))
        seen.add((method, rshape))

        # OpenAPI forbids two templates that differ only in parameter names:
        # the first route of a shape names its parameters for all of them.
        names = path_params(route["path"])
        key = keys_by_shape.setdefault(rshape, template(route["path"]))
        key_names = re.findall(r"\{([^}]+)\}", key)
        if len(key_names) != len(names):
            fail("parameter mismatch for %s" % route["path"])

        spec_row = spec_index.get((method, rshape))
        matched += spec_row is not None
        group = route.get("group") or (spec_row or {}).get("group") or "Other"
        if group not in tags_used:
            tags_used.append(group)
        summary = route.get("summary") or (spec_row or {}).get("summary") or ""
        description = fix_description((spec_row or {}).get("description") or summary)
        if route.get("implemented") is False:
            description += ("\n\n**Not yet available:** this operation answers 501 "
                            "NOT_IMPLEMENTED for now (`x-implemented: false`).")
        if route.get("extension"):
            description += "\n\n**Tessera extension:** not in the API reference (see the README)."

        op = {"tags": [group], "summary": summary, "description": description,
              "operationId": operation_id(method, route["path"], used_ids)}
        params = build_parameters(route, key_names, spec_row)
        if params:
            op["parameters"] = params
        body = build_request_body(spec_row) if method not in ("GET", "HEAD", "DELETE") else None
        # An implemented route declares its body schema in the route table;
        # that is what the server enforces, so it wins over the inference.
        if route.get("request_schema"):
            body = body or {"required": False, "content": {"application/json": {}}}
            schema = object_body(route["path"], free_form(route["request_schema"]))
            media = body["content"].setdefault("application/json", {})
            media["schema"] = schema
            # The reference's example where it is a valid request (its
            # placeholders such as "scopes": [{}] are not), else one made
            # from the schema: what the server accepts.
            media["example"] = example_for(schema, media.get("example"), component_schemas)
            body["required"] = bool(route["request_schema"].get("required"))
        if body:
            op["requestBody"] = body
        query_params = [p for p in params if p["in"] == "query"]
        op["responses"] = build_responses(route, spec_row, body is not None, key_names, query_params)
        op["security"] = [] if route.get("auth") == "none" else [{"bearerAuth": []}]
        op["x-scope"] = route.get("scope") or ""
        op["x-implemented"] = route.get("implemented") is not False
        if route.get("extension"):
            op["x-tessera-extension"] = True
        paths.setdefault(key, {})[method.lower()] = op

    tags = [{"name": t, **({"description": group_desc[t]} if group_desc.get(t) else {})}
            for t in sorted(tags_used, key=lambda t: (
                TAG_FIRST.index(t) if t in TAG_FIRST else len(TAG_FIRST),
                tag_order.index(t) if t in tag_order else len(tag_order), tags_used.index(t)))]
    doc = {
        "openapi": OPENAPI_VERSION,
        "info": {"title": "Tessera API", "version": version, "description": info_description(spec),
                 "license": {"name": "Tessera license (see the repository)",
                             "identifier": "LicenseRef-Tessera"}},
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "tags": tags,
        "paths": paths,
        "components": comps,
    }
    spec_only = len(set(spec_index) - seen)
    print("openapi.py: %d operations from %d routes; %d matched the reference, %d reference rows have no route"
          % (sum(len(v) for v in paths.values()), len(routes), matched, spec_only), file=sys.stderr)
    return doc


def write_atomic(path, doc):
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".openapi.", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=1, ensure_ascii=False)
            f.write("\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def main(argv):
    ap = argparse.ArgumentParser(description="Generate Tessera's OpenAPI 3.1 document from the route table.")
    ap.add_argument("routes", help="output of `tessera routes --json` (- for stdin)")
    ap.add_argument("spec", help="tools/spec/endpoints.json")
    ap.add_argument("out", help="where to write openapi.json")
    ap.add_argument("--version", default=DEFAULT_VERSION, help="info.version (default %(default)s)")
    args = ap.parse_args(argv)
    doc = build(load_json(args.routes), load_json(args.spec), args.version)
    write_atomic(args.out, doc)


if __name__ == "__main__":
    main(sys.argv[1:])
