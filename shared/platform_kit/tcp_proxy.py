"""A TCP proxy inside a test process, between a client and a server (PostgreSQL, Kafka), that
can misbehave the two ways a network path does, for the fault tests:

* ``pause()`` / ``resume()``: a stall. Nothing is read from either side and nothing is closed;
  bytes wait in the kernel's buffers and flow again, in order, on ``resume()``. A connection
  made while paused is accepted and waits too.
* ``freeze()``: a partition. From then on what arrives is read and lost, in both directions,
  on old and new connections, and nothing is closed: each side waits for an answer that never
  comes (what keepalives and command timeouts exist for).

When the server refuses a new connection, the client's is closed at once (the refusal it
would see without the proxy). Sockets stay open until ``close()``."""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit, urlunsplit


class TcpProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = 0
        self.frozen = False
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    @classmethod
    async def for_url(cls, url: str) -> tuple[TcpProxy, str]:
        """A started proxy in front of the server of ``url``, and the same url through it."""
        parts = urlsplit(url)
        proxy = cls(parts.hostname or "127.0.0.1", parts.port or 5432)
        await proxy.start()
        credentials = parts.netloc.rsplit("@", 1)
        host = f"127.0.0.1:{proxy.port}"
        proxied = urlunsplit(parts._replace(netloc=f"{credentials[0]}@{host}" if len(credentials) == 2 else host))
        return proxy, proxied

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    @property
    def paused(self) -> bool:
        return not self._flowing.is_set()

    def pause(self) -> None:
        self._flowing.clear()

    def resume(self) -> None:
        self._flowing.set()

    def freeze(self) -> None:
        self.frozen = True

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self._writers.add(client_writer)
        await self._flowing.wait()
        if self.frozen:
            return  # an unreachable server: the client waits, nothing answers
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            client_writer.close()
            self._writers.discard(client_writer)
            return
        self._writers.add(server_writer)
        for reader, writer in ((client_reader, server_writer), (server_reader, client_writer)):
            task = asyncio.create_task(self._pipe(reader, writer))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError, asyncio.CancelledError):
            while True:
                await self._flowing.wait()
                data = await reader.read(65536)
                if not data:
                    break
                await self._flowing.wait()  # read before the pause began: held until it ends
                if self.frozen:
                    continue  # lost in the partition
                writer.write(data)
                await writer.drain()
        if not self.frozen:
            writer.close()
            self._writers.discard(writer)
