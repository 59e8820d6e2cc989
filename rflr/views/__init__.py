"""The Streamlit explorer's library: everything `streamlit_app.py` shows, minus Streamlit.

    sources   where checkpoints come from (folder, upload, Hub) and path safety
    budget    what a visitor can make the server compute and keep (limits, caches, gate)
    slots     those limits counted across a server's processes (flock files)
    catalog   the checkpoint table from headers, runs, the default RF-LR/dense pair
    data      the tables the charts draw, computed by rflr.measure (metrics, evaluate, channels)
    style     the one visual language: colours per model kind, the mirror's dash, greys
    names     one display name per layer ("layer 3 · z₃"), for every tab and export
    layer_charts, depth_charts, training_charts, weight_charts, sweep_charts, grid_charts
              Altair charts, one module per tab (or family), pure functions of those tables
    architecture  the Architecture tab's clickable diagram
    sweep_table   a sweep's summary.csv, read defensively
    state     the view state <-> URL query parameters: the one table of URL-backed settings
    export    PNG / SVG / CSV bytes of a chart

The science lives in rflr/; these modules only select, reshape and draw it, so that each can
be tested without a running app.

Imports: the folders below it (core to hub), never Streamlit, never training code: not
rflr.train nor the sweep runner, study or executors (only the pure sweep grid, summary, stats).
"""
