"""Which Streamlit session a websocket carries, read from the server's first frames.

The proxy (rflr.explorer.proxy) sends a session's uploads and reconnects to the process that
owns it, so it must learn the owner without the browser's help: in a cross-site iframe (a
Space) the proxy's cookie is third-party, and Safari never sends it. Streamlit says it
itself: the first ForwardMsg of type `new_session` that a server sends down a websocket
carries `new_session.initialize.session_id`. The proxy relays the downstream bytes unchanged
and feeds a copy to a SessionFinder until the finder is done; then it only pipes.

    FrameReader    RFC 6455 server frames, incrementally: a header (Frame), its payload in
                   chunks, FRAME_END; lengths of 7, 16 or 64 bits
    SessionFinder  data messages reassembled across fragments (control frames between them
                   skipped), inflated when permessage-deflate (RFC 7692) set RSV1, parsed
    finder_for     a SessionFinder for a 101 response head (its Sec-WebSocket-Extensions)
    Owners         session -> process index, an LRU of MAX_OWNERS

The stream is the backend's, but it is parsed as hostile input all the same: a finder gives
up (done, no session) after MAX_FRAMES frames or MAX_WIRE bytes, on a message that
inflates past MAX_MESSAGE (a deflate bomb costs at most that), on anything RFC 6455 does not
allow, on an id that is not shaped like Streamlit's; it never raises.
"""

from __future__ import annotations

import re
import zlib
from collections import OrderedDict
from collections.abc import Iterator
from typing import NamedTuple

from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

# Streamlit's ids are str(uuid.uuid4()) (AppSession.id): 36 lowercase hex digits and hyphens
SESSION_ID = re.compile(r"[0-9a-f-]{1,64}")
MAX_FRAMES = 64  # data and control frames; new_session is in the first few
MAX_WIRE = 8 * 1024 * 1024  # downstream bytes watched per websocket
MAX_MESSAGE = 1024 * 1024  # one message, inflated; a new_session is a few KB
MAX_OWNERS = 10_000  # sessions remembered (anyone can open websockets: bounded)
DEFLATE_TAIL = b"\x00\x00\xff\xff"  # RFC 7692 7.2.2: stripped by the sender, put back here
FRAME_END = None  # what FrameReader yields after a frame's last payload byte


def is_session_id(text: str) -> bool:
    """Whether `text` is shaped like a Streamlit session id (hostile input otherwise)."""
    return SESSION_ID.fullmatch(text) is not None


class Malformed(Exception):
    """Frames no RFC 6455 server sends, or a message not worth decoding: stop watching."""


class Frame(NamedTuple):
    """A frame's header: FIN, RSV1 (compressed, with permessage-deflate), opcode, length."""

    fin: bool
    rsv1: bool
    opcode: int
    length: int


def _header_size(head: bytearray) -> int:
    """The size of a header that starts with `head` (2 until its second byte is known)."""
    if len(head) < 2:
        return 2
    return 2 + {126: 2, 127: 8}.get(head[1] & 0x7F, 0)


class FrameReader:
    """Server-to-client frames, parsed as bytes arrive in chunks of any size: feed() yields
    each frame's Frame, its payload in chunks (bytes) and FRAME_END, in stream order."""

    def __init__(self) -> None:
        self._head = bytearray()  # a header read so far
        self._left = 0  # payload bytes of the current frame still to come
        self._in_payload = False

    def feed(self, data: bytes) -> Iterator[Frame | bytes | None]:
        pos = 0
        while pos < len(data):
            if self._in_payload:
                take = min(self._left, len(data) - pos)
                yield data[pos : pos + take]
                pos += take
                self._left -= take
                if not self._left:
                    self._in_payload = False
                    yield FRAME_END
                continue
            take = min(_header_size(self._head) - len(self._head), len(data) - pos)
            self._head += data[pos : pos + take]
            pos += take
            if len(self._head) >= 2 and len(self._head) == _header_size(self._head):
                frame = _parse_header(bytes(self._head))
                self._head.clear()
                yield frame
                if frame.length:
                    self._left, self._in_payload = frame.length, True
                else:
                    yield FRAME_END


def _parse_header(head: bytes) -> Frame:
    """A whole header as a Frame; Malformed for what a server may not send (a mask, RSV2 or
    RSV3, an unknown opcode, a fragmented, compressed or long control frame)."""
    b0, b1 = head[0], head[1]
    fin, rsv1, opcode = bool(b0 & 0x80), bool(b0 & 0x40), b0 & 0x0F
    if b1 & 0x80 or b0 & 0x30 or opcode not in (0, 1, 2, 8, 9, 10):
        raise Malformed("a masked frame, RSV2/RSV3 or an unknown opcode")
    length = int.from_bytes(head[2:], "big") if len(head) > 2 else b1 & 0x7F
    if length >> 63:
        raise Malformed("a 64-bit length with its top bit set")
    if opcode >= 8 and (not fin or rsv1 or length > 125):
        raise Malformed("a fragmented, compressed or long control frame")
    return Frame(fin, rsv1, opcode, length)


def new_session_id(message: bytes) -> str | None:
    """The session id of a `new_session` ForwardMsg, or None for any other message; Malformed
    for bytes that are no ForwardMsg and for an id not shaped like Streamlit's."""
    msg = ForwardMsg()
    try:
        msg.ParseFromString(message)
    except Exception as e:  # protobuf's DecodeError, or its C parser's own errors
        raise Malformed("not a ForwardMsg") from e
    if msg.WhichOneof("type") != "new_session":
        return None
    session = msg.new_session.initialize.session_id
    if not is_session_id(session):
        raise Malformed("a session id not shaped like Streamlit's")
    return session


class SessionFinder:
    """Fed the downstream bytes after a websocket's 101 head, in order: `session` once the
    server's new_session ForwardMsg has gone by; `done` once found or given up."""

    def __init__(self, deflate: bool = False, takeover: bool = True) -> None:
        self.session: str | None = None
        self.done = False
        self._deflate, self._takeover = deflate, takeover
        # with context takeover one inflater reads every compressed message in order
        self._inflate = zlib.decompressobj(-15)
        self._frames = FrameReader()
        self._frame: Frame | None = None  # the frame whose payload is arriving
        self._message: bytearray | None = None  # the data message being reassembled
        self._compressed = self._binary = False
        self._wire = self._seen = 0  # bytes, frames

    def feed(self, data: bytes) -> str | None:
        """The session id if this chunk completed the new_session message, else None; never
        raises (anything unexpected ends the watch)."""
        if self.done:
            return None
        self._wire += len(data)
        if self._wire > MAX_WIRE:
            self.done = True
            return None
        try:
            for event in self._frames.feed(data):
                self._on(event)
                if self.done:
                    break
        except Exception:  # Malformed, zlib.error, or a bug: the relay must go on regardless
            self.done = True
        return self.session

    def _on(self, event: Frame | bytes | None) -> None:
        if isinstance(event, Frame):
            self._start(event)
        elif event is FRAME_END:
            if self._frame.opcode < 8 and self._frame.fin:
                self._finish()
        elif self._frame.opcode < 8:  # a data frame's payload; control payloads are skipped
            self._add(event)

    def _start(self, frame: Frame) -> None:
        self._frame = frame
        self._seen += 1  # every frame counts: pings cannot keep the watch alive
        if self._seen > MAX_FRAMES or frame.opcode == 8:  # the budget; a close
            self.done = True
        elif frame.opcode == 0:
            if self._message is None or frame.rsv1:
                raise Malformed("a continuation outside a message, or with RSV1")
        elif frame.opcode in (1, 2):
            if self._message is not None:
                raise Malformed("a new message before the last one's final frame")
            if frame.rsv1 and not self._deflate:
                raise Malformed("RSV1 without permessage-deflate")
            self._message = bytearray()
            self._compressed, self._binary = frame.rsv1, frame.opcode == 2

    def _add(self, chunk: bytes) -> None:
        if self._compressed:
            self._message += self._inflated(chunk)
        elif len(self._message) + len(chunk) > MAX_MESSAGE:
            raise Malformed("a message over MAX_MESSAGE")
        else:
            self._message += chunk

    def _inflated(self, chunk: bytes) -> bytes:
        """`chunk` inflated, at most what MAX_MESSAGE leaves (max_length 0 would be no cap)."""
        room = MAX_MESSAGE - len(self._message)
        out = self._inflate.decompress(chunk, room) if room > 0 else b""
        if self._inflate.unconsumed_tail or (room <= 0 and chunk):
            raise Malformed("a message that inflates past MAX_MESSAGE")
        return out

    def _finish(self) -> None:
        if self._compressed:
            self._message += self._inflated(DEFLATE_TAIL)
            if not self._takeover:  # server_no_context_takeover: each message on its own
                self._inflate = zlib.decompressobj(-15)
            elif self._inflate.eof:  # a final deflate block: the next message's context is lost
                self.done = True
        message, self._message = bytes(self._message), None
        if self._binary:  # Streamlit sends ForwardMsgs as binary messages
            session = new_session_id(message)
            if session is not None:
                self.session, self.done = session, True


def finder_for(head: bytes) -> SessionFinder | None:
    """A SessionFinder for the stream after this response head, or None where there is
    nothing to watch: not a 101, or an extension other than permessage-deflate (its RSV
    bits would mean something we cannot read)."""
    status, *lines = head.decode("latin-1").split("\r\n")
    if status.split(" ")[1:2] != ["101"]:
        return None
    deflate, takeover = False, True
    for line in lines:
        name, _, value = line.partition(":")
        if name.strip().lower() != "sec-websocket-extensions":
            continue
        for extension in value.split(","):
            name, *params = (p.strip().lower() for p in extension.split(";"))
            if name == "permessage-deflate":
                deflate = True
                takeover = takeover and "server_no_context_takeover" not in params
            elif name:
                return None
    return SessionFinder(deflate, takeover)


class Owners:
    """Which process owns each session: the MAX_OWNERS most recently seen or asked about."""

    def __init__(self, size: int = MAX_OWNERS) -> None:
        self._size = size
        self._owners: OrderedDict[str, int] = OrderedDict()

    def __len__(self) -> int:
        return len(self._owners)

    def learn(self, session: str, index: int) -> None:
        self._owners[session] = index
        self._owners.move_to_end(session)
        while len(self._owners) > self._size:
            self._owners.popitem(last=False)

    def owner(self, session: str | None) -> int | None:
        """The process that owns `session`, or None (unknown, forgotten, or no session)."""
        index = self._owners.get(session) if session else None
        if index is not None:
            self._owners.move_to_end(session)  # a session in use is kept
        return index
