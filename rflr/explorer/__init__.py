"""The explorer's Streamlit UI: one module per tab (or group of tabs); streamlit_app.py is main()."""
