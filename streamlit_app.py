"""The rflr explorer: `streamlit run streamlit_app.py` (or `rflr app`). The page is rflr.explorer.page."""

from rflr.explorer.page import TABS, main  # noqa: F401  (TABS: the tab list, read by tests and benchmarks)

if __name__ == "__main__":
    main()
