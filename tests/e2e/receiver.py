#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""A stand-in for a Pyroscope-compatible backend, for the upload tests.

Listens on 127.0.0.1 (a free port unless told), answers every request with
a set status (200 unless told) and records each one in a folder:
NNNNNN.json (time, method, path, query, headers, the status answered) and
NNNNNN.body (the body as received). Stdlib only.

In a test:
    r = Receiver(folder); r.start(); ... r.url ...
    r.answer(503)      # listening, but failing every request
    r.stop()           # port closed: connections are refused
    r.restart()        # the same port again
    r.requests()       # what arrived, oldest first
As a program (the status can be changed by writing it to FOLDER/status):
    receiver.py FOLDER [--port N]   prints "ready URL", serves until SIGTERM
"""
import argparse
import http.server
import json
import os
import signal
import sys
import threading
import time
import urllib.parse


class _Server(http.server.ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True
    receiver = None


class _Handler(http.server.BaseHTTPRequestHandler):
    # HTTP/1.0: one request per connection, so stop() leaves no kept-alive
    # connection that would still be answered.
    protocol_version = "HTTP/1.0"

    def _handle(self):
        rec = self.server.receiver
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status = rec.status()
        rec.record(self, body, status)
        reply = b"ok\n" if 200 <= status < 300 else b"error\n"
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    do_POST = _handle
    do_PUT = _handle
    do_GET = _handle

    def log_message(self, fmt, *args):
        pass


class Receiver(object):
    def __init__(self, folder, port=0, status=200):
        self.folder = folder
        self.port = port
        self._status = status
        self._lock = threading.Lock()
        self._seq = 0
        self._server = None
        self._thread = None
        os.makedirs(folder, exist_ok=True)

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def start(self):
        srv = _Server(("127.0.0.1", self.port), _Handler)
        srv.receiver = self
        self.port = srv.server_address[1]
        self._server = srv
        self._thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        self._server = self._thread = None

    def restart(self):
        self.stop()
        return self.start()

    def answer(self, status):
        with self._lock:
            self._status = status

    def status(self):
        try:
            with open(os.path.join(self.folder, "status")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            pass
        with self._lock:
            return self._status

    def record(self, handler, body, status):
        parts = urllib.parse.urlsplit(handler.path)
        with self._lock:
            self._seq += 1
            seq = self._seq
        meta = {
            "seq": seq,
            "time": time.time(),
            "method": handler.command,
            "path": parts.path,
            "query": urllib.parse.parse_qs(parts.query, keep_blank_values=True),
            "raw_query": parts.query,
            "headers": dict(handler.headers.items()),
            "status": status,
            "length": len(body),
        }
        base = os.path.join(self.folder, "%06d" % seq)
        with open(base + ".body.tmp", "wb") as f:
            f.write(body)
        os.rename(base + ".body.tmp", base + ".body")
        with open(base + ".json.tmp", "w") as f:
            json.dump(meta, f, indent=1, sort_keys=True)
        # The .json last: a listed request always has its body.
        os.rename(base + ".json.tmp", base + ".json")

    def requests(self):
        """Every recorded request, oldest first: the .json's fields plus
        body_path and q (the query with single values)."""
        out = []
        for name in sorted(os.listdir(self.folder)):
            if not name.endswith(".json"):
                continue
            with open(os.path.join(self.folder, name)) as f:
                meta = json.load(f)
            meta["body_path"] = os.path.join(self.folder, name[:-5] + ".body")
            meta["q"] = {k: v[-1] for k, v in meta["query"].items()}
            out.append(meta)
        return out

    def wait_for(self, n, timeout, ok_only=True, alive=None):
        """Waits until n requests (answered 2xx unless ok_only is false)
        arrived, or until alive() turns false; returns them all."""
        deadline = time.time() + timeout
        while True:
            reqs = self.requests()
            got = [r for r in reqs if not ok_only or 200 <= r["status"] < 300]
            if len(got) >= n or time.time() >= deadline or (alive and not alive()):
                return got
            time.sleep(0.1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder")
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args()
    r = Receiver(a.folder, a.port).start()
    print("ready %s" % r.url, flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
    r.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
