"""File- and user-provided text made inert for Streamlit's markdown (docs/security.md)."""

from __future__ import annotations

import re

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!<>:$~|&=^@\"'])")  # inline markup, links, HTML
_MD_BLOCK = re.compile(r"^(\d*)([-.)])")  # a list or rule marker at the start
_AUTOLINK = re.compile(r"(?i)(https?:/|www\.|@)")  # GFM autolink starts, up to their last char
_JOINER = "\u2060"
_MAX_SHOWN = 300  # characters of one file-provided value shown in a sentence


def md(value: object) -> str:
    """File- or user-provided text made inert for Streamlit's markdown (st.markdown, captions,
    alerts, labels, help): the characters of links, images, HTML, entities, emphasis, code,
    directives (:red[...]), emoji codes and math are backslash-escaped (CommonMark allows it
    for any punctuation), and a list marker at the start too. GFM turns bare URLs, www. names
    and e-mail addresses into links *after* escapes are read, so those get an invisible word
    joiner (U+2060) that breaks the pattern. Line breaks become spaces; long values are cut."""
    text = " ".join(str(value).split())
    if len(text) > _MAX_SHOWN:
        text = text[:_MAX_SHOWN] + "…"
    text = _AUTOLINK.sub(lambda m: m.group(0)[:-1] + _JOINER + m.group(0)[-1], text)
    return _MD_BLOCK.sub(r"\1\\\2", _MD_SPECIAL.sub(r"\\\1", text))
