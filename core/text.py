"""Text from a link or an extract, shown as exactly its characters (pure: no Streamlit, no imports).

Streamlit renders titles, headers, tabs, metrics' labels, warnings, captions and `st.markdown` as
Markdown, and the app's own sentences are Markdown too. A value that arrives from outside — a
`?procedure=` in a shared link, a physician's or a category's name in the hospital's extract — must
not become markup there: `[Reset your password](https://evil…)` would be a live link inside the
app's own warning, `![x](https://tracker…)` a tracking image. `plain` is the one mechanism every
page uses (through `core.ui.plain` and the `ui.say` helpers): it escapes every Markdown and HTML
character, drops control and direction-override characters (which can make text read backwards),
keeps the text on one line, and stops bare addresses from being turned into links. The README's *Access* section lists the places it guards.
"""

from __future__ import annotations

import math
import re
import unicodedata

# Every character Markdown (CommonMark, GFM, Streamlit's :colour[…] and :material/…: directives,
# and LaTeX's $) gives a meaning to; a backslash makes each one literal.
MARKDOWN_PUNCTUATION = frozenset("\\`*_{}[]()#+-.!|~$:^=\"'")
# The longest value from outside shown in full; longer ones are cut, with an ellipsis.
MAX_SHOWN = 200


def _missing(value: object) -> bool:
    if value is None or type(value).__name__ in ("NAType", "NaTType"):
        return True
    return isinstance(value, float) and math.isnan(value)


def clean(value: object, limit: int | None = MAX_SHOWN) -> str:
    """The value as one line of ordinary characters: no control or format characters (bidi overrides,
    zero-width joiners), runs of white space as one space, at most `limit` characters."""
    if _missing(value):
        return ""
    s = "".join(c if unicodedata.category(c)[0] != "C" else " " for c in str(value))
    s = " ".join(s.split())
    return s if limit is None or len(s) <= limit else s[: limit - 1] + "…"


# GitHub-flavoured Markdown turns bare addresses into links *after* parsing, on the text itself, so
# escaping cannot stop it: "https\\://evil\\.example" is still linked. An invisible word joiner after the
# scheme (or "www") and before an "@" breaks the pattern without changing what a reader sees.
_AUTOLINK = re.compile(r"(?i)\b(https?|ftp|mailto|www|xmpp)(?=[:.])|(?<=\w)(?=@\w)")
WORD_JOINER = "\u2060"


def plain(value: object, limit: int | None = MAX_SHOWN) -> str:
    """A value as Markdown that shows exactly its characters: no markup, no HTML, no link, one line
    (cut at `limit` characters; None for a field shown whole, such as an evidence summary's outcomes)."""
    s = _AUTOLINK.sub(lambda m: (m.group(1) or "") + WORD_JOINER, clean(value, limit))
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return "".join("\\" + c if c in MARKDOWN_PUNCTUATION else c for c in s)
