"""Definitions: every metric and method in plain words (the Definitions page), with this data's settings."""

import streamlit as st

from core import ui
from core.output import supply_definitions

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

### Periods and trend
- The default period is the **12 months ending at the latest surgery date** in the data
  ({ctx.default_start:%d %b %Y} – {ctx.data_end:%d %b %Y}). Trends show the same figures by calendar quarter.
- Cases whose **flag was accepted** by the review team no longer count in any figure.
""")
st.markdown(supply_definitions.markdown(ctx.min_peers))
