"""Relations Monitor: how relations between Morocco and France go, from the news.

The package is the library: reading, cleaning, embedding, scoring, storage, analytics and
charts. The CLI (``python -m monitor``) and the Streamlit pages are thin shells over it.
"""

__version__ = "0.1.0"
