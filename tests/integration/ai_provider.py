#!/usr/bin/python3
"""A fake AI provider for the integration tests (tests/integration/test_ai.c).

Speaks the OpenAI wire format (POST /chat/completions, /embeddings, GET
/models) and Anthropic's Messages API (POST /messages, GET /models), plain
and streamed (Server-Sent Events in each format's own chunk shapes), on
127.0.0.1 (port 0: the kernel picks one, written to --port-file).  Every
base URL is http://127.0.0.1:<port>/<box>/v1, so one server serves many
tests; each box records what it received and answers by its plan:

  PUT /control/<box>   {"statuses": [429, 200], "retry_after": 1,
                       "event_delay_ms": 50}: answers in order (the last one
                       repeats; default 200), a 429 with that Retry-After;
                       streamed events that far apart
  GET /control/<box>   {"received": [{"method", "path", "headers", "body"}]}

The answer's text is "echo: <the last user message>" (with "[image]" when
the last message carries an image), so tests can tell what was sent.
"""
import argparse
import hashlib
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
BOXES = {}


def box(name):
    return BOXES.setdefault(name, {"statuses": [200], "retry_after": None, "received": [],
                                   "answered": 0, "event_delay_ms": 50})


def last_user_text(messages):
    for m in reversed(messages):
        if m.get("role") != "user":
            continue
        c = m.get("content")
        if isinstance(c, str):
            return c
        text, image = "", False
        for part in c or []:
            if part.get("type") == "text":
                text += part.get("text", "")
            elif part.get("type") in ("image", "image_url"):
                image = True
        return text + (" [image]" if image else "")
    return ""


def embedding(text, dims=8):
    h = hashlib.sha256(text.encode()).digest()
    return [(b - 128) / 128.0 for b in h[:dims]]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def send_json(self, status, obj, headers=None):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_PUT(self):
        name = self.path.split("/")[2]
        plan = json.loads(self.read_body() or b"{}")
        with LOCK:
            b = box(name)
            b.update({k: v for k, v in plan.items()
                      if k in ("statuses", "retry_after", "event_delay_ms")})
            b["answered"] = 0
        self.send_json(200, {"ok": True})

    def do_GET(self):
        parts = self.path.split("/")
        if parts[1] == "control":
            with LOCK:
                self.send_json(200, {"received": box(parts[2])["received"]})
            return
        self.api("GET", b"")

    def do_POST(self):
        self.api("POST", self.read_body())

    def api(self, method, raw):
        parts = self.path.split("/", 3)          # "", box, "v1", rest
        name, rest = parts[1], "/" + (parts[3] if len(parts) > 3 else "")
        body = json.loads(raw) if raw else None
        with LOCK:
            b = box(name)
            b["received"].append({"method": method, "path": rest,
                                  "headers": {k.lower(): v for k, v in self.headers.items()},
                                  "body": body})
            statuses = b["statuses"]
            status = statuses[min(b["answered"], len(statuses) - 1)]
            b["answered"] += 1
            retry_after = b["retry_after"]
        if status == 429:
            hdr = {"Retry-After": str(retry_after)} if retry_after is not None else {}
            self.send_json(429, {"error": {"type": "rate_limit_error",
                                           "message": "slow down, test"}}, hdr)
            return
        if status >= 400:
            self.send_json(status, {"error": {"type": "server_error",
                                              "message": "the fake provider failed on purpose"}})
            return
        model = (body or {}).get("model")
        if model == "no-such-model":
            self.send_json(404, {"error": {"type": "invalid_request_error", "code": "model_not_found",
                                           "message": "The model `no-such-model` does not exist"}})
            return
        if rest == "/models":
            ids = ["claude-3-test"] if "x-api-key" in self.headers else \
                ["gpt-test", "text-embedding-test", "gpt-4o-mini"]
            self.send_json(200, {"data": [{"id": i} for i in ids]})
        elif rest == "/embeddings":
            inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
            self.send_json(200, {"data": [{"index": i, "embedding": embedding(t)}
                                          for i, t in enumerate(inputs)],
                                 "model": body["model"], "usage": {"prompt_tokens": 3 * len(inputs)}})
        elif rest == "/chat/completions":
            self.openai_chat(body)
        elif rest == "/messages":
            self.anthropic_chat(body)
        else:
            self.send_json(404, {"error": {"message": "no such path " + rest}})

    def stream_start(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

    def event(self, text):
        self.wfile.write(text.encode())
        self.wfile.flush()
        with LOCK:
            delay = box(self.path.split("/")[1])["event_delay_ms"]
        time.sleep(delay / 1000.0)

    def openai_chat(self, body):
        text = "echo: " + last_user_text(body["messages"])
        if not body.get("stream"):
            self.send_json(200, {"id": "chatcmpl-1", "object": "chat.completion",
                                 "model": body["model"] + "-0001",
                                 "choices": [{"index": 0, "finish_reason": "stop",
                                              "message": {"role": "assistant", "content": text}}],
                                 "usage": {"prompt_tokens": 11, "completion_tokens": 7,
                                           "total_tokens": 18}})
            return
        self.stream_start()
        words = text.split(" ")
        for i, w in enumerate(words):
            chunk = {"id": "chatcmpl-1", "object": "chat.completion.chunk",
                     "model": body["model"] + "-0001",
                     "choices": [{"index": 0, "delta": {"content": w + (" " if i + 1 < len(words) else "")},
                                  "finish_reason": None}]}
            self.event("data: " + json.dumps(chunk) + "\n\n")
        self.event("data: " + json.dumps({"id": "chatcmpl-1", "model": body["model"] + "-0001",
                                          "choices": [{"index": 0, "delta": {},
                                                       "finish_reason": "stop"}]}) + "\n\n")
        self.event("data: " + json.dumps({"id": "chatcmpl-1", "choices": [],
                                          "usage": {"prompt_tokens": 11, "completion_tokens": 7}})
                   + "\n\n")
        self.event("data: [DONE]\n\n")

    def anthropic_chat(self, body):
        text = "echo: " + last_user_text(body["messages"])
        if not body.get("stream"):
            self.send_json(200, {"id": "msg_1", "type": "message", "role": "assistant",
                                 "model": body["model"], "stop_reason": "end_turn",
                                 "content": [{"type": "text", "text": text}],
                                 "usage": {"input_tokens": 13, "output_tokens": 5}})
            return
        self.stream_start()
        ev = lambda t, d: self.event("event: %s\ndata: %s\n\n" % (t, json.dumps(d)))
        ev("message_start", {"type": "message_start",
                             "message": {"id": "msg_1", "type": "message", "role": "assistant",
                                         "model": body["model"], "content": [],
                                         "usage": {"input_tokens": 13, "output_tokens": 1}}})
        ev("content_block_start", {"type": "content_block_start", "index": 0,
                                   "content_block": {"type": "text", "text": ""}})
        self.event("event: ping\ndata: {\"type\": \"ping\"}\n\n")
        words = text.split(" ")
        for i, w in enumerate(words):
            ev("content_block_delta", {"type": "content_block_delta", "index": 0,
                                       "delta": {"type": "text_delta",
                                                 "text": w + (" " if i + 1 < len(words) else "")}})
        ev("content_block_stop", {"type": "content_block_stop", "index": 0})
        ev("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                             "usage": {"output_tokens": 5}})
        ev("message_stop", {"type": "message_stop"})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    args = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
