"""The fault tests' proxy, against a local echo server: a pause holds bytes and delivers them
in order afterwards; a freeze loses them and answers nothing; a refused server closes the client."""

from __future__ import annotations

import asyncio
import socket

from platform_kit.tcp_proxy import TcpProxy


async def _echo_server() -> asyncio.Server:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(1024):
            writer.write(data)
            await writer.drain()
        writer.close()

    return await asyncio.start_server(echo, "127.0.0.1", 0)


async def _through_proxy():
    server = await _echo_server()
    proxy = TcpProxy("127.0.0.1", server.sockets[0].getsockname()[1])
    await proxy.start()
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    return server, proxy, reader, writer


async def test_a_paused_path_holds_the_bytes_and_delivers_them_in_order_on_resume():
    server, proxy, reader, writer = await _through_proxy()
    try:
        writer.write(b"one,")
        assert await asyncio.wait_for(reader.readexactly(4), 5) == b"one,"
        proxy.pause()
        writer.write(b"two,three")
        await asyncio.sleep(0.3)
        assert reader._buffer == bytearray()  # nothing came through while paused  # noqa: SLF001
        proxy.resume()
        assert await asyncio.wait_for(reader.readexactly(9), 5) == b"two,three"
    finally:
        writer.close()
        await proxy.close()
        server.close()


async def test_a_frozen_path_loses_the_bytes_and_answers_no_new_connection():
    server, proxy, reader, writer = await _through_proxy()
    try:
        proxy.freeze()
        writer.write(b"lost")
        await asyncio.sleep(0.3)
        assert not reader.at_eof() and reader._buffer == bytearray()  # noqa: SLF001
        late_reader, late_writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        late_writer.write(b"anyone?")
        await asyncio.sleep(0.3)
        assert not late_reader.at_eof() and late_reader._buffer == bytearray()  # noqa: SLF001
        late_writer.close()
    finally:
        writer.close()
        await proxy.close()
        server.close()


async def test_a_refused_server_closes_the_client_at_once():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    proxy = TcpProxy("127.0.0.1", closed_port)
    await proxy.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        assert await asyncio.wait_for(reader.read(), 5) == b""
        writer.close()
    finally:
        await proxy.close()
