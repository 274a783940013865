"""The dashboard: `streamlit run app.py`.

Pages are listed here explicitly (Streamlit does not scan `pages/` when `st.navigation` is used);
a page whose file is not there yet is left out, so the app runs at every stage of the project.
"""

from pathlib import Path

import streamlit as st

from pages import common, sharing

ROOT = Path(__file__).resolve().parent
PAGES = (
    ("pages/traces.py", "Traces", ":material/timeline:"),
    ("pages/compare.py", "Compare", ":material/compare_arrows:"),
    ("pages/plans.py", "Plans", ":material/receipt_long:"),
    ("pages/workload.py", "Workload", ":material/tune:"),
)

st.set_page_config(page_title="Agent cost dashboard", page_icon="💵", layout="wide")
# The default metric font fits four digits in a narrow column; headline figures here are wider.
st.html("<style>[data-testid='stMetricValue'] {font-size: 1.7rem;}</style>")
common.init_state()
pages = [
    st.Page(path, title=title, icon=icon, default=path == "pages/traces.py")
    for path, title, icon in PAGES
    if (ROOT / path).exists()
]
page = st.navigation(pages)
# The address bar holds a link to what is on screen: read it before the page, write it after.
sharing.apply_link({sharing.page_key(p): p for p in pages}, page)
sharing.share_sidebar(page)
with common.through_app():
    page.run()
sharing.write_link(page)
