"""The Streamlit explorer's library: everything `streamlit_app.py` shows, minus Streamlit.

    sources   where checkpoints come from (folder, upload, Hub) and path safety
    catalog   the checkpoint table from headers, runs, the default RF-LR/dense pair
    data      the tables the charts draw, computed by rflr.measure (metrics, evaluate, channels)
    charts    Altair charts and the architecture drawing, pure functions of those tables
    state     the view state <-> URL query parameters
    export    PNG / SVG / CSV bytes of a chart

The science lives in rflr/; these modules only select, reshape and draw it, so that each can
be tested without a running app.

Imports: the folders below it (core to hub), never Streamlit, never training code: not
rflr.train nor the sweep runner, study or executors (only the pure sweep grid, summary, stats).
"""
