"""rflr.views.state: the view in the URL, round trips and bad values."""

from __future__ import annotations

from rflr.views import state


def test_state_round_trip_and_bad_values():
    vs = state.ViewState(a="r/step-1.safetensors", b="none", layer=2, part="h", odd=True, thr=0.01)
    vs.sweep, vs.srun, vs.equiv, vs.final = "poster/summary.csv", "run-1", True, True
    vs.smooth = 5
    back, notes = state.from_query(state.to_query(vs))
    assert back == vs and notes == []
    assert state.to_query(state.ViewState()) == {}
    back, notes = state.from_query(
        {"layer": "-3", "thr": "nan", "part": "x", "odd": "yes", "src": "upload", "shown": "z"}
        | {"equiv": "2", "root": "x" * 2000, "srun": "a\x00b", "smooth": "4"}
    )
    assert back == state.ViewState() and len(notes) == 10


def test_the_table_gives_each_setting_its_own_key_and_keeps_the_url_order():
    keys = [s.key for s in state.SETTINGS.values() if s.key]
    assert len(keys) == len(set(keys))
    assert ",".join(state.KEYS) == (  # the order a new URL lists its parameters in
        "src,root,repo,rev,a,b,layer,part,odd,thr,shared,shown,sweep,srun,equiv,final,smooth,"
        "contains,runs"
    )
    assert state.to_query(state.ViewState(src="upload", odd=True)) == {"odd": "1"}
