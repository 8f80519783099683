"""The acap Streamlit app's pages (run with ``acap serve``; the entry script is ``app/main.py``)."""
