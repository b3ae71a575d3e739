"""The supply chain's figures in plain words, for the Definitions page: pharmacy, supply risk and savings
achieved (pure text; the page renders it). Kept beside the code that computes them so the two are read
together: core/sql/marts/pharmacy, supply_risk and savings.
"""

from __future__ import annotations


def markdown(min_peers: int) -> str:
    """The definitions as Markdown, with this data's min_peers."""
    return f"""
### Pharmacy
- **Pharmacy per case** by drug class (or drug) is your drug spend on it ÷ all your cases of the procedure (0 when a
  case used none); the **peer median** is the median of that figure over the eligible physicians, shown from
  {min_peers} of them. The **drugs driving the difference** are those whose spend per case is above the peer
  median, ranked by (yours − the median) × your cases.
- Where the formulary marks a **preferred drug** in a class, the **drug switch saving** is, over the class's
  non-preferred lines, the sum of max(0, (cost ÷ quantity − the lowest preferred unit cost in the class) × quantity).
  A preferred drug's unit cost is the formulary's, else the median paid per unit. Without a formulary there is none.
- **Variation between physicians** in a class is the spend above the peer median: over physicians and procedures
  with peers shown, the sum of max(0, their spend per case − the peer median) × their cases.

### Supply risk
- An item in use is a **supply risk** when it is **critical** (criticality high), **single-source** (one approved
  source) or **on backorder**. Its **exposure** is the cases, physicians and procedures that used it in the period;
  items are ranked by cases, then physicians, procedures and recent use.
- **Projected use next quarter** = units used in the period's last 91 days × 91 ÷ the days those cover (the whole
  period when it is shorter): the recent rate carried forward.
- **Approved alternatives** are the other items of the category in the item master that are not on backorder,
  preferred first, then cheapest, with the physicians who already use them and the evidence behind them.
- A category whose **preferred item is single-source or on backorder** is marked beside its switch saving:
  standardizing on it concentrates the risk.

### Savings achieved
- The **baseline** is the 12 months before the programme's start (setting program_start_date). For each procedure
  and each supply category with a preferred item (or drug class with a formulary preferred drug), baseline spend per
  case = baseline spend ÷ the procedure's baseline cases.
- **Savings achieved** = (baseline spend per case − current spend per case) × current cases, summed over procedures:
  the baseline priced at today's volume, minus what was spent. The current window runs from the programme's start
  (or the period's, if later) to the period's end. A physician's share uses the procedure's baseline and their own
  current cases, so the shares add up to the total.
- It is shown against the year's **target** (setting savings_target_usd), with the **run rate** (achieved × 365.25 ÷
  the window's days) and the **remaining opportunity**: the switch saving still available in the window.
"""
