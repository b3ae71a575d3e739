"""Publish data (admin): upload an extract, read every problem, publish it or roll back
(README "Refreshing the data")."""

import streamlit as st

from core import ui
from core.ui import upload

ui.require("publish_data", "publish", "Only administrators can publish data.")
ui.log_view("publish", {})
st.title("Publish data")
upload.rollback_box()
upload.upload_form()
entry = upload.current_build()
if entry is not None:
    upload.follow(entry)
st.caption("The command line stays: `python -m core build --source DIR --db FILE` builds and swaps in one step.")
