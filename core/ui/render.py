"""Drawing charts fast: Altair specs cached by database version (README, *Performance*).

Building an Altair chart and turning it into its Vega-Lite spec (with schema validation) costs tens
of milliseconds a chart, and a scorecard shows a dozen: most of a page's server time once the data
is cached. The spec depends only on the chart function, its (already blinded) input frames and the
database they came from, so it is cached like the data (`core.ui.cached`), keyed by database version:
a rebuild is seen at once, and a second view of the same figures draws from the cache.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import streamlit as st

from core import db


@st.cache_data(show_spinner=False, max_entries=2000)
def _spec(module: str, name: str, version: str, args: tuple, kwargs: tuple) -> dict:
    # Without Altair's schema validation (half the cost of a spec at hundreds of points): the charts are
    # the project's own functions, and tests/test_app.py validates every spec each page draws.
    return getattr(importlib.import_module(module), name)(*args, **dict(kwargs)).to_dict(validate=False)


def spec(func: Callable, *args: Any, **kwargs: Any) -> dict:
    """The Vega-Lite spec of `func(*args, **kwargs)` (an Altair chart), cached until the database is rebuilt."""
    return _spec(func.__module__, func.__name__, db.database_version(), args, tuple(sorted(kwargs.items())))


def chart(func: Callable, *args: Any, where: Any = None, **kwargs: Any) -> None:
    """Draw the Altair chart `func(*args, **kwargs)` from its cached spec, full width (in `where`, if given)."""
    (where or st).vega_lite_chart(spec(func, *args, **kwargs), width="stretch")


@st.fragment
def on_demand(label: str, key: str, draw: Callable[[], None], help: str | None = None) -> None:
    """A section drawn only when asked for (a toggle), and re-run alone when toggled (a fragment).

    For the heavy sections below the fold (a dozen charts by quarter): the page's first render skips
    them, and opening one re-runs this fragment rather than the whole page.
    """
    if st.toggle(label, key=key, help=help):
        draw()
