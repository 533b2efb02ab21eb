"""Dashboard pages: one `render()` function per module, registered with st.navigation in dashboard.py."""
