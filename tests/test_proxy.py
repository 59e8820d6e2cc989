"""rflr.explorer.proxy against tiny fake backends (asyncio servers on free ports): stickiness
by cookie, the fewest-websockets pick, hostile cookies and heads, websocket relay, 502."""

from __future__ import annotations

import asyncio
import logging

import pytest
from conftest import free_port

from rflr.explorer import proxy
from rflr.explorer.proxy import COOKIE, Proxy


class Backend:
    """A fake server process: answers every request with its own name and the request head it
    got; an upgrade request gets a 101, then echoes each line back with its name."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.heads: list[bytes] = []
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> Backend:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def handle(self, reader, writer) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        self.heads.append(head)
        if b"upgrade: websocket" in head.lower():
            writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n")
            while line := await reader.readline():
                writer.write(self.name.encode() + b":" + line)
                await writer.drain()
        else:
            length = next(
                (int(ln.split(b":")[1]) for ln in head.lower().split(b"\r\n")
                 if ln.startswith(b"content-length:")), 0)  # fmt: skip
            body = await reader.readexactly(length)
            text = self.name.encode() + b"\n" + body
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: keep-alive\r\n"
                b"Set-Cookie: _streamlit_xsrf=abc; Path=/\r\n\r\n%s" % (len(text), text)
            )
            await writer.drain()
        writer.close()


async def setup(n: int = 2, **kw) -> tuple[Proxy, list[Backend], asyncio.Server, int]:
    backends = [await Backend(f"b{i}").start() for i in range(n)]
    p = Proxy([("127.0.0.1", b.port) for b in backends], **kw)
    server = await p.start("127.0.0.1", 0)
    return p, backends, server, server.sockets[0].getsockname()[1]


async def request(port: int, head: bytes) -> tuple[bytes, bytes]:
    """Send raw bytes, read to the end: (response head, body)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(head)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return head, body


def get(path: str = "/", cookie: str | None = None, extra: str = "") -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: example.test"]
    if cookie is not None:
        lines.append(f"Cookie: {cookie}")
    return ("\r\n".join(lines) + "\r\n" + extra + "\r\n").encode("utf-8")


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


def test_a_cookie_keeps_a_browser_on_its_backend_and_is_set_only_when_absent():
    async def main():
        _, backends, server, port = await setup()
        head, body = await request(port, get())
        first = body.split(b"\n")[0].decode()
        assert f"Set-Cookie: {COOKIE}={first[1]}; Path=/; HttpOnly; SameSite=Lax".encode() in head
        assert b"Set-Cookie: _streamlit_xsrf=abc" in head  # the backend's own, kept
        assert b"Connection: close" in head and b"keep-alive" not in head
        for _ in range(4):  # with the cookie: always the same one, and no new cookie
            head, body = await request(
                port, get("/_stcore/upload_file/s/f", f"a=1; {COOKIE}={first[1]}")
            )
            assert body.split(b"\n")[0].decode() == first
            assert f"{COOKIE}=".encode() not in head
        sent = backends[int(first[1])].heads[-1].decode("latin-1")
        assert "Host: example.test" in sent and "Connection: close" in sent
        assert "X-Forwarded-For: 127.0.0.1" in sent
        server.close()

    run(main())


def test_without_a_cookie_requests_take_turns_and_a_post_body_arrives():
    async def main():
        _, _, server, port = await setup(3)
        names = [(await request(port, get()))[1][:2] for _ in range(6)]
        assert names == [b"b0", b"b1", b"b2", b"b0", b"b1", b"b2"]
        post = b"PUT /x HTTP/1.1\r\nHost: h\r\nCookie: rflr_backend=1\r\nContent-Length: 5\r\n\r\nhello"
        _, body = await request(port, post)
        assert body == b"b1\nhello"
        server.close()

    run(main())


@pytest.mark.parametrize(
    "cookie",
    [
        f"{COOKIE}=../../x",
        f"{COOKIE}={'9' * 5000}",
        f"{COOKIE}=-1",
        f"{COOKIE}=2",  # out of range for two backends
        f"{COOKIE}=١",  # an Arabic-Indic digit: isdigit, not ASCII
        f"{COOKIE}=0x1",
        f"{COOKIE}=",
        f"{COOKIE}",
        "=;;==; ;",
    ],
)
def test_hostile_cookies_are_as_if_absent(cookie):
    async def main():
        _, _, server, port = await setup()
        head, body = await request(port, get(cookie=cookie))
        assert head.startswith(b"HTTP/1.1 200")
        assert f"Set-Cookie: {COOKIE}=0;".encode() in head  # picked, and told
        assert body.startswith(b"b0")
        server.close()

    run(main())


@pytest.mark.parametrize(
    "raw",
    [
        b"garbage\r\n\r\n",
        b"GET http://elsewhere/ HTTP/1.1\r\nHost: h\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        b"GET / HTTP/1.1\r\nX-Big: " + b"a" * (70 * 1024) + b"\r\n\r\n",
        b"\xff\xfe\x00 / HTTP/1.1\r\n\r\n",
    ],
)
def test_a_bad_head_gets_400_in_one_line_and_no_backend_sees_it(raw, caplog):
    async def main():
        _, backends, server, port = await setup()
        head, body = await request(port, raw)
        assert head.startswith(b"HTTP/1.1 400 ")
        assert body.count(b"\n") == 1 and body.startswith(b"refused: ")
        assert not any(b.heads for b in backends)
        server.close()

    with caplog.at_level(logging.DEBUG):
        run(main())
    assert "Traceback" not in caplog.text


def test_a_chunked_body_gets_411():
    async def main():
        _, _, server, port = await setup()
        raw = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
        head, body = await request(port, raw)
        assert head.startswith(b"HTTP/1.1 411 ") and body.count(b"\n") == 1
        server.close()

    run(main())


def test_a_websocket_is_relayed_both_ways_and_counts_for_the_pick():
    async def main():
        p, _, server, port = await setup()
        upgrade = get("/_stcore/stream", extra="Upgrade: websocket\r\nConnection: Upgrade\r\n")
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(upgrade)
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101") and f"{COOKIE}=0".encode() in head
        for word in (b"one\n", b"two\n"):
            writer.write(word)
            assert await asyncio.wait_for(reader.readline(), 5) == b"b0:" + word
        assert p.live == [1, 0]
        # a new browser goes to the backend with fewer live websockets, twice over
        assert (await request(port, get()))[1][:2] == b"b1"
        assert (await request(port, get()))[1][:2] == b"b1"
        writer.close()
        for _ in range(100):
            if p.live == [0, 0]:
                break
            await asyncio.sleep(0.02)
        assert p.live == [0, 0] and p.connections == 0
        server.close()

    run(main())


def test_a_backend_down_gets_502_in_one_line():
    async def main():
        p = Proxy([("127.0.0.1", free_port())])
        server = await p.start("127.0.0.1", 0)
        head, body = await request(server.sockets[0].getsockname()[1], get())
        assert head.startswith(b"HTTP/1.1 502 ") and body.count(b"\n") == 1
        server.close()

    run(main())


def test_clients_that_leave_or_idle_leave_no_traceback(caplog, monkeypatch):
    async def main():
        _, _, server, port = await setup(head_timeout_s=0.3)
        for raw in (b"", b"GET / HT", b"GET / HTTP/1.1\r\nHost: h\r\n"):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(raw)
            await writer.drain()
            if raw.endswith(b"\r\n"):  # idle past the head timeout: closed by the proxy
                assert await asyncio.wait_for(reader.read(), 5) == b""
            writer.close()
        await asyncio.sleep(0.5)
        server.close()

    with caplog.at_level(logging.DEBUG):
        run(main())
    assert "Traceback" not in caplog.text and "Error" not in caplog.text


def test_past_the_connection_cap_a_client_gets_503():
    async def main():
        _, _, server, port = await setup(max_connections=1)
        idle = await asyncio.open_connection("127.0.0.1", port)  # holds the only place
        await asyncio.sleep(0.1)
        head, body = await request(port, get())
        assert head.startswith(b"HTTP/1.1 503 ") and body.count(b"\n") == 1
        idle[1].close()
        server.close()

    run(main())


def test_parse_head_and_cookie_reading():
    req = proxy.parse_head(b"GET /a?b=1 HTTP/1.1\r\nCookie: x=1; rflr_backend=1\r\n\r\n")
    assert proxy.backend_of(req, 2) == 1 and proxy.backend_of(req, 1) is None
    # only the first of two counts; a second Cookie header is read too
    two = proxy.parse_head(
        b"GET / HTTP/1.1\r\nCookie: a=b\r\nCookie: rflr_backend=0; rflr_backend=1\r\n\r\n"
    )
    assert proxy.backend_of(two, 2) == 0
