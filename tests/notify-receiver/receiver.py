#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""receiver.py - a local HTTP(S) receiver for runbookd's webhook notifications, for the integration
tests (tests/lib.sh: notify_receiver_up and friends). Python 3 standard library only.

    receiver.py --dir DIR --config CONFIG.json [--cert SERVER.pem --key SERVER.key]

Serves plain HTTP on 127.0.0.1 (an ephemeral port) and, with --cert/--key, HTTPS on another one;
writes DIR/ports.json {"http": N, "https": N or null} (atomically) once listening. HTTP/1.1 with
keep-alive; one thread per connection, so a delayed answer never holds up another request.

Any method on any path is accepted. Every request becomes one JSON line of DIR/requests.jsonl,
written once it has been answered (or the connection closed instead), so a delayed request's line
comes after those of later requests; "n" is the order of arrival:
  {"n": 1, "time": T (time.time() when the request had been read), "method": "POST",
   "path": "/hook-a?x=1" (the request target as sent), "scheme": "http" | "https",
   "headers": {"content-type": "application/json", ...} (names lowercased, repeats joined by ", "),
   "body": the parsed JSON if the body is JSON, else its text ("" when empty),
   "body_raw_len": bytes, "answer": the status sent | null (closed without an answer),
   "fault": "status 500" | "status 429, retry_after 2" | "delay 5" | "delay 5 (client gone)" |
            "close" | null, "connection": an id per TCP connection (a reused connection repeats it)}

Config (re-read whenever its mtime, size or inode changes, checked on each request):
  {"paths": {"/hook-a": {"status": 200, "faults": [F1, F2, ...]}, ...},
   "default": {"status": 200, "faults": [...]}}
A request's path (the target without its query string, unless the whole target is listed) picks its
entry in "paths", else "default". Faults are used one per request to that entry, in order (a counter
per entry, restarted at 0 when a config change changes that entry's "faults"); once they are used up,
"status" (default 200) is answered. A fault:
  {"status": 500}                     answer that status (body "fault\\n")
  {"status": 429, "retry_after": 2}   ... with a Retry-After: 2 header (any status, e.g. 503)
  {"delay": 5}                        wait 5 s, then answer (the fault's "status", else the entry's);
                                      if the client has gone meanwhile, nothing is sent: "answer"
                                      null, "fault" "delay 5 (client gone)"
  {"close": true}                     close the connection without any answer (after "delay", if any)
A 2xx answer's body is {"ok": true} (application/json); any other one's is "fault\\n" (text/plain);
204 and 304 have none. Errors (a bad config, a failed TLS handshake) go to stderr; nothing else is
logged. SIGTERM/SIGINT: exits.
"""
import argparse
import json
import os
import select
import signal
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

LOCK = threading.Lock()
ARGS = None
CONFIG = {}
CONFIG_STAT = None
COUNTERS = {}        # entry key (a path, or None for "default") -> faults used so far
SEQ = 0              # requests read
CONN_SEQ = 0         # TCP connections accepted
LOG_FD = None        # DIR/requests.jsonl, O_APPEND
TLS = None           # the server's SSLContext, or None


def err(msg):
    sys.stderr.write("receiver: %s\n" % msg)
    sys.stderr.flush()


def entry_faults(cfg, key):
    e = cfg.get("default") if key is None else cfg.get("paths", {}).get(key)
    return (e or {}).get("faults") if isinstance(e, dict) else None


def load_config():
    """Re-reads the config when its file changed (caller holds LOCK); restarts the fault counter
    of every entry whose "faults" changed."""
    global CONFIG, CONFIG_STAT
    try:
        st = os.stat(ARGS.config)
        key = (st.st_mtime_ns, st.st_size, st.st_ino)
    except OSError:
        key = None
    if key == CONFIG_STAT:
        return
    CONFIG_STAT = key
    new = {}
    if key is not None:
        try:
            with open(ARGS.config) as f:
                new = json.load(f)
            if not isinstance(new, dict):
                raise ValueError("not a JSON object")
        except (OSError, ValueError) as e:
            err("config %s: %s (keeping the previous one)" % (ARGS.config, e))
            return
    for k in set(COUNTERS) | set(new.get("paths", {})) | {None}:
        if entry_faults(CONFIG, k) != entry_faults(new, k):
            COUNTERS[k] = 0
    CONFIG = new


def plan(path):
    """The entry for a request target and the fault to apply (caller holds LOCK)."""
    paths = CONFIG.get("paths", {})
    if path in paths:
        key = path
    elif urlsplit(path).path in paths:
        key = urlsplit(path).path
    else:
        key = None
    entry = (CONFIG.get("default") if key is None else paths[key]) or {}
    faults = entry.get("faults") or []
    i = COUNTERS.get(key, 0)
    COUNTERS[key] = i + 1
    return entry, (faults[i] if i < len(faults) else None)


def num(x):
    return "%g" % x if isinstance(x, (int, float)) else str(x)


def describe(fault):
    if not fault:
        return None
    parts = []
    if fault.get("delay"):
        parts.append("delay " + num(fault["delay"]))
    if fault.get("close"):
        parts.append("close")
    elif "status" in fault:
        parts.append("status %s" % fault["status"])
    if "retry_after" in fault and not fault.get("close"):
        parts.append("retry_after " + num(fault["retry_after"]))
    return ", ".join(parts) or json.dumps(fault)


def record(rec):
    line = (json.dumps(rec) + "\n").encode()
    with LOCK:
        while line:
            line = line[os.write(LOG_FD, line):]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = None

    def setup(self):
        global CONN_SEQ
        with LOCK:
            CONN_SEQ += 1
            self.conn_id = CONN_SEQ
        self.scheme = "https" if self.server.tls else "http"
        if self.server.tls:
            # the handshake runs here, in the connection's thread, not in the accepting one
            self.request.settimeout(10)
            self.request = TLS.wrap_socket(self.request, server_side=True)
            self.request.settimeout(None)
        super().setup()

    def log_message(self, fmt, *args):
        pass

    def log_error(self, fmt, *args):
        err("connection %d: %s" % (self.conn_id, fmt % args))

    def __getattr__(self, name):   # do_GET, do_POST, do_WHATEVER: any method
        if name.startswith("do_"):
            return self.dispatch
        raise AttributeError(name)

    def read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():   # trailers
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def client_gone(self):
        """True when the client closed (or reset) its side while we held the answer back."""
        fd = self.connection.fileno()
        if not select.select([fd], [], [], 0)[0]:
            return False
        s = socket.socket(fileno=os.dup(fd))
        try:
            data = s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except BlockingIOError:
            return False
        except OSError:
            return True
        finally:
            s.close()
        # nothing left to read: EOF; over TLS, bytes from a client waiting for its answer are its
        # close_notify (HTTP clients do not pipeline)
        return data == b"" or self.server.tls

    def dispatch(self):
        global SEQ
        try:
            body = self.read_body()
        except (ValueError, OSError) as e:
            self.log_error("bad request body: %s", e)
            self.close_connection = True
            return
        now = time.time()
        with LOCK:
            SEQ += 1
            n = SEQ
            load_config()
            entry, fault = plan(self.path)
        headers = {}
        for k, v in self.headers.items():
            k = k.lower()
            headers[k] = headers[k] + ", " + v if k in headers else v
        text = body.decode("utf-8", "replace")
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = text
        rec = {"n": n, "time": now, "method": self.command, "path": self.path, "scheme": self.scheme,
               "headers": headers, "body": parsed, "body_raw_len": len(body), "answer": None,
               "fault": describe(fault), "connection": self.conn_id}
        try:
            rec["answer"] = self.answer(entry, fault or {})
        finally:
            if rec["answer"] is None and fault and not fault.get("close"):
                rec["fault"] += " (client gone)"
            elif rec["answer"] is None and not fault:
                rec["fault"] = "client gone"
            record(rec)

    def answer(self, entry, fault):
        """Applies the fault, sends the answer; returns its status, or None if none was sent."""
        if fault.get("delay"):
            time.sleep(float(fault["delay"]))
            if self.client_gone():
                self.close_connection = True
                return None
        if fault.get("close"):
            self.close_connection = True
            if isinstance(self.connection, ssl.SSLSocket):
                try:   # a clean TLS close (close_notify), so that the client sees an empty reply
                    self.connection.settimeout(0.5)
                    self.connection.unwrap()
                except (OSError, ValueError):
                    pass
            return None
        status = int(fault.get("status", entry.get("status", 200)))
        if 200 <= status < 300:
            data, ctype = b'{"ok": true}', "application/json"
        else:
            data, ctype = b"fault\n", "text/plain; charset=utf-8"
        if status in (204, 304) or status < 200:
            data = b""
        try:
            self.send_response(status)
            if "retry_after" in fault:
                self.send_header("Retry-After", num(fault["retry_after"]))
            if data:
                self.send_header("Content-Type", ctype)
            if status not in (204, 304) and status >= 200:
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            self.wfile.flush()
        except (OSError, ValueError):   # BrokenPipeError, ConnectionResetError, ssl.SSLError
            self.close_connection = True
            return None
        return status


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, tls):
        self.tls = tls
        super().__init__(("127.0.0.1", 0), Handler)

    def handle_error(self, request, client_address):
        e = sys.exc_info()[1]
        if isinstance(e, (ssl.SSLError, ConnectionError, socket.timeout)):
            err("%s connection from port %d: %s" % ("HTTPS" if self.tls else "HTTP", client_address[1], e))
        else:
            super().handle_error(request, client_address)


def main():
    global ARGS, LOG_FD, TLS
    ap = argparse.ArgumentParser(description="local HTTP(S) receiver for webhook notifications")
    ap.add_argument("--dir", required=True)
    ap.add_argument("--config", required=True)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ARGS = ap.parse_args()
    if bool(ARGS.cert) != bool(ARGS.key):
        ap.error("--cert and --key go together")
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *a: sys.exit(0))
    LOG_FD = os.open(os.path.join(ARGS.dir, "requests.jsonl"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    with LOCK:
        load_config()

    servers = [Server(False)]
    if ARGS.cert:
        TLS = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        TLS.load_cert_chain(ARGS.cert, ARGS.key)
        servers.append(Server(True))
    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    tmp = os.path.join(ARGS.dir, "ports.json.tmp")
    with open(tmp, "w") as f:
        json.dump({"http": servers[0].server_address[1],
                   "https": servers[1].server_address[1] if len(servers) > 1 else None}, f)
    os.replace(tmp, os.path.join(ARGS.dir, "ports.json"))
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
