"""Scorecard core: the data contract, the demo source, the build, the views and the rules.

Everything here is pure Python (no Streamlit) except the few modules named *_ui or signin,
so it can be tested and run from the command line (`python -m core ...`).
"""
