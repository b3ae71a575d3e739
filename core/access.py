"""Who may see what (README, *Access*), decided here and nowhere else.

Everything starts from the signed-in user's verified e-mail, matched to the roster; nothing a user
can type — a widget, a query parameter, a shared link — can widen what they see. Pages and the
report ask this module which pages a viewer may open, whose scorecard they are looking at, and
how to present other physicians: identified (supply, admin) or blinded (everyone else) as
"Surgeon A, B, …" with volumes banded and nothing at all for groups below `min_peers`.

Letters come from an HMAC of the physician id under a secret kept in app state and the view's
key (procedure and period), so they are stable for a given view and period across rebuilds and
meetings, differ between views, and cannot be derived from ids by anyone without the secret.
A blinded viewer can ask only for the periods the pickers offer (whole quarters, whole years, the
last 12 months: `core.periods`), so there are no views a day apart to difference, and nothing
about a peer's volume is shown more finely than its band — not even the expected count a funnel
point is drawn at (README, *What a blinded viewer can and cannot learn*).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import unicodedata
from dataclasses import dataclass

import pandas as pd

ROLES = ("physician", "champion", "supply", "admin")
IDENTIFIED_ROLES = ("supply", "admin")

# Every action, named, with the roles that may take it. Pages, navigation, the report and the
# exports ask `can(viewer, ACTION)`; nothing outside this module compares roles.
ACTIONS: dict[str, tuple[str, ...]] = {
    # pages (the navigation is derived from these: see PAGES)
    "view_scorecard": ("physician", "champion", "supply", "admin"),
    "view_products": ("physician", "champion"),
    "view_supply": ("supply", "admin"),
    "present": ("champion", "supply", "admin"),
    "view_evidence": ("physician", "champion", "supply", "admin"),
    "review_flags": ("supply", "admin"),
    "read_audit": ("admin",),
    "view_data_status": ("admin",),
    "publish_data": ("admin",),  # upload an extract, publish it, roll back
    "view_definitions": ("physician", "champion", "supply", "admin"),
    # the supply chain's views (issue 14): champions see their own service line, blinded
    "view_supply_risk": ("champion", "supply", "admin"),
    "view_pharmacy": ("supply", "admin"),
    "view_savings": ("champion", "supply", "admin"),
    # things done on a page
    "choose_physician": ("supply", "admin"),  # open any physician's scorecard, identified
    "flag_own_case": ("physician", "champion"),
    "send_feedback": ("physician", "champion"),  # comment on an evidence summary, ask for a review
    "manage_feedback": ("supply", "admin"),  # read every comment and set its status
    "share": ("physician", "champion", "supply", "admin"),
    "export": ("physician", "champion", "supply", "admin"),
    "choose_any_period": ("supply", "admin"),  # a custom date range (blinded viewers: offered periods only)
    # equity (README, *Equity*): the page, and which scopes of patients each role may compare
    "view_equity": ("physician", "champion", "supply", "admin"),
    "view_equity_hospital": ("supply", "admin"),
    "view_equity_service_line": ("champion", "supply", "admin"),  # champions: their own line only
    "view_equity_own_patients": ("physician", "champion"),
}

# Pages in navigation order: key -> the action that opens it. app.py builds st.navigation from
# `allowed_pages`, so a page a role may not open is not routable at all.
PAGES: dict[str, str] = {
    "supply": "view_supply",
    "scorecard": "view_scorecard",
    "products": "view_products",
    "presentation": "present",
    "supply_risk": "view_supply_risk",
    "pharmacy": "view_pharmacy",
    "savings": "view_savings",
    "evidence": "view_evidence",
    "flags": "review_flags",
    "audit": "read_audit",
    "data": "view_data_status",
    "publish": "publish_data",
    "equity": "view_equity",
    "definitions": "view_definitions",
}

# Actions that need a scorecard of one's own (a physician id on the roster) for a blinded role.
_NEEDS_OWN_SCORECARD = {"view_scorecard", "view_products", "flag_own_case", "view_equity_own_patients"}

# Presenters are shown what any peer in the room may see: a blinded physician with no scorecard.
_AUDIENCE_ROLE = "physician"


VOLUME_BANDS = (
    (0, 9, "under 10"),
    (10, 24, "10–24"),
    (25, 49, "25–49"),
    (50, 99, "50–99"),
    (100, 199, "100–199"),
    (200, 10**9, "200 or more"),
)
# The one case count that stands for a whole band where a number must be drawn (a blinded peer's
# funnel point): about the middle of the band, so the point says nothing the band does not.
BAND_TYPICAL = {"under 10": 5, "10–24": 17, "25–49": 37, "50–99": 75, "100–199": 150, "200 or more": 250}


@dataclass(frozen=True)
class Viewer:
    """The signed-in user as the roster knows them."""

    email: str
    role: str
    physician_id: str | None = None
    service_line: str | None = None
    name: str | None = None

    @property
    def identified(self) -> bool:
        """Whether this viewer may see other physicians' names and ids."""
        return self.role in IDENTIFIED_ROLES

    @property
    def is_physician(self) -> bool:
        """Physicians and champions have a scorecard of their own."""
        return self.role in ("physician", "champion") and bool(self.physician_id)


def normalise_email(email: object) -> str:
    """The one form in which e-mails are compared: NFKC, trimmed, case-folded (then NFKC again, since
    case folding can undo it). "Amara.Okafor@X " and the Kelvin sign's "\u212a" fold to one address."""
    if not isinstance(email, str):
        return ""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", email).strip().casefold())
    return folded.strip()


def roster_rows(email: str | None, roster: pd.DataFrame) -> pd.DataFrame:
    """Every roster row whose e-mail is `email` once both are normalised (none for an empty address)."""
    key = normalise_email(email)
    if not key:
        return roster.iloc[0:0]
    return roster[roster["email"].map(normalise_email) == key]


def roster_refusal(email: str | None, roster: pd.DataFrame) -> str | None:
    """Why `email` gets no viewer: not on the roster, or on it more than once (the build refuses such a
    roster, so this is a second line); None when exactly one row matches."""
    found = len(roster_rows(email, roster))
    if found == 1:
        return None
    return "not on the roster" if found == 0 else f"matches {found} roster entries"


def viewer_from_roster(email: str | None, roster: pd.DataFrame) -> Viewer | None:
    """The roster entry for `email` (compared normalised), or None for someone not on the roster —
    and None when more than one row matches: no row may decide the role over another."""
    match = roster_rows(email, roster)
    if len(match) != 1:
        return None
    row = match.iloc[0]
    role = str(row["role"])
    if role not in ROLES:
        return None
    clean = lambda v: None if v is None or (isinstance(v, float) and pd.isna(v)) or v is pd.NA else str(v)
    return Viewer(
        email=normalise_email(email),
        role=role,
        physician_id=clean(row.get("physician_id")),
        service_line=clean(row.get("service_line")),
        name=clean(row.get("physician_name")),
    )


def can(viewer: Viewer | None, action: str) -> bool:
    """Whether this viewer may take this named action (KeyError for an action that is not named)."""
    roles = ACTIONS[action]
    if viewer is None or viewer.role not in roles:
        return False
    # A physician without a physician id on the roster has no scorecard of their own to show.
    return viewer.identified or action not in _NEEDS_OWN_SCORECARD or bool(viewer.physician_id)


def allowed_pages(viewer: Viewer | None) -> tuple[str, ...]:
    """Page keys the viewer may open, in navigation order (the first is their home); none off the roster."""
    return tuple(page for page, action in PAGES.items() if can(viewer, action))


def audience(viewer: Viewer) -> Viewer:
    """The viewer a presentation is made for: a blinded peer with no scorecard of their own."""
    return Viewer(email=viewer.email, role=_AUDIENCE_ROLE)


def may_present(viewer: Viewer, service_line: str | None) -> bool:
    """Presentation mode for this service line: champions their own, supply and admin any."""
    return can(viewer, "present") and may_view_service_line(viewer, service_line)


@dataclass(frozen=True)
class SubjectDecision:
    """Whose data a request shows, and whether the request asked for more than it may see."""

    physician_id: str | None
    refused: bool
    reason: str = ""


def scorecard_subject(viewer: Viewer, requested_physician_id: str | None) -> SubjectDecision:
    """Whose scorecard this viewer sees: their own, unless their role may choose another."""
    requested = (requested_physician_id or "").strip() or None
    if viewer.identified:
        return SubjectDecision(requested, refused=False)
    if requested and requested != viewer.physician_id:
        return SubjectDecision(
            viewer.physician_id, refused=True, reason="a scorecard of another physician was requested"
        )
    return SubjectDecision(viewer.physician_id, refused=False)


def may_view_service_line(viewer: Viewer, service_line: str | None) -> bool:
    """Champions see their own service line (blinded); supply and admin any; physicians none."""
    if viewer.identified:
        return True
    return viewer.role == "champion" and service_line is not None and service_line == viewer.service_line


def equity_scopes(viewer: Viewer, service_lines: list[str]) -> list[tuple[str, str]]:
    """The (scope, scope value) pairs of patients this viewer may compare by group (README, *Equity*).

    Supply and admin: the hospital and every service line. Champions: their own service line.
    Physicians and champions: their own patients (the mart shows a dimension of them only when every
    cell has at least 11 cases). Never another physician's patients: that would identify them.
    """
    scopes: list[tuple[str, str]] = []
    if can(viewer, "view_equity_hospital"):
        scopes.append(("hospital", ""))
    if can(viewer, "view_equity_service_line"):
        scopes += [("service_line", s) for s in service_lines if may_view_service_line(viewer, s)]
    if can(viewer, "view_equity_own_patients") and viewer.physician_id:
        scopes.append(("physician", viewer.physician_id))
    return scopes


class ScopeRefused(PermissionError):
    """The viewer asked for a service-line view (or the whole hospital) they may not see."""


def service_line_scope(viewer: Viewer, requested: str | None) -> str | None:
    """The service line a supply-risk or savings view covers for this viewer (None: the whole hospital).

    Supply and admin choose freely; a champion always gets their own service line, whatever they ask;
    anyone else has no such view.
    """
    if viewer.identified:
        return requested or None
    if viewer.role == "champion" and viewer.service_line:
        return viewer.service_line
    raise ScopeRefused("service-line views are for supply, admin and champions")


def band_volume(cases: int) -> str:
    """A case count as a band, so a blinded peer cannot be recognised by their exact volume."""
    for low, high, label in VOLUME_BANDS:
        if low <= cases <= high:
            return label
    return "unknown"


def band_typical(band: str) -> int | None:
    """The case count drawn for a peer in `band` (None for an unknown band)."""
    return BAND_TYPICAL.get(band)


def _letters(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA (bijective base 26)."""
    label = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        label = chr(65 + rem) + label
    return label


_ROMAN = frozenset("IVXLCDM")


@functools.lru_cache(maxsize=8)
def _label_block(size: int) -> tuple[str, ...]:
    """The first `size` peer labels: A–Z, then two letters and more, leaving out Roman numerals."""
    labels: list[str] = []
    raw = 0
    while len(labels) < size:
        candidate = _letters(raw)
        raw += 1
        if len(candidate) > 1 and set(candidate) <= _ROMAN:
            continue
        labels.append(candidate)
    return tuple(labels)


def letter_for(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA: enough letters for any peer group (hundreds of surgeons at a health
    system). Past Z, labels made only of Roman-numeral letters (II, IV, XL, CC…) are left out: "Surgeon IV"
    reads as the fourth surgeon, a rank the blinding never gives."""
    size = 1024
    while size <= index:
        size *= 2
    return _label_block(size)[index]


def blind_letters(physician_ids: list[str], view_key: str, secret: bytes) -> dict[str, str]:
    """Stable 'Surgeon X' labels for one view: ordered by an HMAC of (view, id), not by id or cost."""
    ranked = sorted(
        set(physician_ids),
        key=lambda pid: hmac.new(secret, f"{view_key}\x1f{pid}".encode(), hashlib.sha256).hexdigest(),
    )
    return {pid: f"Surgeon {letter_for(i)}" for i, pid in enumerate(ranked)}


def present_peers(
    frame: pd.DataFrame,
    viewer: Viewer,
    *,
    view_key: str,
    secret: bytes,
    min_peers: int,
    you_id: str | None = None,
    count_column: str | None = "case_count",
    letter_ids: list[str] | None = None,
) -> pd.DataFrame:
    """Rows about several physicians, made fit for this viewer to see.

    Adds `label` (the name for identified viewers, else "Surgeon X") and `is_you`. For blinded
    viewers the physician id and name columns are dropped, case counts are replaced by bands, and
    when the peer group has fewer than `min_peers` physicians no peer row is returned at all.
    Letters are drawn over `letter_ids` (the view's peer group) when given, so that everyone looking
    at the same view sees the same letters, whoever else their own screen adds.
    """
    out = frame.copy()
    you_id = you_id if you_id is not None else viewer.physician_id
    out["is_you"] = out["physician_id"] == you_id if you_id else False
    if viewer.identified:
        names = out["physician_name"] if "physician_name" in out else out["physician_id"]
        out["label"] = names.astype(str)
        return out.reset_index(drop=True)
    pool = letter_ids if letter_ids is not None else out["physician_id"].astype(str).tolist()
    letters = blind_letters([str(p) for p in pool], view_key, secret)
    out["label"] = out["physician_id"].map(letters).astype(object)
    # Someone outside the peer group (not eligible) sees themselves as "You", never a letter.
    out.loc[out["label"].isna() & out["is_you"], "label"] = "You (not eligible)"
    out = out[out["label"].notna()]
    # The group that must reach min_peers is the view's peer group: the letter pool.
    if len(set(pool)) < min_peers:
        out = out[out["is_you"]]
    if count_column and count_column in out:
        out["volume_band"] = out[count_column].astype(int).map(band_volume)
        out.loc[~out["is_you"], count_column] = pd.NA
    drop = [c for c in ("physician_id", "physician_name", "email") if c in out]
    return out.drop(columns=drop).reset_index(drop=True)
