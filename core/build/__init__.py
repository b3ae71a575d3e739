"""The build: the data contract, its validation, and the model pipeline that writes the analytics database.

`contract` says what a hospital hands over, `validate` checks a source against it (every problem with
file, row, column, value and rule), `pipeline` runs every model of `core/sql/` in dependency order into
a new file and swaps it in atomically, and `risk` / `funnels` are the two model steps written in Python
(declared in `pipeline.PYTHON_MODELS`). Nothing here imports Streamlit; `core.ui` may call it, never
the other way round.
"""
