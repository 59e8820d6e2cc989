"""The explorer's Streamlit UI; page.main() is the page, which streamlit_app.py and `rflr app` run.

    page         main(): the sidebar, the title line, the verdict strip, the controls bar
                 (layer controls, the step and Play), then the tabs
    tabs/        one module per tab (NAME, draw(TabInput)); tabs.TABS lists them in order
    sidebar      checkpoint source, runs A and B, the URL's a= and b= as those choices
    url          the view in the URL (rflr.views.state's table) and widget values kept
    controls     the layer controls in the controls bar (LayerChoice)
    play         the step slider, ◀ ▶, Play and its speed
    glossary     the terms the page uses, defined once (the title line's Glossary, help=)
    look         the few style rules Streamlit has no parameter for (rflr explorer CSS)
    picks        the chosen checkpoints (Pick) and what every tab is handed (TabInput)
    escape       file-provided text made inert for markdown (md)
    export_menu  the Export menu (PNG, SVG, CSV)
    cache, specs, viewport   cached reads, cached chart specs, the measured page width
    warm, serve, proxy       a Space's entry point: the first page before any visitor, and
                             N server processes behind a proxy (RFLR_PROCESSES)
    ws_session               the proxy's reading of a websocket's session id (its owner)

Imports: rflr.views and the folders below it, with the same exceptions: never rflr.train nor
the sweep runner, study or executors (only the pure sweep grid, summary, stats).
"""
