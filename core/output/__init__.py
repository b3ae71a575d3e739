"""Pure output: words, charts, decks and files made from figures already fetched.

Nothing here reads the database or imports Streamlit: it turns mart rows into sentences
(`sentences`), Altair charts (`charts`) and exported files (`exports`), so the same figure reads
the same on the page, on a slide and in a download.
"""
