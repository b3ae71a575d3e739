"""Scorecard core. The folders show the layers (README, section *Architecture*):

    core/ui/        the only package that imports Streamlit: session, widgets, sign-in, page sections
    core/tools/ core/build/     command-line tools and the build (contract, validation, models)
    core/output/    pure output: sentences, charts, decks, exported files
    core/*.py       pure reads and rules: scorecard, products, review, presentation, figures;
                    access, metrics, stats, periods
    core/db.py core/state.py    the two doors: analytics (DuckDB, read-only) and app state
    core/sql/       the model: one view per file, staging -> intermediate -> marts/<domain>

No import runs back up; `make test` holds this with import-linter (`.importlinter`).
"""
