"""A visitor without a browser: Streamlit's own websocket protocol, spoken from Python.

Used by served_load.py (`--clients protocol`) to load the server alone: Chromium on the same
cores costs about ten times the server's CPU per change (issue 22) and would measure itself.

How a visitor is made: rather than replaying frames recorded from Chromium (whose widget ids
and values are tied to one version of the page and one visitor's runs), each `Session` builds
the BackMsgs a browser would send, from streamlit.proto, out of what the server told it. It
keeps the page's widgets as the server's deltas describe them (id, label, options, value) and
sends a change as a browser does: a `rerun_script` BackMsg whose ClientState holds every
widget's value (the changed one new), the page's query string (page_info_changed), its page
hash (new_session) and the hashes of the large messages it keeps (Streamlit's forward-message
cache: the server sends a `ref_hash` instead of a chart the page already has). It also
answers the page's `st.fragment(run_every=...)` polls (auto_rerun), as the browser's timer
does. Widgets are found by label, as the Chromium visitor finds them, so a change of layout
or of widget keys does not break the client. What it does not do: report the main area's
width (rflr.explorer.viewport's component; the server then lays out for its assumed width, as
for a browser of that width), heartbeats, uploads.

Protocol (streamlit 1.67, starlette server): a websocket on /_stcore/stream whose
Sec-WebSocket-Protocol is "streamlit" (its 2nd and 3rd entries, an XSRF token and a session
id to resume, are optional; without them the server makes a new session). Every frame is one
binary protobuf: BackMsg up, ForwardMsg down. The server runs the script only when the first
`rerun_script` arrives; every run ends with a `script_finished` ForwardMsg.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

STREAM = "/_stcore/stream"
SUBPROTOCOL = "streamlit"
DONE = ForwardMsg.FINISHED_SUCCESSFULLY  # a full run ended (fragment runs end otherwise)


# --- widgets: element proto -> (WidgetState field, the value a browser holds) -----------------


def _choice(el: Any) -> str | None:
    if el.set_value or el.HasField("raw_value"):
        return el.raw_value
    return el.options[el.default] if el.HasField("default") and el.options else None


def _number(el: Any) -> float | None:
    if el.set_value and el.HasField("value"):
        return el.value
    return el.default if el.HasField("default") else None


def _slider(el: Any) -> tuple[str, list]:
    """A select_slider travels as its options' strings, a numeric slider as numbers."""
    if el.type == el.SELECT_SLIDER:
        if el.set_value:
            return "string_array_value", list(el.raw_value)
        return "string_array_value", [el.options[int(i)] for i in el.default]
    return "double_array_value", list(el.value if el.set_value else el.default)


# element type -> what its current value is (the widgets the explorer's page has; a widget of
# another kind is left out of ClientState: the server then keeps its last value)
VALUE_OF: dict[str, Callable[[Any], tuple[str, Any]]] = {
    "selectbox": lambda el: ("string_value", _choice(el)),
    "radio": lambda el: ("string_value", _choice(el)),
    "slider": _slider,
    "checkbox": lambda el: ("bool_value", el.value if el.set_value else el.default),
    "number_input": lambda el: ("double_value", _number(el)),  # ints too (streamlit's serde)
    "text_input": lambda el: (
        "string_value",
        el.value if el.set_value and el.HasField("value") else el.default,
    ),
}


@dataclass
class Widget:
    """One widget of the page as the last run drew it, and the value this visitor holds."""

    id: str
    kind: str  # the element type: selectbox, slider, ...
    label: str
    element: Any  # its proto (options, min, max, step)
    field: str  # the WidgetState field its value travels in
    value: Any
    fragment_id: str = ""  # the st.fragment that drew it: a change reruns only that fragment

    def state(self) -> WidgetState | None:
        if self.value is None:  # no selection: the browser sends nothing for it either
            return None
        ws = WidgetState(id=self.id)
        if self.field.endswith("_array_value"):
            getattr(ws, self.field).data.extend(self.value)
        else:
            setattr(ws, self.field, self.value)
        return ws


@dataclass
class Received:
    """What the server sent for one run: messages, bytes, and bytes by element type."""

    msgs: int = 0
    bytes: int = 0  # the messages as decoded (what the page holds)
    wire: int = 0  # their frames' payloads as sent (compressed when the server deflates)
    by_kind: collections.Counter = field(default_factory=collections.Counter)


@dataclass
class Session:
    """One visitor's page: a websocket and the state a browser keeps for it."""

    url: str  # http://host:port
    ws: Any = None
    widgets: dict[str, Widget] = field(default_factory=dict)  # id -> widget
    seen_this_run: set[str] = field(default_factory=set)
    query_string: str = ""
    page_hash: str = ""
    cache: dict[str, int] = field(default_factory=dict)  # message hash -> run last used
    max_age: int = 2  # new_session's config.max_cached_message_age
    runs: int = 0  # full runs finished
    received: Received = field(default_factory=Received)  # since the last take()
    polls: dict[str, asyncio.Task] = field(default_factory=dict)  # fragment id -> timer
    _done: asyncio.Event = field(default_factory=asyncio.Event)  # the run we asked for ended
    _polls_running: int = 0  # polls sent whose run has not ended
    _polls_done: asyncio.Event = field(default_factory=asyncio.Event)
    _reader: asyncio.Task | None = None
    _waiting: str = "full"  # the kind of run the last rerun() asked for
    _wire: int = 0  # payload bytes of the frames of the message being read
    _deflating: bool = False

    # --- connection ---

    async def open(self, query_string: str = "", timeout_s: float = 120) -> float:
        """Connect and ask for the first run, as a new tab does; seconds to its end."""
        t0 = time.perf_counter()
        ws_url = "ws" + self.url.removeprefix("http") + STREAM
        # permessage-deflate offered, as a browser offers it; the server's setting decides
        self.ws = await websockets.connect(
            ws_url, subprotocols=[SUBPROTOCOL], max_size=None, compression="deflate"
        )
        self._count_wire()
        self._reader = asyncio.create_task(self._read())
        self.query_string = query_string
        await self.rerun(timeout_s)
        return time.perf_counter() - t0

    def _count_wire(self) -> None:
        """Count each data frame's payload before the deflate extension decodes it."""
        self._wire = 0
        for ext in self.ws.protocol.extensions:
            decode = ext.decode

            def counted(frame, *, max_size=None, decode=decode):
                if frame.opcode.value in (0, 1, 2):  # continuation, text, binary
                    self._wire += len(frame.data)
                return decode(frame, max_size=max_size)

            ext.decode = counted
        self._deflating = bool(self.ws.protocol.extensions)

    async def close(self) -> None:
        for task in self.polls.values():
            task.cancel()
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            self._reader.cancel()

    # --- runs ---

    def client_state(self, fragment_id: str = "", poll: bool = False) -> ClientState:
        state = ClientState(
            query_string=self.query_string,
            page_script_hash=self.page_hash,
            fragment_id=fragment_id,
            is_auto_rerun=poll,
        )
        states = (w.state() for w in self.widgets.values())
        state.widget_states.widgets.extend(s for s in states if s is not None)
        state.cached_message_hashes.extend(self.cache)
        return state

    async def rerun(self, timeout_s: float = 120, fragment_id: str = "") -> float:
        """Send a rerun with the widgets' current values (of the whole page, or of one
        fragment, as a change of a widget inside it does); seconds until its script_finished
        (a run the script restarts itself, st.rerun, counts until the end). A poll still
        running is waited for first, untimed, so that its end is not taken for this run's."""
        if self._polls_running:
            self._polls_done.clear()
            try:
                await asyncio.wait_for(self._polls_done.wait(), 5.0)
            except TimeoutError:
                self._polls_running = 0  # coalesced away: nothing more will end
        self._done.clear()
        self._waiting = "fragment" if fragment_id else "full"
        msg = BackMsg()
        msg.rerun_script.CopyFrom(self.client_state(fragment_id))
        t0 = time.perf_counter()
        await self.ws.send(msg.SerializeToString())
        await asyncio.wait_for(self._done.wait(), timeout_s)
        return time.perf_counter() - t0

    async def change(self, widget: Widget, value: Any, timeout_s: float = 120) -> float:
        """Set one widget, as a click does, and time the rerun it causes."""
        widget.value = value
        return await self.rerun(timeout_s, widget.fragment_id)

    def take(self) -> Received:
        """What was received since the last take()."""
        got, self.received = self.received, Received()
        return got

    # --- finding widgets ---

    def widget(self, label: str | Callable[[str], bool], kind: str | None = None) -> Widget:
        """The first widget (in page order) whose label is `label` (or passes it)."""
        match = label if callable(label) else (lambda s: s == label)
        for w in self.widgets.values():
            if match(w.label) and (kind is None or w.kind == kind):
                return w
        raise LookupError(f"no {kind or 'widget'} with that label ({label}) on the page")

    # --- what the server sends ---

    async def _read(self) -> None:
        async for data in self.ws:
            msg = ForwardMsg()
            msg.ParseFromString(data)
            kind = msg.WhichOneof("type")
            what = kind
            if kind == "delta":
                what = msg.delta.WhichOneof("type")
                if what == "new_element":
                    what = msg.delta.new_element.WhichOneof("type")
                    self._element(msg.delta.new_element, what, msg.delta.fragment_id)
            self.received.msgs += 1
            self.received.bytes += len(data)
            self.received.wire += self._wire if self._deflating else len(data)
            self._wire = 0
            self.received.by_kind[what] += len(data)
            if msg.metadata.cacheable and msg.hash:
                self.cache[msg.hash] = self.runs
            handler = _HANDLERS.get(kind)
            if handler:
                handler(self, msg)

    def _element(self, element: Any, kind: str, fragment_id: str) -> None:
        value_of = VALUE_OF.get(kind)
        if value_of is None:
            return
        el = getattr(element, kind)
        old = self.widgets.get(el.id)
        field_name, value = value_of(el)
        if old is not None and not getattr(el, "set_value", False):
            value = old.value  # the browser keeps what the visitor chose
        self.widgets[el.id] = Widget(el.id, kind, el.label, el, field_name, value, fragment_id)
        self.seen_this_run.add(el.id)

    def _ref(self, msg: ForwardMsg) -> None:
        self.cache[msg.ref_hash] = self.runs  # a message the page had, used again

    def _finished(self, msg: ForwardMsg) -> None:
        status = msg.script_finished
        if status == ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY:
            if self._polls_running:  # runs end in the order they were asked for
                self._polls_running -= 1
                if not self._polls_running:
                    self._polls_done.set()
            elif self._waiting == "fragment":
                self._end_run()
            return
        if status == DONE:
            # the browser drops widgets a full run did not draw
            self.widgets = {k: w for k, w in self.widgets.items() if k in self.seen_this_run}
            self.seen_this_run = set()
            self._end_run()
        # else a run the script restarted (st.rerun) or a new request preempted: wait on

    def _end_run(self) -> None:
        """The run asked for ended: age the message cache as the browser does (a message
        unused for max_age runs is dropped) and wake rerun()."""
        self.runs += 1
        self.cache = {h: r for h, r in self.cache.items() if self.runs - r <= self.max_age}
        self._done.set()

    def _new_session(self, msg: ForwardMsg) -> None:
        self.page_hash = msg.new_session.page_script_hash
        if msg.new_session.HasField("config"):
            self.max_age = msg.new_session.config.max_cached_message_age

    def _page_info(self, msg: ForwardMsg) -> None:
        self.query_string = msg.page_info_changed.query_string

    def _auto_rerun(self, msg: ForwardMsg) -> None:
        frag, every = msg.auto_rerun.fragment_id, msg.auto_rerun.interval
        if frag not in self.polls and every > 0:
            self.polls[frag] = asyncio.create_task(self._poll(frag, every))

    def _stop_polls(self, msg: ForwardMsg) -> None:
        for task in self.polls.values():
            task.cancel()
        self.polls.clear()

    async def _poll(self, fragment_id: str, every_s: float) -> None:
        """The browser's timer for an st.fragment(run_every=...): rerun that fragment."""
        while True:
            await asyncio.sleep(every_s)
            if not self._done.is_set():
                # a change is on its way: a poll sent now could be merged with it or
                # preempt it (a full run would then end with the fragment's run only)
                continue
            msg = BackMsg()
            msg.rerun_script.CopyFrom(self.client_state(fragment_id, poll=True))
            self._polls_running += 1
            try:
                await self.ws.send(msg.SerializeToString())
            except websockets.ConnectionClosed:
                return


_HANDLERS: dict[str, Callable[[Session, ForwardMsg], None]] = {
    "ref_hash": Session._ref,
    "script_finished": Session._finished,
    "new_session": Session._new_session,
    "page_info_changed": Session._page_info,
    "auto_rerun": Session._auto_rerun,
    "stop_auto_rerun": Session._stop_polls,
}


# --- a visitor's changes: layer, step, A in turn (as served_load's Chromium visitor) -----------

KINDS = ("layer", "step", "A")


def next_change(session: Session, index: int, k: int) -> tuple[Widget, Any]:
    """Change `k` of visitor `index`: the widget and its new value. Layer alternates between
    the last two layers before the output; step moves one snapshot, alternating, never past
    an end (a layer change instead when A has a single snapshot, so no step slider); A walks the runs from the visitor's own offset (visitors read different files)."""
    kind, turn = KINDS[k % len(KINDS)], k // len(KINDS)
    if kind == "step" and not any(w.label.startswith("Step of") for w in session.widgets.values()):
        kind = "layer"  # A has one snapshot (the shipped seeds 2-3): no slider, change the layer
    if kind == "layer":
        w = session.widget("Layer", "selectbox")
        opts = list(w.element.options)
        pair = [opts[-3] if len(opts) > 2 else opts[0], opts[-2]]
        return w, pair[turn % 2] if w.value != pair[turn % 2] else pair[(turn + 1) % 2]
    if kind == "step":
        w = session.widget(lambda s: s.startswith("Step of"), "slider")
        opts = list(w.element.options)
        at = opts.index(w.value[0]) if w.value and w.value[0] in opts else len(opts) - 1
        back = (turn % 2 == 0 and at > 0) or at == len(opts) - 1
        return w, [opts[max(at - 1, 0) if back else min(at + 1, len(opts) - 1)]]
    w = session.widget("Checkpoint A: run", "selectbox")
    runs = list(w.element.options)
    option = runs[(index + 1 + turn) % len(runs)]
    if option == w.value:
        option = runs[(runs.index(option) + 1) % len(runs)]
    return w, option
