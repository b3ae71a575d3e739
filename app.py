"""Scorecard: the entry point. Who is this, what may they open, then run the page they asked for.

Identity comes from OpenID Connect sign-in (`st.login`, configured in .streamlit/secrets.toml) or,
only for the generated demo data with no [auth] configured, from a clearly marked persona picker
(README, *Sign-in*). The roster decides the role; `core.access` decides the pages; `st.navigation` is built
from those pages alone, so a page that is not allowed cannot be reached even by editing the URL.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pandas as pd
import streamlit as st

from core import access, db, scorecard, ui
from core.ui import signin

st.set_page_config(page_title="Scorecard", page_icon=":material/monitoring:", layout="wide")

# Every page the app has: key -> (file, title, icon). Roles pick from these (core.access).
PAGES = {
    "scorecard": ("pages/scorecard.py", "My scorecard", ":material/monitoring:"),
    "products": ("pages/products.py", "My products", ":material/inventory_2:"),
    "supply": ("pages/supply.py", "Supply categories", ":material/local_shipping:"),
    "supply_risk": ("pages/supply_risk.py", "Supply risk", ":material/warning:"),
    "pharmacy": ("pages/pharmacy.py", "Pharmacy", ":material/medication:"),
    "savings": ("pages/savings.py", "Savings achieved", ":material/savings:"),
    "presentation": ("pages/presentation.py", "Presentation", ":material/co_present:"),
    "flags": ("pages/flags.py", "Review queue", ":material/flag:"),
    "evidence": ("pages/evidence.py", "Evidence library", ":material/menu_book:"),
    "audit": ("pages/audit.py", "Audit log", ":material/policy:"),
    "data": ("pages/data.py", "Data status", ":material/database:"),
    "publish": ("pages/publish.py", "Publish data", ":material/upload_file:"),
    "equity": ("pages/equity.py", "Equity", ":material/diversity_3:"),
    "definitions": ("pages/definitions.py", "Definitions", ":material/help:"),
}


def make_pages(keys: tuple[str, ...]) -> list:
    """st.Page objects for the given keys, the first one the default."""
    return [
        st.Page(PAGES[k][0], title=PAGES[k][1], icon=PAGES[k][2], url_path=k, default=(i == 0))
        for i, k in enumerate(keys)
    ]


def requested_path() -> str:
    """The page path the browser asked for ("" for the root)."""
    try:
        return urlsplit(st.context.url or "").path.strip("/").split("/")[-1]
    except Exception:  # noqa: BLE001 - no URL under AppTest
        return ""


def stop_with(title: str, body: str, icon: str = ":material/lock:") -> None:
    """Show a full-page message (no navigation) and end the run."""
    st.navigation([st.Page(lambda: None, title=title, url_path="message")], position="hidden")
    st.title(title)
    st.info(body, icon=icon)
    st.stop()


try:
    ctx = ui.context()
    roster = ui.cached(scorecard.roster)
except db.DatabaseMissing:
    stop_with(
        "Scorecard is not set up yet",
        "There is no analytics database yet. An administrator builds it with "
        "`python -m core build --source DIR --db data/scorecard.duckdb` (or `make run` for the demo).",
        ":material/database:",
    )

# Set by the build only when it regenerated the demo from its recorded seed and size and every table
# matched (core.tools.demo.is_generated_demo); a file in the source claiming so is not enough.
demo = ctx.build.get("source_kind") == "demo"

if signin.auth_configured():
    identity = signin.signed_in_identity()
    if identity is None:
        # A neutral default page, so a link to any real page keeps its path (and is remembered)
        # through sign-in; no page runs before the roster has been consulted.
        welcome = st.Page(lambda: None, title="Sign in", url_path="signin", default=True)
        st.navigation(
            [welcome, *[st.Page(PAGES[k][0], title=PAGES[k][1], url_path=k) for k in PAGES]], position="hidden"
        )
        signin.render_sign_in(
            "Scorecard",
            text="Your cost per case and outcomes beside your peers'. Sign in with your hospital account to continue.",
        )
        st.stop()
    email, verified = identity.email, identity.email_verified
elif demo:
    st.sidebar.warning("**Demo mode** — generated data, no sign-in. Pick who you are:", icon=":material/science:")
    labels = {
        r.email: f"{r.email if pd.isna(r.physician_name) else r.physician_name} · {r.role}" for r in roster.itertuples()
    }
    order = sorted(
        labels,
        key=lambda e: (
            ["physician", "champion", "supply", "admin"].index(roster.set_index("email").at[e, "role"]),
            labels[e],
        ),
    )
    default = next((e for e in order if e.startswith("amara.okafor")), order[0])
    email = st.sidebar.selectbox(
        "Persona", order, index=order.index(default), format_func=labels.get, key="demo_persona"
    )
    verified = True
else:
    stop_with(
        "Sign-in is not configured",
        "This Scorecard holds real data, so it shows nothing until sign-in is configured. "
        "Add an `[auth]` section to `.streamlit/secrets.toml` with your identity provider "
        "(see the README, section *Sign-in*), then restart the app.",
        ":material/key:",
    )

viewer = access.viewer_from_roster(email, roster) if verified else None
if viewer is None:
    reason = access.roster_refusal(email, roster) if verified else "email not verified"
    ui.audit("refused", "app", {"email": email}, reason)
    if signin.auth_configured():
        signin.sign_out_button()
    stop_with(
        "No access",
        f"You are signed in as **{ui.plain(email)}**, but "
        + (
            "your identity provider has not verified this e-mail address."
            if not verified
            else "this address is not on Scorecard's roster."
            if reason == "not on the roster"
            else "this address matches more than one entry of Scorecard's roster, so no role can be chosen."
        )
        + " If you should have access, please contact your Scorecard administrator "
        "(analytics / IT) and ask to be added to the roster.",
    )

ui.set_viewer(viewer)
if st.session_state.get("_signed_in_as") != viewer.email:
    # Once per session and identity (a demo persona switch counts as a new sign-in).
    st.session_state["_signed_in_as"] = viewer.email
    ui.audit("sign-in", None, {"mode": "demo persona" if not signin.auth_configured() else "openid connect"})
allowed = access.allowed_pages(viewer)
pages = make_pages(allowed)
st.markdown(ui.TOOLBAR_CSS, unsafe_allow_html=True)
navigation = st.navigation(pages, expanded=True)  # every page in view: admins have fourteen
if signin.auth_configured():
    signin.restore_deep_link({p.url_path: p for p in pages}, ui.LINK_KEYS)
    signin.sign_out_button()

# st.context.url is the address the session was opened with, so act on it once per session.
asked = "" if st.session_state.get("_entry_checked") else requested_path()
st.session_state["_entry_checked"] = True
if asked == "presentation" and asked not in allowed and "scorecard" in allowed:
    # A surgeon opening the meeting's link sees the same procedure and period on their own scorecard,
    # with the same letters and their own marked ("You are Surgeon D"); the refusal is still recorded.
    ui.audit(
        "refused", asked, dict(st.query_params), "presentation not allowed for this role: redirected to the scorecard"
    )
    st.switch_page(
        pages[allowed.index("scorecard")],
        query_params={k: v for k, v in st.query_params.items() if k in ("procedure", "period")},
    )
if asked in PAGES and asked not in allowed:
    ui.audit("refused", asked, dict(st.query_params), "page not allowed for this role")
    st.warning(f"The page you asked for is not available to your role ({viewer.role}).", icon=":material/lock:")

st.sidebar.caption(
    f"Signed in as **{ui.plain(viewer.name or viewer.email)}** · {viewer.role}" + (" · demo data" if demo else "")
)
st.sidebar.caption(f"Data to {ctx.data_end:%d %b %Y} · built {ctx.build.get('built_at'):%d %b %Y %H:%M} UTC")
# Fail closed, once for every page: the view is recorded before the page draws anything, and a view whose
# audit entry cannot be written is not shown (pages add entries with the filters they settle on).
ui.log_page_view(navigation.url_path or allowed[0])
navigation.run()
