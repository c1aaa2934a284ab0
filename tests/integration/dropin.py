#!/usr/bin/python3
"""The nginx drop-in as an operator installs it, checked end to end.

Usage: dropin.py REPO BIN STACK_CONF API_KEY TENANT_ID

Builds a Debian-layout nginx tree in a temporary directory (nginx.conf with
`user www-data`, the system's modules-enabled, conf.d/ and sites-enabled/),
runs a second `tessera serve` of the running stack's databases with its own
socket, storage root and realtime publisher, writes the drop-in with
`tools/stack nginx-dropin --config`, wires it in with two include lines, and
then checks through that nginx: nginx -t, workers running as www-data,
/health, an authenticated call, an upload, a signed download served by
nginx, a realtime message over a WebSocket, and nginx's own JSON 404.
Prints one "OK <check>" line per check; exits non-zero at the first
failure, naming it.  Everything it started is stopped on exit.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

REPO, BIN, STACK_CONF, API_KEY, TENANT = sys.argv[1:6]
procs = []
tmp = tempfile.mkdtemp(prefix="tessera-dropin-")


def fail(msg):
    print("FAIL " + msg)
    sys.stdout.flush()
    sys.exit(1)


def ok(name):
    print("OK " + name)
    sys.stdout.flush()


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, **kw)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def http(method, path, body=None, headers=None):
    req = urllib.request.Request(BASE + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            return r.status, r.read(), r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers


def cleanup():
    nginx_pid = os.path.join(tmp, "run", "nginx.pid")
    if os.path.exists(nginx_pid):
        run(["nginx", "-p", tmp + "/", "-c", NGINX_CONF, "-s", "stop"])
        time.sleep(0.5)
    for p in procs:
        try:
            os.killpg(p.pid, signal.SIGTERM)
            p.wait(10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
    shutil.rmtree(tmp, ignore_errors=True)


ETC = os.path.join(tmp, "etc", "nginx")
NGINX_CONF = os.path.join(ETC, "nginx.conf")
PORT = free_port()
BASE = "http://127.0.0.1:%d" % PORT

try:
    # --- the tree: readable by www-data where nginx's workers need it ---
    os.chmod(tmp, 0o755)
    for d in ("etc/nginx/conf.d", "etc/nginx/sites-enabled", "run", "log", "tmp", "storage"):
        os.makedirs(os.path.join(tmp, d), exist_ok=True)
    shutil.copy("/etc/nginx/mime.types", ETC)
    # Debian's modules-enabled name modules relative to nginx's prefix
    os.symlink("/usr/lib/nginx/modules", os.path.join(tmp, "modules"))
    run(["chown", "www-data", os.path.join(tmp, "tmp")])
    # storage_root: group www-data, setgid, so the files the app writes
    # (0640) can be read by nginx's workers
    run(["chgrp", "www-data", os.path.join(tmp, "storage")])
    os.chmod(os.path.join(tmp, "storage"), 0o2750)

    # --- a second pool of the same stack, as an operator's service ---
    conf = os.path.join(tmp, "tessera.conf")
    with open(STACK_CONF) as f:
        text = f.read()
    text += "\n".join([
        "", "# the drop-in's own pool",
        "listen = %s/run/tessera.sock" % tmp,
        "pid_file = %s/run/tessera.pid" % tmp,
        "jobs_pid_file = %s/run/jobs.pid" % tmp,
        "log_file = %s/log/tessera.log" % tmp,
        "storage_root = %s/storage" % tmp,
        "realtime_publisher = unix:%s/run/nchan.sock" % tmp,
        "public_url = %s" % BASE,
        "workers = 2", ""])
    with open(conf, "w") as f:
        f.write(text)
    os.chmod(conf, 0o600)
    p = subprocess.Popen([BIN, "serve", "--config", conf], stdout=subprocess.DEVNULL,
                         stderr=open(os.path.join(tmp, "log", "serve.out"), "w"),
                         start_new_session=True)
    procs.append(p)
    for _ in range(100):
        if os.path.exists(os.path.join(tmp, "run", "tessera.sock")):
            break
        time.sleep(0.1)
    else:
        fail("tessera serve did not create its socket")

    # --- the drop-in, written from the config, wired in with two includes ---
    r = run([os.path.join(REPO, "tools", "stack"), "nginx-dropin", "--out", os.path.join(ETC, "tessera"),
             "--config", conf, "--prefix", REPO, "--docs", os.path.join(REPO, "build", "docs")])
    if r.returncode != 0:
        fail("nginx-dropin: " + r.stdout + r.stderr)
    key = os.stat(os.path.join(ETC, "tessera", "files-key.conf"))
    if key.st_mode & 0o077:
        fail("files-key.conf is readable by others: %o" % key.st_mode)
    with open(os.path.join(ETC, "conf.d", "tessera.conf"), "w") as f:
        f.write("include %s/tessera/http.conf;\n" % ETC)
    with open(os.path.join(ETC, "sites-enabled", "tessera"), "w") as f:
        f.write("server {\n    listen 127.0.0.1:%d;\n    server_name _;\n"
                "    include %s/tessera/server.conf;\n}\n" % (PORT, ETC))
    with open(NGINX_CONF, "w") as f:
        f.write("""user www-data;
worker_processes 1;
pid {t}/run/nginx.pid;
error_log {t}/log/nginx-error.log warn;
include /etc/nginx/modules-enabled/*.conf;
events {{ worker_connections 256; }}
http {{
    include {e}/mime.types;
    default_type application/octet-stream;
    access_log {t}/log/access.log;
    client_body_temp_path {t}/tmp/body;
    fastcgi_temp_path {t}/tmp/fastcgi;
    proxy_temp_path {t}/tmp/proxy;
    uwsgi_temp_path {t}/tmp/uwsgi;
    scgi_temp_path {t}/tmp/scgi;
    include {e}/conf.d/*.conf;
    include {e}/sites-enabled/*;
}}
""".format(t=tmp, e=ETC))
    r = run(["nginx", "-t", "-p", tmp + "/", "-c", NGINX_CONF])
    if r.returncode != 0:
        fail("nginx -t: " + r.stderr)
    if "warn" in r.stderr:
        fail("nginx -t warns: " + r.stderr)
    ok("nginx -t")
    r = run(["nginx", "-p", tmp + "/", "-c", NGINX_CONF])
    if r.returncode != 0:
        fail("nginx start: " + r.stderr)
    time.sleep(0.5)
    with open(os.path.join(tmp, "run", "nginx.pid")) as f:
        master = f.read().strip()
    users = run(["ps", "-o", "user=", "--ppid", master]).stdout.split()
    if not users or set(users) != {"www-data"}:
        fail("workers run as %s" % users)
    ok("workers www-data")

    st, body, _ = http("GET", "/health")
    if st != 200 or json.loads(body)["data"]["status"] != "ok":
        fail("health: %d %s" % (st, body[:200]))
    ok("health")
    auth = {"Authorization": "Bearer " + API_KEY}
    st, body, _ = http("GET", "/v1/usage", headers=auth)
    if st != 200 or not json.loads(body)["success"]:
        fail("usage: %d %s" % (st, body[:200]))
    ok("authenticated call")

    boundary = "tesseradropin"
    payload = ("--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"hello.txt\"\r\n"
               "Content-Type: text/plain\r\n\r\nthrough the drop-in\r\n--%s--\r\n" % (boundary, boundary))
    st, body, _ = http("POST", "/v1/files/upload", payload.encode(),
                       dict(auth, **{"Content-Type": "multipart/form-data; boundary=" + boundary}))
    if st != 201:
        fail("upload: %d %s" % (st, body[:300]))
    fid = json.loads(body)["data"]["id"]
    ok("upload")
    st, body, _ = http("POST", "/v1/files/%s/signed-url" % fid, b'{"expires_in":300}',
                       dict(auth, **{"Content-Type": "application/json"}))
    if st != 200:
        fail("signed-url: %d %s" % (st, body[:300]))
    url = json.loads(body)["data"]["url"]
    path = url[url.index("/v1/"):]
    st, body, hdrs = http("GET", path)
    if st != 200 or body != b"through the drop-in":
        fail("signed download: %d %r" % (st, body[:200]))
    ok("signed download")

    ws = subprocess.Popen([os.path.join(REPO, "tests", "integration", "ws_client.py"), "ws",
                           "ws://127.0.0.1:%d/v1/realtime?token=%s&tenant_id=%s&channels=files"
                           % (PORT, API_KEY, TENANT), "--count", "1", "--timeout", "10"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = ws.stdout.readline().strip()
    if first != "OPEN":
        ws.kill()
        log = open(os.path.join(tmp, "log", "nginx-error.log")).read()[-1500:]
        fail("websocket: %s %s\nnginx: %s" % (first, ws.stderr.read()[-1500:], log))
    event = {"id": "evt_dropin", "event": "file.created", "resource_type": "file",
             "resource_id": fid, "data": {"file_id": fid, "folder": ""},
             "created_at": "2026-01-02T03:04:05.000Z"}
    r = run([BIN, "realtime", "publish", "--config", conf, "--tenant", TENANT, "--event", json.dumps(event)])
    if r.returncode != 0:
        fail("realtime publish: " + r.stderr)
    msg = ws.stdout.readline().strip()
    ws.wait(15)
    if not msg.startswith("{") or json.loads(msg).get("id") != "evt_dropin":
        fail("realtime message: " + msg)
    ok("realtime")

    st, body, hdrs = http("GET", "/console")
    st2, body2, hdrs2 = http("GET", "/console/app.js")
    if st != 200 or b'src="/console/app.js"' not in body or st2 != 200 \
            or hdrs2.get("Content-Type") != "text/javascript":
        fail("console: %d %d %s" % (st, st2, hdrs2.get("Content-Type")))
    ok("console")

    st, body, hdrs = http("GET", "/docs/no-such-file.js")
    if st != 404 or not hdrs.get("Content-Type", "").startswith("application/json") \
            or json.loads(body)["success"] is not False:
        fail("nginx 404: %d %s %s" % (st, hdrs.get("Content-Type"), body[:200]))
    ok("json 404")
finally:
    cleanup()
