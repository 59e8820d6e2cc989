"""rflr.explorer.proxy against tiny fake backends (asyncio servers on free ports): stickiness
by cookie, the fewest-websockets pick, hostile cookies and heads, websocket relay, 502; routing
by the session a websocket revealed (uploads, reconnects) without any cookie, media asked of
every backend until one has it, hostile session paths."""

from __future__ import annotations

import asyncio
import logging
import uuid
import zlib

import pytest
from conftest import free_port
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from rflr.explorer import proxy
from rflr.explorer.proxy import COOKIE, Proxy

DEFLATE = "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=12\r\n"


class Backend:
    """A fake server process: answers every request with its own name and the request head it
    got (a /media/ file it does not hold, and /missing, with a 404); an upgrade request gets a
    101 (with `extensions`, a header line), then `downstream`, then each line echoed back with
    its name."""

    def __init__(
        self, name: str, downstream: bytes = b"", extensions: str = "", media: tuple = ()
    ) -> None:
        self.name = name
        self.downstream, self.extensions, self.media = downstream, extensions, media
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
        target = head.split(b" ")[1].decode()
        if b"upgrade: websocket" in head.lower():
            writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n")
            writer.write(self.extensions.encode() + b"\r\n" + self.downstream)
            while line := await reader.readline():
                writer.write(self.name.encode() + b":" + line)
                await writer.drain()
        else:
            length = next(
                (int(ln.split(b":")[1]) for ln in head.lower().split(b"\r\n")
                 if ln.startswith(b"content-length:")), 0)  # fmt: skip
            body = await reader.readexactly(length)
            text = self.name.encode() + b"\n" + body
            held = not target.startswith("/media/") or target in self.media
            status = b"200 OK" if held and target != "/missing" else b"404 Not Found"
            writer.write(
                b"HTTP/1.1 %s\r\nContent-Length: %d\r\nConnection: keep-alive\r\n"
                b"Set-Cookie: _streamlit_xsrf=abc; Path=/\r\n\r\n%s" % (status, len(text), text)
            )
            await writer.drain()
        writer.close()


async def setup(
    n: int = 2, fakes: list[Backend] | None = None, **kw
) -> tuple[Proxy, list[Backend], asyncio.Server, int]:
    backends = [await b.start() for b in fakes or [Backend(f"b{i}") for i in range(n)]]
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


# Routing by session: what a browser without the cookie (Safari in a Space's iframe) needs


def session_frame(session: str) -> bytes:
    """A server's first websocket frames: a ping, then a new_session ForwardMsg deflated
    (permessage-deflate, as Streamlit's server sends it), 16-bit length."""
    msg = ForwardMsg()
    msg.new_session.initialize.session_id = session
    msg.new_session.main_script_path = "x" * 300  # a frame over 125 bytes
    c = zlib.compressobj(wbits=-15)
    payload = (c.compress(msg.SerializeToString()) + c.flush(zlib.Z_SYNC_FLUSH))[:-4]
    return b"\x89\x00" + b"\xc2\x7e" + len(payload).to_bytes(2, "big") + payload


def upgrade(protocol: str | None = None, cookie: str | None = None) -> bytes:
    extra = "Upgrade: websocket\r\nConnection: Upgrade\r\n"
    if protocol is not None:
        extra += f"Sec-WebSocket-Protocol: {protocol}\r\n"
    return get("/_stcore/stream", cookie, extra)


async def open_websocket(port: int, raw: bytes, downstream: int):
    """A websocket through the proxy: (its 101 head, the first `downstream` bytes, reader,
    writer)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    data = await asyncio.wait_for(reader.readexactly(downstream), 5)
    return head, data, reader, writer


def put(path: str, cookie: str | None = None) -> bytes:
    lines = [f"PUT {path} HTTP/1.1", "Host: h", "Content-Length: 5"]
    lines += [f"Cookie: {cookie}"] if cookie else []
    return ("\r\n".join(lines) + "\r\n\r\nhello").encode("latin-1")


SESSIONS = [str(uuid.uuid4()), str(uuid.uuid4())]


async def settle(p: Proxy, *writers: asyncio.StreamWriter) -> None:
    """Close the clients' websockets and wait until the proxy has closed every connection
    (so the fake backends end too, and no task is cancelled midway at the test's end)."""
    for w in writers:
        w.close()
    for _ in range(200):
        if p.connections == 0:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{p.connections} connections left")


async def setup_sessions(n: int = 2, **kw):
    """Backends whose websockets reveal their own session (SESSIONS[i] on backend i)."""
    fakes = [Backend(f"b{i}", session_frame(SESSIONS[i]), DEFLATE) for i in range(n)]
    return await setup(fakes=fakes, **kw)


def test_a_cookieless_upload_reaches_the_backend_that_owns_its_session(caplog):
    async def main():
        p, backends, server, port = await setup_sessions()
        sent = session_frame(SESSIONS[0])
        head, data, reader, writer = await open_websocket(port, upgrade("streamlit, t"), len(sent))
        assert head.startswith(b"HTTP/1.1 101") and b"permessage-deflate" in head
        assert data == sent  # relayed as sent: the proxy only read a copy
        assert p.live == [1, 0]  # the pick now says b1, and says it every time
        for _ in range(3):
            head, body = await request(port, put(f"/_stcore/upload_file/{SESSIONS[0]}/x"))
            assert body == b"b0\nhello"
            assert f"Set-Cookie: {COOKIE}=0;".encode() in head  # the hint follows the owner
            _, body = await request(port, put(f"/_stcore/upload_file/{SESSIONS[0]}/file-1/x"))
            assert body.startswith(b"b0")
        # DELETE too; and the session beats a cookie naming the other process
        raw = get(f"/_stcore/upload_file/{SESSIONS[0]}/x", f"{COOKIE}=1").replace(b"GET", b"DELETE")
        head, body = await request(port, raw)
        assert body.startswith(b"b0") and f"{COOKIE}=".encode() not in head
        # a session nobody revealed: the pick, as before
        assert (await request(port, put(f"/_stcore/upload_file/{SESSIONS[1]}/x")))[1][:2] == b"b1"
        # the websocket still relays both ways after the watch
        writer.write(b"line\n")
        assert await asyncio.wait_for(reader.readline(), 5) == b"b0:line\n"
        await settle(p, writer)
        server.close()

    with caplog.at_level(logging.DEBUG):
        run(main())
    assert "Traceback" not in caplog.text


def test_without_the_session_the_cookieless_upload_goes_astray():
    """The control of the test above: before any websocket revealed the session (or with
    the owner map cleared), the same upload follows the pick to the wrong process."""

    async def main():
        p, _, server, port = await setup_sessions()
        sent = session_frame(SESSIONS[0])
        *_, writer = await open_websocket(port, upgrade(), len(sent))
        p.owners = proxy.ws_session.Owners()
        _, body = await request(port, put(f"/_stcore/upload_file/{SESSIONS[0]}/x"))
        assert body.startswith(b"b1")
        await settle(p, writer)
        server.close()

    run(main())


def test_a_reconnect_goes_to_the_process_that_owns_its_session():
    async def main():
        p, backends, server, port = await setup_sessions()
        size = len(session_frame(SESSIONS[0]))
        *_, first = await open_websocket(port, upgrade("streamlit, t"), size)  # b0's session
        # b0 has the live websocket, so the pick says b1; the reconnect names b0's session
        protocol = f"streamlit, xsrf-token, {SESSIONS[0]}"
        head, _, reader, writer = await open_websocket(port, upgrade(protocol), size)
        assert p.live == [2, 0] and f"{COOKIE}=0".encode() in head
        writer.write(b"again\n")
        assert await asyncio.wait_for(reader.readline(), 5) == b"b0:again\n"
        # the header reaches the backend as sent (Streamlit reads the session from it)
        assert f"Sec-WebSocket-Protocol: {protocol}".encode() in backends[0].heads[-1]
        # a reconnect with an unknown or hostile third entry: the pick, as before
        for bad in ("streamlit, t, " + "a" * 5000, "streamlit, t, ../../x", "streamlit"):
            head, *_, w = await open_websocket(port, upgrade(bad), size)
            assert f"{COOKIE}=1".encode() in head
            w.close()
        await settle(p, first, writer)
        server.close()

    run(main())


@pytest.mark.parametrize(
    "downstream",
    [
        b"\x00" * 50,  # garbage
        b"\x82\x7f" + (1 << 62).to_bytes(8, "big") + b"x" * 100,  # a huge declared length
        b"\x82\x05\xff\xff\xff\xff\xff",  # no ForwardMsg
        b"\xc2\x05abcde",  # RSV1 where no deflate was negotiated
    ],
)
def test_a_hostile_stream_is_relayed_unchanged_and_teaches_nothing(downstream, caplog):
    async def main():
        p, _, server, port = await setup(fakes=[Backend("b0", downstream), Backend("b1")])
        _, data, reader, writer = await open_websocket(port, upgrade(), len(downstream))
        assert data == downstream
        writer.write(b"still\n")
        assert await asyncio.wait_for(reader.readline(), 5) == b"b0:still\n"
        assert len(p.owners) == 0
        await settle(p, writer)
        server.close()

    with caplog.at_level(logging.DEBUG):
        run(main())
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize(
    "path",
    [
        "/_stcore/upload_file/../x",
        "/_stcore/upload_file/" + "a" * 5000 + "/x",
        f"/_stcore/upload_file/{SESSIONS[0].upper()}/x",
        f"/_stcore/upload_file/{SESSIONS[0]}",  # no file after it
        f"/_stcore/upload_file/{SESSIONS[0]}%2fx",
        f"/_stcore/upload_file//{SESSIONS[0]}/x",
        f"/x/_stcore/upload_file/{SESSIONS[0]}/x",
        f"/_stcore/upload_file/%C3%A9{SESSIONS[0]}/x",
        f"/_stcore/upload_file/{SESSIONS[0]}\t/x",  # not a path: refused as before
        f"/_stcore/upload_file/{SESSIONS[0]}é/x",  # non-ASCII: refused as before
    ],
)
def test_hostile_upload_paths_route_as_before(path, caplog):
    async def main():
        p, _, server, port = await setup_sessions()
        p.owners.learn(SESSIONS[0], 0)
        p.live[0] = 1  # the pick says b1
        head, body = await request(port, put(path))
        if any(not c.isascii() or not c.isprintable() for c in path):
            assert head.startswith(b"HTTP/1.1 400 ")
        else:
            assert head.startswith(b"HTTP/1.1 200 ") and body.startswith(b"b1")
        server.close()

    with caplog.at_level(logging.DEBUG):
        run(main())
    assert "Traceback" not in caplog.text


def test_session_of_reads_only_the_exact_shapes():
    s = SESSIONS[0]

    def of(raw: str) -> str | None:
        return proxy.session_of(proxy.parse_head(raw.encode() + b"\r\n"))

    assert of(f"PUT /_stcore/upload_file/{s}/f HTTP/1.1\r\n") == s
    assert of(f"GET /_stcore/upload_file/{s}/ HTTP/1.1\r\n") == s  # any method
    assert of(f"GET /_stcore/upload_file/{s}?x=1 HTTP/1.1\r\n") is None
    ws = "GET /_stcore/stream HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    assert of(ws + f"Sec-WebSocket-Protocol: streamlit, t, {s}\r\n") == s
    assert of(ws + f"Sec-WebSocket-Protocol: streamlit,,{s}\r\n") == s  # positions kept
    assert of(ws + f"Sec-WebSocket-Protocol: streamlit, {s}\r\n") is None  # that is the token
    # only the first header counts, as Streamlit's reading
    two = f"Sec-WebSocket-Protocol: streamlit\r\nSec-WebSocket-Protocol: a, b, {s}\r\n"
    assert of(ws + two) is None
    # a plain GET's protocol header, and an upgrade's upload-like path, name nothing
    assert of(f"GET / HTTP/1.1\r\nSec-WebSocket-Protocol: streamlit, t, {s}\r\n") is None
    assert of(f"GET /_stcore/upload_file/{s}/f HTTP/1.1\r\nUpgrade: websocket\r\n"
              "Connection: Upgrade\r\n") is None  # fmt: skip


# Media: a file is in one process's memory; a GET that gets 404 asks the others


def media_backends(n: int = 2) -> list[Backend]:
    return [Backend(f"b{i}", media=(f"/media/{i}.png",)) for i in range(n)]


def test_a_media_file_is_found_from_either_starting_point():
    async def main():
        _, backends, server, port = await setup(fakes=media_backends())
        for start in (0, 1):
            for held in (0, 1):
                head, body = await request(port, get(f"/media/{held}.png", f"{COOKIE}={start}"))
                assert head.startswith(b"HTTP/1.1 200 ") and body.startswith(f"b{held}".encode())
                assert b"Connection: close" in head and f"{COOKIE}=".encode() not in head
        # cookie-less: the pick's choice, then the other; the cookie names the pick's choice
        for _ in range(2):
            head, body = await request(port, get("/media/1.png"))
            assert head.startswith(b"HTTP/1.1 200 ") and body.startswith(b"b1")
            assert f"{COOKIE}=".encode() in head
        head, body = await request(port, get("/media/0.png").replace(b"GET", b"HEAD"))
        assert head.startswith(b"HTTP/1.1 200 ")
        server.close()

    run(main())


def test_media_nobody_holds_gets_the_last_404_and_other_404s_are_not_retried():
    async def main():
        _, backends, server, port = await setup(fakes=media_backends(3))
        head, body = await request(port, get("/media/none.png", f"{COOKIE}=1"))
        assert head.startswith(b"HTTP/1.1 404 ") and body.startswith(b"b0\n")  # 1, 2, then 0
        assert [len(b.heads) for b in backends] == [1, 1, 1]
        assert b"Connection: close" in head
        for raw in (
            get("/missing", f"{COOKIE}=0"),  # a 404 outside /media/: the answer
            put("/media/1.png", f"{COOKIE}=0"),  # a body it could not replay
        ):
            head, body = await request(port, raw)
            assert head.startswith(b"HTTP/1.1 404 ") and body.startswith(b"b0")
        assert [len(b.heads) for b in backends] == [3, 1, 1]
        server.close()

    run(main())
