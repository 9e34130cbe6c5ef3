"""A service keeps an idle keep-alive connection open longer than its clients keep theirs, so
that the client closes it first. With uvicorn's 5 s, a client whose pool kept the connection for
5 s too (httpx's default) could send a command on it just as the server closed it: a reset, not an
answer, and the caller cannot know whether the command was taken (seen once in the three-
assessments test: the services log's POST /api/services failed with a ReadError)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

from platform_kit.testing import free_port

SERVER = """
import sys
from fastapi import FastAPI
from platform_kit.runtime import serve
from platform_kit.settings import KitSettings

app = FastAPI()
app.get("/ping")(lambda: {"ok": True})
serve(app, KitSettings(service_name="probe", http_port=int(sys.argv[1])))
"""
REQUEST = b"GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
IDLE_SECONDS = 6.5  # past uvicorn's default of 5 s, past httpx's pool expiry of 5 s


def _answered(conn: socket.socket) -> bytes:
    conn.sendall(REQUEST)
    conn.settimeout(5)
    data = b""
    while b'{"ok":true}' not in data:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def test_an_idle_connection_is_still_open_after_a_clients_pool_would_have_closed_it():
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                conn = socket.create_connection(("127.0.0.1", port), timeout=1)
                break
            except OSError:
                assert time.monotonic() < deadline, "the service did not start listening"
                time.sleep(0.1)
        with conn:
            assert _answered(conn).startswith(b"HTTP/1.1 200")
            time.sleep(IDLE_SECONDS)
            conn.setblocking(False)
            try:
                closed = conn.recv(1, socket.MSG_PEEK) == b""
            except BlockingIOError:
                closed = False  # nothing to read, and no end of stream: still open
            assert not closed, f"the service closed an idle connection within {IDLE_SECONDS} s"
            conn.setblocking(True)
            assert _answered(conn).startswith(b"HTTP/1.1 200")  # and it still answers on it
    finally:
        server.terminate()
        server.wait(timeout=10)
