"""acap's Streamlit app: the questionnaire for respondents and the staff pages.

Start it with ``acap serve`` (which sets the database, seeds a demo and prints the links);
``streamlit run app/main.py`` works too when ACAP_DATABASE_URL or ACAP_DATA_DIR is set.
"""

import streamlit as st

st.set_page_config(page_title="acap questionnaire", page_icon=None, layout="centered")

from acap_app import router  # noqa: E402  (set_page_config must come first)

router.run()
