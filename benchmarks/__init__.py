"""The benchmark and its baselines: `python -m benchmarks` (see benchmarks/README.md).

It lives outside `core/` because it drives the pages with Streamlit's AppTest and times the whole
stack from the outside, the way a user's request meets it.
"""
