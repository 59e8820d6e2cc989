"""rflr.views.architecture: the network as a clickable diagram, the shown layer marked."""

from __future__ import annotations

from rflr.core.model import layer_name
from rflr.files import checkpoint
from rflr.views import architecture


def test_the_diagram_has_one_box_per_layer_a_view_opens(folder):
    from rflr.views import data, names

    for kind in ("rflr", "dense"):
        ckpt = checkpoint.load(next(folder.rglob(f"{kind}-*/step-00000100.safetensors")))
        cfg = ckpt.config.model
        nodes = architecture.diagram_nodes(cfg)
        # input, atoms, a partial and an h per mixing layer, output
        assert len(nodes) == 2 + 2 * (cfg.depth - 1) + 1
        assert list(nodes["row"]) == list(range(len(nodes)))
        opened = nodes[nodes["k"] >= 0]
        for _, r in opened.iterrows():  # each box is named as every tab names its layer
            part = "h" if r["part"] == "h" and r["k"] > 0 else "partial"
            assert r["label"].startswith(names.layer_label(kind, r["k"], cfg.depth, part))
        assert architecture.node_of(nodes, "readout.y") == "y"
        # the boxes' thumbnails: each channel's z(x) scaled to 0..1
        p = data.compute_partials(ckpt)
        frames = {
            n: data.curve_frame(p, name, [0])
            for n, name in zip(opened["node"], opened["layer"], strict=True)
        }
        thumbs = architecture.thumbnail_frame(frames)
        assert set(thumbs["node"]) <= set(opened["node"])
        assert thumbs["v"].between(0, 1).all() and thumbs["u"].between(0, 1).all()
        shown = architecture.node_of(nodes, layer_name(cfg, 1, "partial"))
        spec = architecture.diagram_chart(nodes, thumbs, kind, shown).to_dict(validate=True)
        assert [p["name"] for p in spec["params"]] == ["node"]  # what the tab's on_select reads
    rflr_nodes = architecture.diagram_nodes(
        checkpoint.load(next(folder.rglob("rflr-*/step-00000100.safetensors"))).config.model
    )
    # RF-LR's u (not drawn) lives in the h it becomes; its z in its own narrow box
    assert architecture.node_of(rflr_nodes, "bottleneck.2.u") == "h3"
    assert architecture.node_of(rflr_nodes, "bottleneck.2.z") == "z2"
