"""The Definitions page's text: every metric and method in plain words, with this data's settings.

Pure text (no Streamlit): `pages/definitions.py` shows it. The registry (`core/metrics.py`) holds the
short definitions the slides and exports use; this is the page's fuller account.
"""

from __future__ import annotations

from typing import Any


def markdown(ctx: Any) -> str:
    """The page's Markdown for a data context (settings, minimums, the default period)."""
    return f"""
### Cost
- **Case cost** is the sum of five components, always shown separately:
  **supplies** (supply lines whose item is not an implant), **implants** (lines whose item is an implant),
  **pharmacy** (the cost of every drug line), **OR time** (operating-room minutes × the OR cost per minute)
  and **bed days** (length of stay × the bed-day cost).
- A **supply line's cost** is quantity × the price paid: the price on the line when the hospital recorded one,
  otherwise the item master's unit cost. *Quantity* is what was opened and charged.
- **Length of stay** is discharge date − surgery date in days (0 for a same-day case).
- **Waste** is the quantity opened but not used × the price paid, per case.

### Comparing with peers
- You are **eligible** for a procedure in a period with at least **{ctx.min_cases} cases** of it.
- The **peer group** is every eligible physician (you included when eligible). Its size is shown, and peer
  figures appear only when at least **{ctx.min_peers}** physicians are eligible — fewer could identify them.
- Your **median case cost** is over all your cases of the procedure in the period. The **peer median** is the
  median of each eligible physician's median case cost; the **best quartile** is the 25th percentile of those.
- The **cost percentile** is your percent rank in the peer group: 100 × (rank − 1) / (n − 1), lowest cost first,
  ties sharing the lower rank. 0 is the lowest cost; it exists only when you are eligible.
- The **yearly value of the gap** is (your median − the peer median) × your cases per year.
- Component figures (supplies, implants, pharmacy, OR time, bed days) are **means per case**.
- Peers are **blinded** as Surgeon A, B, C…: letters are stable for a view and period, cannot be worked out from
  anyone's id, and case volumes are shown in bands. On a funnel plot a blinded peer is drawn at the expected
  count typical of their volume band (their O/E is their own), and where peers are blinded the periods are
  whole ones — the last 12 months, a year or a quarter — so two views cannot be compared day by day.

### Outcomes, fairly adjusted
- For each procedure, a statistical **risk model** predicts each outcome — complication, 30-day readmission,
  surgical site infection, mortality (logistic regression) and length of stay (Poisson regression) — from the
  **patient's** age, sex, ASA class, comorbidity index and admission type only. Never from the physician, never
  from the payer.
- **Expected** is the sum of those predictions over your cases: what an average surgeon would see with *your*
  patients — measured against your **peers alone**: the model is fitted on everyone's cases, yours too, so it is
  multiplied by your peers' own observed ÷ expected over all the data (with 5 events at 1 added to both, so a rare
  outcome stays steady). Your own events never raise your own benchmark. **O/E** (observed ÷ expected) above 1 means more events than expected; the **95% interval** is the exact
  Poisson interval of the observed count divided by the expected.
- Where the plain model has no finite fit (a patient factor **separates** a rare outcome such as mortality), it is
  refitted with **Firth's penalised likelihood** and its intercept recalibrated so expected = observed overall
  (FLIC). Only with **fewer than 20 events** (or non-events) is a procedure's outcome shown **unadjusted** (its
  crude rate), labelled as such, and never flagged.
- A **funnel plot** shows every eligible physician's O/E against their expected count, with exact Poisson 95% and
  99.8% limits. When the data vary more than chance allows (overdispersion), the limits are widened by the SHMI
  method (z = √E·ln(O/E), 10% trimmed at each end, a between-physician variance τ² by DerSimonian–Laird; as
  published in NHS-R's FunnelPlotR) — but only when **at least 20 physicians remain after trimming**: from fewer,
  that variance cannot be estimated (one true outlier would widen the limits past itself; Spiegelhalter 2005), so
  a department of 8–12 surgeons gets the exact limits. The spread is the eligible physicians' alone: a physician
  under the minimum case count is drawn against it without moving it. Each outcome says which limits it used
  and why. The exact
  limits are the exact test itself: you are outside the 95% limit exactly when your O/E's 95% interval lies
  wholly above (or below) 1.
- The **call** (badge, colour and words) is decided once from the flag *and* the 95% interval: outside a limit it is
  higher or lower than expected; an interval wholly above (or below) 1 that no limit calls out is said to be so,
  never "within the expected range". There are no rankings or league tables.
- **Reliability-adjusted O/E** (shrunken, empirical Bayes): your O/E pulled towards the eligible peers' pooled O/E
  m by as much as it is noise: m + reliability × (O/E − m). **Reliability** = τ² / (τ² + m/E), 0–1, with τ² the
  peers' real spread (DerSimonian–Laird): below 0.4 the raw figure is *mostly noise*, above 0.7 *mostly signal*.
  Shown for risk-adjusted outcomes with at least {ctx.min_peers} eligible physicians.

### Products
- **Preferred-product use**: over your lines in categories that have a preferred item, preferred units ÷ all units
  (the share by spend is shown beside it). Categories without a preferred item are shown as such, never as 0%.
- **Switch saving**: over your non-preferred lines in those categories, the sum of
  max(0, (price paid − the cheapest preferred item's unit cost) × quantity).
- **Peers' typical share** in a category is the median share over physicians with at least {ctx.min_cases}
  cases using that category in the period, shown only when there are at least {ctx.min_peers} of them.
- **Evidence grades** follow GRADE: *high* (further research is very unlikely to change confidence in the
  effect), *moderate* (likely to have an important impact on it), *low* (very likely to), *very low* (any
  estimate is very uncertain). Summaries past their next-review date are flagged as overdue.

### Episode cost (when the extract has post-acute spending)
- An **episode** is a case of a procedure with post-acute data or a target price (e.g. joint replacement, spinal
  fusion, CABG — the procedures of bundled payments such as CMS's TEAM model): the **index case cost** plus every
  **post-acute** line dated from the discharge date to **30 days after** it, by setting — **skilled nursing**
  (SNF), **inpatient rehabilitation** (IRF), **home health**, **readmissions**, **outpatient** and **other**.
  Lines dated later do not count.
- Your **mean episode cost** is over all your episodes of the procedure in the period; the **peer median** is the
  median of each eligible physician's mean (shown only with at least {ctx.min_peers} eligible physicians).
  **Post-acute by setting** is the mean spending per episode in that setting, episodes without it counting 0.
- The **target price** is the procedure's episode target from the extract; **episodes over target** is the
  share of your episodes costing more than it.
- **Discharged to skilled nursing** is the share of your episodes with a skilled nursing line.
- **Risk adjustment** is the same as for case cost: a gamma regression of episode cost on the patient's age, sex,
  ASA class, comorbidity index and admission type, calibrated so a procedure's total expected equals its total
  observed. **Episode O/E** = your episodes' cost ÷ their expected cost; the **risk-adjusted episode cost** is that
  O/E × the procedure's mean episode cost.
- **Where the difference comes from**: your mean per episode for the index case and each setting against the
  peer median of each, largest difference first.

### Equity (outcomes and cost by patient group)
- Patients are grouped by **payer**, **sex**, **age band** (0–17, 18–49, 50–64, 65–74, 75–84, 85 or older) and,
  when the extract gives them, **race and ethnicity** and **dual eligibility** (Medicare and Medicaid). A blank
  value is its own group, *Not recorded*.
- For each group: **O/E** of each outcome from the same risk models (which never use payer or group), with its
  exact Poisson 95% interval, and the **cost index** — the mean over the group's cases of case cost ÷ expected
  case cost (1 = as the patients' risk predicts) — with its 95% interval, beside the mean cost per case.
- A **gap** is measured against the dimension's **reference group** (its largest shown group): for outcomes, the
  ratio of the two O/Es with an exact interval (conditional on the two groups' events); for cost, the difference
  of the cost indices with a Welch interval. A gap is called **clear** only when its 99.8% interval excludes no
  difference: a page compares dozens of groups, and at 95% one comparison in twenty would differ by chance.
- Figures are shown by **closed calendar year** only (a year that ended within the data): two overlapping
  periods — a year and three of its quarters — could be subtracted to reveal a small group in the rest.
- **Small cells are suppressed** (the CMS cell-size rule): a group with 1–10 cases, or an outcome with 1–10
  events in it, shows nothing. Other cells are suppressed with it wherever it could otherwise be worked out by
  subtraction — within a view, and across the hospital and its service lines together (the hospital's
  Medicaid patients less those of two service lines would give the third's). No totals are shown.
- Supply and admin see the hospital and every service line; champions their own service line; physicians and
  champions their own patients, by a dimension only when every group of it has at least 11 cases and events.

### Periods and trend
- The default period is the **12 months ending at the latest surgery date** in the data
  ({ctx.default_start:%d %b %Y} – {ctx.data_end:%d %b %Y}). Cost trends show the median by calendar quarter.
- **Outcomes over time** are cumulative, never bare quarterly O/E from a handful of events: a **VLAD** runs
  through your cases in date order, adding each case's expected risk and subtracting each event — the running
  expected − observed, *net events avoided* (below 0: more events than your patients' risk predicts). Beside it,
  a **risk-adjusted CUSUM** (Steiner et al. 2000) for a doubling of the odds signals at **4.5**: a prompt to
  look at the cases, not a verdict.
- Cases whose **flag was accepted** by the review team no longer count in any figure.
"""
