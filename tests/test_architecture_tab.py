"""rflr.explorer.tabs.architecture in the app (AppTest): the drawing's nodes open a layer."""

from __future__ import annotations

import logging

logging.getLogger("streamlit").setLevel(logging.ERROR)


def test_an_architecture_node_opens_that_layer_in_the_layer_view(app):
    app.query_params["tab"] = "Architecture"
    at = app.run()
    assert not at.exception
    pills = at.get("button_group")
    assert len(pills) == 2  # one row of nodes under each drawing (A and B)
    node = pills[0]
    node.set_value("1h").run()  # the hidden features h of layer 1
    assert not at.exception
    assert at.session_state["tab"] == "Layer view"
    assert at.session_state["w_layer"] == 1 and at.session_state["w_part"] == "h"
    assert at.query_params["layer"] == "1" and at.query_params["part"] == "h"
    assert any("**bottleneck.1.h**" in m.value for m in at.markdown)  # A's column draws it
