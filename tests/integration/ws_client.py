#!/usr/bin/python3
"""Realtime test client: a real WebSocket (python3-websockets) or SSE client.

Usage:
  ws_client.py ws  URL [--count N] [--timeout S]
  ws_client.py sse URL [--count N] [--timeout S] [--last-event-id ID] [--auth TOKEN]

Prints "OPEN" once the connection is established (the server has accepted the
subscription), then one line per message received, and exits after --count
messages or --timeout seconds of waiting (printing "TIMEOUT"), or when the
server closes the connection (printing "CLOSED").  For ws a line
is the frame's text; for sse it is JSON {"id", "event", "data"}.  A refused
handshake prints "STATUS <code>" and exits 3.
"""
import argparse
import asyncio
import http.client
import json
import socket
import sys
import urllib.error
import urllib.request


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def ws_main(args):
    import websockets
    try:
        conn = await asyncio.wait_for(websockets.connect(args.url, ping_interval=None), args.timeout)
    except websockets.exceptions.InvalidStatusCode as e:
        out("STATUS %d" % e.status_code)
        return 3
    try:
        out("OPEN")
        got = 0
        while got < args.count:
            try:
                msg = await asyncio.wait_for(conn.recv(), args.timeout)
            except asyncio.TimeoutError:
                out("TIMEOUT")
                return 0
            except websockets.exceptions.ConnectionClosed:
                out("CLOSED")
                return 0
            out(msg if isinstance(msg, str) else msg.decode())
            got += 1
    finally:
        await conn.close()
    return 0


def sse_main(args):
    headers = {"Accept": "text/event-stream"}
    if args.last_event_id:
        headers["Last-Event-ID"] = args.last_event_id
    if args.auth:
        headers["Authorization"] = "Bearer " + args.auth
    req = urllib.request.Request(args.url, headers=headers)
    try:
        resp = urllib.request.urlopen(req, timeout=args.timeout)
    except urllib.error.HTTPError as e:
        out("STATUS %d" % e.code)
        return 3
    except (socket.timeout, TimeoutError):
        out("TIMEOUT")
        return 0
    out("OPEN")
    got, event = 0, {"id": None, "event": None, "data": []}
    try:
        while got < args.count:
            raw = resp.readline()
            if not raw:
                out("CLOSED")
                break
            line = raw.decode().rstrip("\r\n")
            if line == "":
                if event["data"]:
                    out(json.dumps({"id": event["id"], "event": event["event"],
                                    "data": "\n".join(event["data"])}))
                    got += 1
                event = {"id": None, "event": None, "data": []}
            elif line.startswith(":"):
                continue
            else:
                field, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if field == "data":
                    event["data"].append(value)
                elif field in ("id", "event"):
                    event[field] = value
    except (socket.timeout, TimeoutError):
        out("TIMEOUT")
    except (http.client.IncompleteRead, ConnectionError):
        out("CLOSED")
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["ws", "sse"])
    p.add_argument("url")
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--timeout", type=float, default=10.0)
    p.add_argument("--last-event-id")
    p.add_argument("--auth")
    args = p.parse_args()
    if args.mode == "ws":
        return asyncio.run(ws_main(args))
    return sse_main(args)


if __name__ == "__main__":
    sys.exit(main())
