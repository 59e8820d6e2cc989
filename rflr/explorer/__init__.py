"""The explorer's Streamlit UI: one module per tab (or group of tabs); page.main() is the page,
which streamlit_app.py and `rflr app` run.

Imports: rflr.views and the folders below it, with the same exceptions: never rflr.train nor
the sweep runner, study or executors (only the pure sweep grid, summary, stats).
"""
