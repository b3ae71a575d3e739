"""Definitions: every metric and method in plain words (SPEC §5), with this data's settings."""

import streamlit as st

from core import ui

ui.viewer()  # first: a page never draws for someone app.py has not let in
ctx = ui.context()
s = ctx.settings
ui.log_view("definitions", {})
st.title("Definitions")
st.caption(f"Settings in force: OR time ${s['or_cost_per_minute_usd']:,.2f} a minute · a bed day "
           f"${s['bed_day_cost_usd']:,.0f} · eligible from {ctx.min_cases} cases · peer figures from "
           f"{ctx.min_peers} eligible physicians.")

st.markdown(f"""
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
  anyone's id, and case volumes are shown in bands.

### Outcomes, fairly adjusted
- For each procedure, a statistical **risk model** predicts each outcome — complication, 30-day readmission,
  surgical site infection, mortality (logistic regression) and length of stay (Poisson regression) — from the
  **patient's** age, sex, ASA class, comorbidity index and admission type only. Never from the physician, never
  from the payer.
- **Expected** is the sum of those predictions over your cases: what an average surgeon would see with *your*
  patients. **O/E** (observed ÷ expected) above 1 means more events than expected; the **95% interval** is the exact
  Poisson interval of the observed count divided by the expected.
- Where a procedure has **too few events** to fit a model, the figures are shown **unadjusted** (the procedure's
  crude rate), labelled as such, and never flagged.
- A **funnel plot** shows every eligible physician's O/E against their expected count, with exact Poisson 95% and
  99.8% limits. When the data vary more than chance allows (overdispersion), the limits are widened by the SHMI
  method (z = √E·ln(O/E), 10% trimmed at each end, a between-physician variance τ² by DerSimonian–Laird; as
  published in NHS-R's FunnelPlotR). A physician is called out only **outside the 99.8% limit**. There are no
  rankings or league tables.

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
- **Small cells are suppressed** (the CMS cell-size rule): a group with 1–10 cases, or an outcome with 1–10
  events in it, shows nothing. When only one cell of a dimension is suppressed, the next smallest is suppressed
  too, so it cannot be worked out by subtracting the others from a total; no totals are shown.
- Supply and admin see the hospital and every service line; champions their own service line; physicians and
  champions their own patients, by a dimension only when every group of it has at least 11 cases and events.

### Periods and trend
- The default period is the **12 months ending at the latest surgery date** in the data
  ({ctx.default_start:%d %b %Y} – {ctx.data_end:%d %b %Y}). Trends show the same figures by calendar quarter.
- Cases whose **flag was accepted** by the review team no longer count in any figure.
""")
