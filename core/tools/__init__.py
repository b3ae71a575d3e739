"""Command-line tools that sit beside the app: the demo generator and the physician report.

Both are reached through `python -m core demo|report`; neither is imported by a page.
"""
