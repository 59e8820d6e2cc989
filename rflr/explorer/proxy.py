"""A small reverse proxy in front of several `streamlit run` processes (one server).

A Streamlit process runs its visitors' scripts on one core (one interpreter lock); a Space has
two. rflr.explorer.serve starts N processes on private loopback ports and this proxy on the
public one. What it must get right is that everything of one session reaches the process that
owns it: the websocket (/_stcore/stream), a reconnect of it, and the URLs named after the
session (uploads /_stcore/upload_file/<session>/...) or held in its process's memory
(/media/..., downloads and images). A cookie of its own, `rflr_backend=<i>`, would do it, but
on a Space the page is a cross-site iframe, where the cookie is third-party and Safari never
sends it. So the proxy learns what the browser cannot tell it, and routes in this order:

- by session: a websocket's first downstream frames are read (a copy, until Streamlit's
  `new_session` message goes by: rflr.explorer.ws_session) to learn which backend owns which
  session id. An upload URL that names a known session, or a websocket upgrade whose
  Sec-WebSocket-Protocol (`streamlit, <xsrf token>, <session>`: a reconnect) does, goes to
  its owner; otherwise a reconnect elsewhere would silently get a fresh session, and an
  upload `400 Invalid session_id`;
- by the cookie: a request with a valid one goes to backend i (a cookie that is not a small
  decimal number below N is hostile input, treated as absent, never an error);
- by the pick: the backend with the fewest live websockets, ties in turn. The response of a
  request without a valid cookie carries `Set-Cookie: rflr_backend=<i>` (Path=/, HttpOnly),
  i the backend it was routed to: a hint that keeps a cookie-sending browser on one process;
- a GET or HEAD of /media/... that gets 404 (the file is another process's) is asked of the
  other backends in turn, its 404 read and dropped: the first other answer is relayed, or
  the last 404. Nothing is buffered, as the request has no body.

Routing is per request, because a browser reuses a keep-alive connection it opened before the
cookie existed. The simplest way that stays right is one request per client connection: read
one request head (at most HEAD_MAX bytes, within HEAD_TIMEOUT_S; a bad one gets a one-line
400), send it to the chosen backend with `Connection: close`, relay its body (Content-Length
only: a chunked request body gets 411, which no page of Streamlit's sends), relay the response
until the backend closes, then close. A websocket upgrade is relayed both ways until either
side closes, every byte unchanged. Only the response head is edited (Set-Cookie, Connection).
Host, Origin and Streamlit's `_streamlit_xsrf` cookie pass unchanged: its websocket's
same-origin check compares Origin with Host, and its XSRF check compares the cookie with a
header or subprotocol the page sends, both in the same request, so an upload through the
proxy is checked as without it. X-Forwarded-For gains the peer's address (uvicorn trusts it
from the loopback proxy).

Standard library (asyncio), and Streamlit's own ForwardMsg class. Its limits: MAX_CONNECTIONS
client connections at once (past it a one-line 503), idle timeouts on everything but
websockets, a one-line 502 when a backend does not answer; a client that goes away is closed
without a traceback. The session map holds ws_session.MAX_OWNERS sessions (an LRU): past it
the least recently used falls back to the cookie and the pick.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from rflr.explorer import ws_session

COOKIE = "rflr_backend"
HEAD_MAX = 64 * 1024  # bytes of one request or response head
HEAD_TIMEOUT_S = 30.0  # for a client's request head (an idle keep-alive or a slow client)
IDLE_S = 120.0  # an HTTP body or response that sends nothing for this long is dropped
CONNECT_TIMEOUT_S = 5.0
LINGER_S = 2.0  # reading what a refused client still sends, before closing
MAX_CONNECTIONS = 500  # client connections at once (each holds two sockets)
CHUNK = 64 * 1024
DRAIN_MAX = 256 * 1024  # bytes of a 404's body read and dropped before asking the next backend
DRAIN_S = 5.0
UPLOAD = "/_stcore/upload_file/"  # Streamlit's upload route: UPLOAD<session>/<file id>
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade"}
_LOG = logging.getLogger(__name__)


class BadRequest(Exception):
    """A request head the proxy will not forward; args: (status, one-line reason)."""


@dataclass(frozen=True)
class Request:
    """A request head, validated: its line and its headers (latin-1 text, as HTTP/1.1 has)."""

    method: str
    target: str
    version: str
    headers: tuple[tuple[str, str], ...]

    def values(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name]

    def tokens(self, name: str) -> set[str]:
        """A comma-separated header's tokens, lowercase (Connection: keep-alive, Upgrade)."""
        return {t.strip().lower() for v in self.values(name) for t in v.split(",")}

    @property
    def upgrade(self) -> bool:
        """A websocket handshake: relayed both ways until either side closes."""
        return (
            self.method == "GET"
            and "websocket" in self.tokens("upgrade")
            and "upgrade" in self.tokens("connection")
        )

    @property
    def body_length(self) -> int:
        (length,) = self.values("content-length") or ["0"]
        return int(length)


def _is_token(text: str) -> bool:
    return bool(text) and all(c.isascii() and (c.isalnum() or c in "!#$%&'*+-.^_`|~") for c in text)


def parse_head(raw: bytes) -> Request:
    """A request head (through its blank line) as a Request; BadRequest for anything HTTP/1.1
    does not allow, or that the proxy does not forward (absolute targets, folded lines, a
    chunked body, conflicting lengths)."""
    lines = raw.decode("latin-1").removesuffix("\r\n\r\n").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not _is_token(parts[0]) or parts[2] not in ("HTTP/1.0", "HTTP/1.1"):
        raise BadRequest(400, "a malformed request line")
    method, target, version = parts
    if not target.startswith("/") or any(not c.isprintable() or not c.isascii() for c in target):
        raise BadRequest(400, "a request target that is not a path")
    headers = []
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not _is_token(name):
            raise BadRequest(400, "a malformed header line")
        value = value.strip(" \t")
        if any(c < " " and c != "\t" or c == "\x7f" for c in value):
            raise BadRequest(400, "a control character in a header")
        headers.append((name, value))
    req = Request(method, target, version, tuple(headers))
    if req.values("transfer-encoding"):
        raise BadRequest(411, "a chunked request body; send Content-Length")
    lengths = set(req.values("content-length"))
    if len(lengths) > 1 or any(not (v.isascii() and v.isdigit()) or len(v) > 12 for v in lengths):
        raise BadRequest(400, "an invalid Content-Length")
    return req


def backend_of(req: Request, backends: int) -> int | None:
    """The backend the request's cookie names, or None: only the first `rflr_backend` cookie
    counts, and only as a decimal number below `backends`; anything else is as if absent."""
    for header in req.values("cookie"):
        for part in header.split(";"):
            name, _, value = part.strip().partition("=")
            if name == COOKIE:
                value = value.strip()
                ok = value.isascii() and value.isdigit() and len(value) <= 3
                return int(value) if ok and int(value) < backends else None
    return None


def forwarded_head(req: Request, peer: str) -> bytes:
    """The head sent to the backend: hop-by-hop headers replaced (`Connection: close`, or the
    upgrade's own pair), the peer appended to X-Forwarded-For, everything else as received."""
    kept = [(k, v) for k, v in req.headers if k.lower() not in HOP_BY_HOP | {"x-forwarded-for"}]
    chain = ", ".join([*req.values("x-forwarded-for"), peer]) if peer else ""
    if chain:
        kept.append(("X-Forwarded-For", chain))
    if req.upgrade:
        kept += [("Connection", "Upgrade"), ("Upgrade", ", ".join(req.values("upgrade")))]
    else:
        kept.append(("Connection", "close"))
    lines = [f"{req.method} {req.target} {req.version}", *(f"{k}: {v}" for k, v in kept)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def edited_response_head(head: bytes, set_cookie: str | None, upgrade: bool) -> bytes:
    """The backend's response head with our Set-Cookie added (when the request had none) and,
    but for an upgrade, `Connection: close` (the proxy closes after each response)."""
    status, *lines = head.removesuffix(b"\r\n\r\n").split(b"\r\n")
    if not upgrade:
        lines = [ln for ln in lines if not ln.lower().startswith((b"connection:", b"keep-alive:"))]
        lines.append(b"Connection: close")
    lines.insert(0, status)
    if set_cookie:
        lines.insert(1, b"Set-Cookie: " + set_cookie.encode("latin-1"))
    return b"\r\n".join(lines) + b"\r\n\r\n"


def one_line(status: int, reason: str, text: str) -> bytes:
    """A whole response of one line of text, closing the connection."""
    body = (text + "\n").encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


REASONS = {400: "Bad Request", 411: "Length Required", 502: "Bad Gateway", 503: "Unavailable"}
# what a client that goes away or sends garbage raises; never worth a traceback
GONE = (OSError, asyncio.IncompleteReadError)  # OSError: resets, broken pipes, timeouts


class Proxy:
    """The proxy's state: its backends, their live websockets, the turn for ties."""

    def __init__(
        self,
        backends: Sequence[tuple[str, int]],
        same_site: str = "Lax",
        max_connections: int = MAX_CONNECTIONS,
        head_timeout_s: float = HEAD_TIMEOUT_S,
        idle_s: float = IDLE_S,
    ) -> None:
        self.backends = list(backends)
        self.live = [0] * len(self.backends)  # websockets being relayed, per backend
        self.connections = 0  # client connections open now
        self.max_connections = max_connections
        self.head_timeout_s, self.idle_s = head_timeout_s, idle_s
        secure = "; Secure; Partitioned" if same_site == "None" else ""
        self.cookie_attrs = f"Path=/; HttpOnly; SameSite={same_site}{secure}"
        self._turn = 0
        self.owners = ws_session.Owners()  # session id -> backend, learnt from websockets

    def pick(self) -> int:
        """The backend with the fewest live websockets; among equals, the next in turn."""
        fewest = min(self.live)
        n = len(self.backends)
        for k in range(n):
            i = (self._turn + k) % n
            if self.live[i] == fewest:
                self._turn = (i + 1) % n
                return i
        raise AssertionError("unreachable")

    async def start(self, host: str | None, port: int) -> asyncio.Server:
        """Listen on (host, port); None or "" for every interface."""
        return await asyncio.start_server(self.handle, host or None, port, limit=HEAD_MAX)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One client connection: one request, or one websocket."""
        self.connections += 1
        try:
            if self.connections > self.max_connections:
                await _refuse(reader, writer, 503, "refused: too many connections; try again")
                return
            await self._serve(reader, writer)
        except GONE:
            pass  # the client or the backend went away: nothing to say to anyone
        except asyncio.CancelledError:
            pass  # the server is shutting down: this task is its own, nobody awaits it
        except Exception:  # a bug of ours: logged, and this connection only is dropped
            _LOG.exception("rflr proxy: a connection failed")
        finally:
            self.connections -= 1
            await _close(writer)

    def route(self, req: Request) -> tuple[int, str | None]:
        """The backend for `req`, and the Set-Cookie to add (None when the request named a
        backend by a valid cookie): the owner of the session it names, if known, else the
        cookie's, else the pick."""
        named = backend_of(req, len(self.backends))
        owner = self.owners.owner(session_of(req))
        index = owner if owner is not None else self.pick() if named is None else named
        return index, None if named is not None else f"{COOKIE}={index}; {self.cookie_attrs}"

    def tries(self, req: Request, index: int) -> list[int]:
        """The backends to ask in turn: a media file is in one process's memory, which the
        route may not know (no cookie, no session in its URL), so a GET or HEAD of /media/
        without a body goes on to the next backend on 404; anything else asks one."""
        n = len(self.backends)
        media = req.method in ("GET", "HEAD") and req.target.startswith("/media/")
        if not media or req.upgrade or req.body_length:
            return [index]
        return [(index + k) % n for k in range(n)]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            raw = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self.head_timeout_s)
        except asyncio.LimitOverrunError:
            raw = None
        except (TimeoutError, asyncio.IncompleteReadError):
            return  # closed or idle before a whole head: no request to answer
        try:
            if raw is None:
                raise BadRequest(400, f"a request head over {HEAD_MAX // 1024} KB")
            req = parse_head(raw)
        except BadRequest as e:
            status, reason = e.args
            await _refuse(reader, writer, status, f"refused: {reason}")
            return
        index, cookie = self.route(req)
        peer = writer.get_extra_info("peername")
        head = forwarded_head(req, peer[0] if isinstance(peer, tuple) else "")
        tries = self.tries(req, index)
        for i in tries:
            upstream = await self._connect(i)
            if upstream is None:
                await _refuse(
                    reader, writer, 502, "the explorer's server is not answering; try again"
                )
                return
            up_reader, up_writer = upstream
            try:
                up_writer.write(head)
                if req.upgrade:
                    await self._relay_websocket(reader, writer, up_reader, up_writer, cookie, i)
                elif i == tries[-1]:
                    await self._relay_request(reader, writer, up_reader, up_writer, req, cookie)
                elif not await self._relay_unless_404(writer, up_reader, cookie):
                    continue  # a media file this backend does not hold: ask the next
                return
            finally:
                await _close(up_writer)

    async def _connect(
        self, index: int
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        """A connection to backend `index`, or None (logged) when it does not answer."""
        host, port = self.backends[index]
        try:
            return await asyncio.wait_for(
                asyncio.open_connection(host, port, limit=HEAD_MAX), CONNECT_TIMEOUT_S
            )
        except (TimeoutError, OSError) as e:
            _LOG.warning(
                "rflr proxy: server process %d (port %d) did not answer: %s", index, port, e
            )
            return None

    async def _relay_request(self, reader, writer, up_reader, up_writer, req, cookie) -> None:
        """The request's body up (Content-Length bytes), the response down until the backend
        closes; the body is still being sent when the backend may answer early (413)."""
        body = asyncio.create_task(_pipe(reader, up_writer, self.idle_s, req.body_length))
        try:
            response, whole = await self._response_head(up_reader)
            await self._send_head(writer, response, whole, cookie, upgrade=False)
            await _pipe(up_reader, writer, self.idle_s)
        finally:
            body.cancel()
            with contextlib.suppress(asyncio.CancelledError, *GONE):
                await body

    async def _relay_unless_404(self, writer, up_reader, cookie: str | None) -> bool:
        """A bodiless request's response relayed, unless it is a 404: then its body is read
        and dropped, and False (the request may be sent elsewhere: it has nothing to replay)."""
        response, whole = await self._response_head(up_reader)
        if whole and _status(response) == b"404":
            await _drain(up_reader)
            return False
        await self._send_head(writer, response, whole, cookie, upgrade=False)
        await _pipe(up_reader, writer, self.idle_s)
        return True

    async def _relay_websocket(self, reader, writer, up_reader, up_writer, cookie, index) -> None:
        """Frames both ways, untouched, until either side closes: no idle timeout, Streamlit's
        pings keep a live page talking. The first downstream frames are also read (a copy)
        until the session's id goes by: then this backend is known to own it."""

        async def down() -> None:
            response, whole = await self._response_head(up_reader)
            await self._send_head(writer, response, whole, cookie, upgrade=True)
            finder = ws_session.finder_for(response) if whole else None
            while finder is not None and not finder.done:
                data = await up_reader.read(CHUNK)
                if not data:
                    return
                if session := finder.feed(data):  # learnt before the page can name it
                    self.owners.learn(session, index)
                writer.write(data)
                await writer.drain()
            await _pipe(up_reader, writer, None)

        self.live[index] += 1  # for the pick, while it lasts
        tasks = [asyncio.create_task(_pipe(reader, up_writer, None)), asyncio.create_task(down())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(asyncio.CancelledError, *GONE):
                    await t
            self.live[index] -= 1

    async def _response_head(self, up_reader) -> tuple[bytes, bool]:
        """The backend's response head and whether it is whole: one over HEAD_MAX comes as
        its first HEAD_MAX bytes, to pass on as they are."""
        try:
            return await asyncio.wait_for(up_reader.readuntil(b"\r\n\r\n"), self.idle_s), True
        except asyncio.LimitOverrunError:
            return await up_reader.read(HEAD_MAX), False

    async def _send_head(self, writer, head: bytes, whole: bool, cookie, upgrade: bool) -> None:
        """A response head to the client, edited when whole (a head too large to edit passes
        as it is, without our cookie: the next request picks again)."""
        writer.write(edited_response_head(head, cookie, upgrade) if whole else head)
        await writer.drain()


def session_of(req: Request) -> str | None:
    """The Streamlit session a request names, or None: an upload's URL
    (/_stcore/upload_file/<session>/<file>, any method), or a websocket reconnect's
    Sec-WebSocket-Protocol, `streamlit, <xsrf token>, <session>` (its first header only, as
    Streamlit reads it). Hostile input: anything but that exact shape is None."""
    if req.upgrade:
        protocols = req.values("sec-websocket-protocol")[:1]
        entries = [e.strip() for e in protocols[0].split(",")] if protocols else []
        session = entries[2] if len(entries) >= 3 else ""
    else:
        rest = req.target.removeprefix(UPLOAD)
        session, slash, _ = rest.partition("/")
        if rest == req.target or not slash:
            return None
    return session if ws_session.is_session_id(session) else None


def _status(head: bytes) -> bytes:
    """A response head's status code (b"404"), or b"" for a malformed status line."""
    parts = head.split(b"\r\n", 1)[0].split(b" ")
    return parts[1] if len(parts) >= 2 else b""


async def _drain(up_reader: asyncio.StreamReader) -> None:
    """Read and drop a response body we do not relay (a 404 that another backend may beat):
    at most DRAIN_MAX bytes within DRAIN_S, so the backend's write does not fail midway."""
    left = DRAIN_MAX
    with contextlib.suppress(*GONE):
        async with asyncio.timeout(DRAIN_S):
            while left > 0 and (data := await up_reader.read(min(CHUNK, left))):
                left -= len(data)


async def _pipe(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    idle_s: float | None,
    length: int | None = None,
) -> None:
    """Copy from reader to writer until EOF (or `length` bytes); TimeoutError after `idle_s`
    without a byte."""
    left = length
    while left is None or left > 0:
        size = CHUNK if left is None else min(CHUNK, left)
        data = await asyncio.wait_for(reader.read(size), idle_s)
        if not data:
            return
        writer.write(data)
        await writer.drain()
        if left is not None:
            left -= len(data)


async def _refuse(reader, writer, status: int, text: str) -> None:
    """Answer with one line and close gently: the client may still be sending (a head over
    the cap, a body), and closing a socket with unread data resets it, losing the answer. So
    stop writing, then read and drop what comes for at most LINGER_S."""
    writer.write(one_line(status, REASONS[status], text))
    await writer.drain()
    if writer.can_write_eof():
        writer.write_eof()
    with contextlib.suppress(*GONE):
        async with asyncio.timeout(LINGER_S):
            while await reader.read(CHUNK):
                pass


async def _close(writer: asyncio.StreamWriter) -> None:
    """Close a connection; a shutdown that cancels the wait is no error (the task ends)."""
    writer.close()
    with contextlib.suppress(*GONE, asyncio.CancelledError):
        await writer.wait_closed()
