"""rflr.explorer.escape.md: text from files is made inert for Streamlit's markdown."""

from __future__ import annotations

import re

from rflr.explorer.escape import md

JOINER = "\u2060"


def _unescaped(text: str, pattern: str) -> bool:
    return re.search(r"(?<!\\)" + pattern, text) is not None


def test_markup_is_escaped_and_plain_text_survives():
    out = md("a ![x](track.png) [click](https:phish) <img src=x> **b** :red[hi] $x$ `c` &amp;")
    for pattern in (r"!\[", r"\]\(", r"<img", r"\*\*", r":red\[", r"\$", "`", "&"):
        assert not _unescaped(out, pattern), pattern
    assert re.sub(r"\\(.)", r"\1", out) == (
        "a ![x](track.png) [click](https:phish) <img src=x> **b** :red[hi] $x$ `c` &amp;"
    )
    assert md("rflr-w16-r2-L3-even-s0/step-00000100.safetensors") == (
        "rflr-w16-r2-L3-even-s0/step-00000100.safetensors"  # names read as they are
    )


def test_autolinks_lists_and_length():
    out = md("see http://h/t.png HTTPS://h www.h.org a@b.org")
    assert "http://" not in out.lower() and "https://" not in out.lower()
    assert "www." not in out and "a@b" not in out.replace("\\", "")
    assert (
        out.replace(JOINER, "").replace("\\", "")
        == "see http://h/t.png HTTPS://h www.h.org a@b.org"
    )
    assert md("1. item").startswith("1\\.") and md("- item").startswith("\\-")
    assert md("line\n# heading") == "line \\# heading"
    assert len(md("x" * 10_000)) == 301  # cut, with an ellipsis
