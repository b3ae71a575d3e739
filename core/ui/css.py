"""Style sheets the pages inject with st.markdown(..., unsafe_allow_html=True): our own constants only,
never text from a link or an extract."""

# Presentation mode's CSS: large type for a projector, one idea per screen. The chart toolbar is hidden
# because its "Download as PNG" would bypass the audited export buttons.
SLIDE_CSS = """<style>
h1 {font-size: 3.1rem !important; line-height: 1.15 !important; padding-top: 0.6rem !important;}
.slide-headline {font-size: 1.7rem; line-height: 1.4; margin-bottom: 0.8rem;}
.slide-kicker {font-size: 1.1rem; color: #5f5f5f; text-transform: uppercase; letter-spacing: 0.04em;}
.deck-title {font-size: 4.6rem; font-weight: 700; line-height: 1.1; margin: 14vh 0 1rem 0;}
.slide-count {font-size: 1.2rem; text-align: center; padding-bottom: 0.45rem;}
[data-testid="stMetricValue"] {font-size: 2.6rem !important;}
[data-testid="stMetricLabel"] p {font-size: 1.2rem !important;}
.block-container {padding-top: 1.2rem !important; max-width: 100% !important;}
[data-testid="stElementToolbar"] {display: none !important;}
</style>"""
# No sidebar or header while presenting (a "Menu" toggle brings them back).
HIDE_CHROME_CSS = """<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stHeader"] {display: none;}
</style>"""
