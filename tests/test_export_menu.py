"""rflr.explorer.export_menu in the app (AppTest): downloads exist only while the menu is open."""

from __future__ import annotations

import logging

logging.getLogger("streamlit").setLevel(logging.ERROR)


def test_export_menu_is_empty_until_opened(app):
    """The download buttons exist only while the menu is open: closed, the view sends the
    browser none of them to redraw at each step."""
    at = app.run()
    assert len(at.get("download_button")) == 0
    # the Export menu (the controls bar has a Display popover too)
    (key,) = [
        k
        for m in at.get("popover")
        if (k := m.proto.popover.id.rsplit("-", 1)[-1]).startswith("export_")
    ]
    assert key.startswith("export_") and "/" not in key  # no file path in the page's markup
    at.session_state[key] = True
    at.run()
    assert not at.exception
    assert len(at.get("download_button")) == 6  # PNG, SVG, CSV of A's and B's panels
