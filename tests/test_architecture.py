"""rflr.views.architecture: the network as Graphviz DOT, the shown layer marked."""

from __future__ import annotations

from rflr.files import checkpoint
from rflr.views import architecture


def test_architecture_marks_the_shown_layer(folder):
    ckpt = checkpoint.load(next(folder.rglob("dense-*/step-00000100.safetensors")))
    dot = architecture.architecture_dot(ckpt.config.model, "hidden.2.u")
    assert dot.count("->") == 4 and 'h3 [color="#c0392b"' in dot
