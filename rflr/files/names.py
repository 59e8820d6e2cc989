"""Names that come from outside (a path given to the notebook or the CLI, an uploaded file's
name), made safe to print.

A file name may hold any character but `/` and NUL: a terminal escape sequence (`\\x1b[2J`
clears the screen), a right-to-left override that shows `exe.txt` as `txt.exe`, a line
break that forges a second line of output. `printable` shows each such character as its
Python escape, so what a reader sees is what the name holds.

Standard library only: `import rflr` and `rflr --help` stay fast.
"""

from __future__ import annotations

import os

SHOWN_MAX = 300  # characters of one name in a message; a longer one is cut


def printable(name: object, max_chars: int = SHOWN_MAX) -> str:
    """`name` (a path, or any text: str() of it) with every non-printable character (control
    and format characters, line and paragraph separators, undecodable bytes) as its escape
    (`\\x1b`, `\\u202e`, `\\udcff`), cut after `max_chars` characters."""
    text = os.fsdecode(name) if isinstance(name, str | bytes | os.PathLike) else str(name)
    cut = len(text) > max_chars
    text = "".join(
        c if c.isprintable() else c.encode("unicode_escape", "backslashreplace").decode("ascii")
        for c in text[:max_chars]
    )
    return text + "…" if cut else text
