"""rflr.explorer.ws_session: the session id read from a server's first websocket frames, built
by hand (7/16/64-bit lengths, fragments, pings, deflate with and without context takeover)
and by the websockets library's own server (what uvicorn runs for Streamlit), and hostile
streams that must end the watch quietly."""

from __future__ import annotations

import uuid
import zlib

import pytest
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from rflr.explorer import ws_session
from rflr.explorer.ws_session import FRAME_END, Frame, FrameReader, Owners, SessionFinder

SESSION = str(uuid.uuid4())
HEAD_101 = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"


def frame(payload: bytes, opcode: int = 2, fin: bool = True, rsv1: bool = False) -> bytes:
    """One unmasked server frame, its length in the fewest bytes RFC 6455 allows."""
    b0 = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
    n = len(payload)
    if n < 126:
        length = bytes([n])
    elif n < 1 << 16:
        length = bytes([126]) + n.to_bytes(2, "big")
    else:
        length = bytes([127]) + n.to_bytes(8, "big")
    return bytes([b0]) + length + payload


def new_session(session: str = SESSION, padding: int = 0) -> bytes:
    msg = ForwardMsg()
    msg.new_session.initialize.session_id = session
    msg.new_session.main_script_path = "x" * padding  # to reach a given length
    return msg.SerializeToString()


def other(text: str = "hello") -> bytes:
    """A ForwardMsg that is not new_session (what may come before it)."""
    msg = ForwardMsg()
    msg.delta.new_element.markdown.body = text
    return msg.SerializeToString()


def deflated(messages: list[bytes], takeover: bool = True) -> list[bytes]:
    """Each message compressed as RFC 7692 says: sync-flushed, its 00 00 ff ff stripped; one
    compressor across messages (context takeover) or one per message."""
    out, c = [], zlib.compressobj(wbits=-15)
    for m in messages:
        if not takeover:
            c = zlib.compressobj(wbits=-15)
        data = c.compress(m) + c.flush(zlib.Z_SYNC_FLUSH)
        assert data.endswith(b"\x00\x00\xff\xff")
        out.append(data[:-4])
    return out


def find(stream: bytes, step: int | None = None, **kw) -> tuple[str | None, SessionFinder]:
    """Feed `stream` whole, or in chunks of `step` bytes; (what feed returned, the finder)."""
    finder = SessionFinder(**kw)
    step = step or len(stream) or 1
    found = [s for i in range(0, len(stream), step) if (s := finder.feed(stream[i : i + step]))]
    assert len(found) <= 1  # told once
    return (found[0] if found else None), finder


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536, 200_000])
def test_frame_lengths_of_7_16_and_64_bits(size):
    payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
    for step in (1, 7, len(payload) + 20):
        if step == 1 and size > 70_000:
            continue  # byte by byte is slow in Python and proves no more
        events, reader, data = [], FrameReader(), frame(payload) + frame(b"", opcode=9)
        for i in range(0, len(data), step):
            events += reader.feed(data[i : i + step])
        assert events[0] == Frame(True, False, 2, size)
        assert b"".join(e for e in events if isinstance(e, bytes)) == payload
        assert events[-2:] == [Frame(True, False, 9, 0), FRAME_END]
        assert events.count(FRAME_END) == 2


@pytest.mark.parametrize("padding", [0, 200, 70_000])  # its frame's length: 7, 16, 64 bits
@pytest.mark.parametrize("step", [1, 3, 4096, None])
def test_the_session_of_a_new_session_message(padding, step):
    if step == 1 and padding > 1000:
        step = 97
    stream = frame(other()) + frame(b"p", opcode=9) + frame(new_session(padding=padding))
    found, finder = find(stream + frame(other()), step)
    assert found == SESSION and finder.session == SESSION and finder.done
    assert finder.feed(frame(new_session(str(uuid.uuid4())))) is None  # done: not parsed


def test_a_fragmented_message_with_a_ping_between_its_frames():
    msg = new_session()
    a, b, c = msg[:5], msg[5:20], msg[20:]
    stream = frame(a, fin=False) + frame(b"ping", opcode=9) + frame(b, opcode=0, fin=False)
    stream += frame(b"", opcode=10) + frame(c, opcode=0)
    for step in (1, 5, None):
        assert find(stream, step)[0] == SESSION


def test_compressed_messages_with_context_takeover():
    # the second message repeats the first's text: compressed, it refers back into it, so it
    # decodes only after the first one was inflated by the same inflater
    text = "a block of text that the next message repeats " * 4
    first, second = deflated([other(text), other(text) + new_session()])
    with pytest.raises(zlib.error):
        zlib.decompressobj(-15).decompress(second + ws_session.DEFLATE_TAIL)
    stream = frame(first, rsv1=True) + frame(second[:10], rsv1=True, fin=False)
    stream += frame(b"", opcode=9) + frame(second[10:], opcode=0)  # RSV1 on the first only
    for step in (1, 6, None):
        assert find(stream, step, deflate=True)[0] == SESSION
    # without context takeover the same stream is read wrongly: nothing found, no exception
    assert find(stream, deflate=True, takeover=False)[0] is None


def test_compressed_messages_without_context_takeover():
    messages = [other(), other("hello again"), new_session()]
    stream = b"".join(frame(m, rsv1=True) for m in deflated(messages, takeover=False))
    stream = frame(b"plain", opcode=1) + stream  # an uncompressed text message between
    ext = b"Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n"
    finder = ws_session.finder_for(HEAD_101 + ext + b"\r\n")
    assert finder.feed(stream) == SESSION


def test_finder_for_reads_the_negotiated_extension():
    assert ws_session.finder_for(b"HTTP/1.1 403 Forbidden\r\n\r\n") is None
    assert ws_session.finder_for(b"garbage\r\n\r\n") is None
    assert ws_session.finder_for(HEAD_101 + b"Sec-WebSocket-Extensions: x-other\r\n\r\n") is None
    plain = ws_session.finder_for(HEAD_101 + b"\r\n")
    compressed = frame(deflated([new_session()])[0], rsv1=True)
    assert plain.feed(compressed) is None and plain.done  # RSV1 without deflate: malformed
    ext = b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=12\r\n"
    assert ws_session.finder_for(HEAD_101 + ext + b"\r\n").feed(compressed) == SESSION


@pytest.mark.parametrize("deflate", [True, False])
def test_the_websockets_server_that_uvicorn_runs(deflate):
    """A reference: the handshake and frames of websockets' own server (uvicorn's
    websockets-sansio runs it, with these deflate settings, for Streamlit), a client that
    offers deflate, fragments, a ping, and a compressed message before new_session."""
    from websockets.client import ClientProtocol
    from websockets.extensions.permessage_deflate import (
        ClientPerMessageDeflateFactory,
        ServerPerMessageDeflateFactory,
    )
    from websockets.server import ServerProtocol
    from websockets.uri import parse_uri

    offer = [ClientPerMessageDeflateFactory(client_max_window_bits=True)]
    client = ClientProtocol(parse_uri("ws://h/_stcore/stream"), extensions=offer)
    client.send_request(client.connect())
    factory = ServerPerMessageDeflateFactory(
        server_max_window_bits=12, client_max_window_bits=12, compress_settings={"memLevel": 5}
    )
    server = ServerProtocol(extensions=[factory] if deflate else [])
    for data in client.data_to_send():
        server.receive_data(data)
    (request,) = server.events_received()
    server.send_response(server.accept(request))
    head = b"".join(server.data_to_send())
    assert (b"permessage-deflate" in head) == deflate
    server.send_binary(other("x" * 5000))
    server.send_ping(b"ping")
    msg = new_session()
    server.send_binary(msg[:9], fin=False)
    server.send_continuation(msg[9:], fin=True)
    stream = b"".join(server.data_to_send())
    assert (stream[0] & 0x40 != 0) == deflate  # compressed indeed
    finder = ws_session.finder_for(head)
    assert finder is not None
    assert [s for b in stream for s in [finder.feed(bytes([b]))] if s] == [SESSION]


def bomb() -> bytes:
    """A message of 64 MiB of zeros, deflated to ~64 KB."""
    c = zlib.compressobj(wbits=-15)
    chunk = bytes(1 << 20)
    data = b"".join(c.compress(chunk) for _ in range(64)) + c.compress(new_session())
    return (data + c.flush(zlib.Z_SYNC_FLUSH))[:-4]


@pytest.mark.parametrize(
    "stream,kw",
    [
        (b"\x00" * 100, {}),  # garbage: a continuation outside a message
        (bytes(range(256)) * 4 + frame(new_session()), {}),
        (b"\x82\xff" + bytes(8) + frame(new_session()), {}),  # masked: no server's frame
        (b"\x82\x7f\xff" + bytes(7), {}),  # a 64-bit length with its top bit set
        (b"\xa2\x05" + new_session()[:5], {}),  # RSV2
        (b"\x83\x00", {}),  # an unknown opcode
        (frame(b"x" * 126, opcode=9), {}),  # a long ping
        (frame(b"x", opcode=9, fin=False), {}),  # a fragmented ping
        (frame(b"x", fin=False) + frame(new_session()), {}),  # a new message mid-message
        (frame(b"\xff\xff\xff"), {}),  # a binary message that is no ForwardMsg
        (frame(new_session("NOT-A-UUID")), {}),
        (frame(new_session("a" * 65)), {}),
        (frame(new_session("0b9c3b8e 2f7a")), {}),
        (frame(new_session("0b9c3b8e\n")), {}),
        (frame(new_session("é")), {}),
        (frame(new_session()[:-3]), {}),  # truncated: a decode error
        (frame(new_session(), opcode=1), {}),  # a text message is not parsed
        (frame(b"") * ws_session.MAX_FRAMES + frame(new_session()), {}),  # past the budget
        (frame(b"", opcode=9) * ws_session.MAX_FRAMES + frame(new_session()), {}),
        (frame(b"bye", opcode=8) + frame(new_session()), {}),  # after a close
        (frame(bomb(), rsv1=True), {"deflate": True}),
        (frame(b"\xff\xfe\xfd" * 10, rsv1=True), {"deflate": True}),  # not deflate
        (frame(new_session(padding=ws_session.MAX_MESSAGE)), {}),  # over the message cap
    ],
)
def test_hostile_streams_find_nothing_and_raise_nothing(stream, kw):
    for step in (1, 1000, None):
        if step == 1 and len(stream) > 5000:
            continue
        found, finder = find(stream, step, **kw)
        assert found is None and finder.session is None


def test_just_within_the_budgets_the_session_is_found():
    """The hostile cases' controls: they fail for being past a budget, not for their form."""
    frames = frame(b"") * (ws_session.MAX_FRAMES - 1) + frame(new_session())
    assert find(frames)[0] == SESSION
    pings = frame(b"", opcode=9) * (ws_session.MAX_FRAMES - 1) + frame(new_session())
    assert find(pings)[0] == SESSION
    big = new_session(padding=ws_session.MAX_MESSAGE - 100)
    assert len(big) <= ws_session.MAX_MESSAGE and find(frame(big))[0] == SESSION
    assert find(frame(deflated([big])[0], rsv1=True), deflate=True)[0] == SESSION


def test_a_huge_declared_length_is_watched_only_up_to_the_byte_budget():
    finder = SessionFinder()
    assert finder.feed(b"\x82\x7f" + (1 << 62).to_bytes(8, "big")) is None
    assert not finder.done  # a frame of 4 EiB is legal: its bytes are counted, not kept
    chunk = bytes(1 << 20)
    for _ in range(ws_session.MAX_WIRE // len(chunk) + 1):
        finder.feed(chunk)
    assert finder.done and finder.feed(frame(new_session())) is None


def test_a_deflate_bomb_costs_at_most_the_message_cap(monkeypatch):
    sizes = []
    real = zlib.decompressobj

    class Spy:
        def __init__(self, *a):
            self.d = real(*a)

        def decompress(self, data, max_length=0):
            assert max_length > 0  # always a cap (0 would mean none)
            out = self.d.decompress(data, max_length)
            sizes.append(len(out))
            return out

        def __getattr__(self, name):
            return getattr(self.d, name)

    monkeypatch.setattr(ws_session.zlib, "decompressobj", Spy)
    found, finder = find(frame(bomb(), rsv1=True), deflate=True)
    assert found is None and finder.done
    assert sum(sizes) <= ws_session.MAX_MESSAGE


def test_session_ids_are_streamlits_shape():
    assert ws_session.is_session_id(str(uuid.uuid4()))
    for bad in ("", "A" * 36, "a" * 65, "../x", "0b9c3b8e\n", "١٢", "a b", "a%2f"):
        assert not ws_session.is_session_id(bad)


def test_owners_forget_the_least_recently_used_past_their_size():
    owners = Owners(size=3)
    for i, s in enumerate("abc"):
        owners.learn(s, i)
    assert owners.owner("a") == 0  # asked: now the most recent
    owners.learn("d", 1)
    assert len(owners) == 3 and owners.owner("b") is None
    assert [owners.owner(s) for s in "acd"] == [0, 2, 1]
    owners.learn("a", 1)  # a session learnt again (a reconnect) moves with it
    assert owners.owner("a") == 1 and owners.owner(None) is None and owners.owner("") is None
