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


def build_parameters(route_path, key_names, spec_row):
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
    for sp in spec_params:
        if sp.get("in") != "query" or not sp.get("name") or sp["name"] in seen:
            continue
        seen.add(sp["name"])
        param = {"name": sp["name"], "in": "query", "required": bool(sp.get("required")),
                 "schema": param_schema(sp)}
        if sp.get("description"):
            param["description"] = sp["description"]
        params.append(param)
    return params


def build_request_body(spec_row):
    if not spec_row:
        return None
    example = spec_row.get("request")
    if isinstance(example, (dict, list)):
        return {"required": True, "content": {"application/json": {
            "schema": infer_schema(example), "example": example}}}
    if "multipart" in (spec_row.get("description") or "").lower():
        return {"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["file"],
            "properties": {"file": {"type": "string", "format": "binary"}}}}}}
    return None


def success_content(example, spec_row):
    if isinstance(example, (dict, list)):
        return {"application/json": {"schema": infer_schema(example), "example": example}}
    if isinstance(example, str):
        return {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
    if "html" in (spec_row or {}).get("description", "").lower():
        return {"text/html": {"schema": {"type": "string"}}}
    return {"application/json": {"schema": {"$ref": "#/components/schemas/SuccessEnvelope"}}}


def build_responses(route, spec_row, has_body, key_names, query_params):
    responses = {}
    rows = (spec_row or {}).get("responses") or []
    for r in rows:
        status = int(r.get("status", 200))
        responses[str(status)] = {"description": reason(status),
                                  "content": success_content(r.get("example"), spec_row)}
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
    if not any(int(s) < 400 for s in responses):
        responses["200"] = {"description": "OK", "content": success_content(None, spec_row)}

    wanted = []
    if has_body or query_params:
        wanted.append(400)
    if route.get("auth") == "bearer":
        wanted += [401, 403]
    if key_names:
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


def components():
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
        "schemas": {"Error": ERROR_SCHEMA, "SuccessEnvelope": SUCCESS_SCHEMA},
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
            "`x-scope` is the API key scope an operation requires."]
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
    group_desc = {g.get("name"): g.get("description") for g in groups if isinstance(g, dict)}
    tag_order = [g.get("name") for g in groups if isinstance(g, dict)]

    paths, keys_by_shape, seen, used_ids = {}, {}, set(), set()
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
        description = (spec_row or {}).get("description") or summary
        if route.get("implemented") is False:
            description += "\n\n**Not implemented yet:** answers 501 NOT_IMPLEMENTED."
        if spec_row is None:
            description += "\n\n**Tessera extension:** not in the API reference."

        op = {"tags": [group], "summary": summary, "description": description,
              "operationId": operation_id(method, route["path"], used_ids)}
        params = build_parameters(route["path"], key_names, spec_row)
        if params:
            op["parameters"] = params
        body = build_request_body(spec_row) if method not in ("GET", "HEAD", "DELETE") else None
        # An implemented route declares its body schema in the route table;
        # that is what the server enforces, so it wins over the inference.
        if route.get("request_schema"):
            body = body or {"required": False, "content": {"application/json": {}}}
            body["content"]["application/json"]["schema"] = route["request_schema"]
            # The reference's placeholder example ("scopes": [{}]) would
            # contradict the real schema; drop it rather than mislead.
            body["content"]["application/json"].pop("example", None)
            body["required"] = bool(route["request_schema"].get("required"))
        if body:
            op["requestBody"] = body
        query_params = [p for p in params if p["in"] == "query"]
        op["responses"] = build_responses(route, spec_row, body is not None, key_names, query_params)
        op["security"] = [] if route.get("auth") == "none" else [{"bearerAuth": []}]
        op["x-scope"] = route.get("scope") or ""
        op["x-implemented"] = route.get("implemented") is not False
        if spec_row is None:
            op["x-tessera-extension"] = True
        paths.setdefault(key, {})[method.lower()] = op

    tags = [{"name": t, **({"description": group_desc[t]} if group_desc.get(t) else {})}
            for t in sorted(tags_used, key=lambda t: (tag_order.index(t) if t in tag_order else len(tag_order), tags_used.index(t)))]
    doc = {
        "openapi": OPENAPI_VERSION,
        "info": {"title": "Tessera API", "version": version, "description": info_description(spec)},
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "tags": tags,
        "paths": paths,
        "components": components(),
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
