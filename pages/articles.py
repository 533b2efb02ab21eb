"""Articles page: full-text or semantic search, the matching articles, and one article in detail."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from monitor import analytics as A
from pages import common

LIMIT = 500


@st.cache_resource(show_spinner="Loading the embedding model…")
def embedder(name: str):
    from monitor.embed import load_embedder

    return load_embedder(name)


@st.cache_data(show_spinner=False, max_entries=64)
def _semantic(path: str, version: str, query: str, model: str, k: int, filters: A.Filters):
    with common.connect(path) as db:
        return A.semantic_search(db, query, embedder(model), k, filters)


def _init_from_url() -> None:
    if "art_query" not in st.session_state:
        st.session_state["art_query"] = st.query_params.get("q", "")
        st.session_state["art_semantic"] = st.query_params.get("semantic") == "1"


def render() -> None:
    st.title("Articles")
    src = common.page_source()
    if src is None:
        return
    _init_from_url()
    filters = common.current_filters()
    c1, c2, c3 = st.columns([4, 1.2, 1.6], vertical_alignment="bottom")
    query = c1.text_input("Search titles and text", key="art_query",
                          placeholder="e.g. visas, autonomie, الصحراء — every word must appear; word* for prefixes")
    semantic = c2.toggle("Semantic", key="art_semantic",
                         help="Find articles by meaning, across languages, using the stored sentence embeddings")
    include_all = c3.toggle("Include off-topic", key="art_all",
                            help="Also list articles scoring judged not about the relationship")
    if include_all:
        filters = replace(filters, relevant_only=False)
    _sync_url(query, semantic)

    if semantic and query.strip():
        model = common.settings().model
        try:
            df = _semantic(src.path, src.version, query.strip(), model, 50, filters)
            st.caption(f"The 50 articles closest in meaning to your query (model {model}), best first; "
                       "each shows its closest sentence.")
        except A.NoEmbeddings as exc:
            st.warning(f"Semantic search is not available: {exc}. Set MONITOR_MODEL to the model the "
                       "database was built with, or run `python -m monitor rescore`.")
            return
        except Exception as exc:  # a model that cannot load must not take the page down
            st.warning(f"Semantic search is not available: the model {model!r} could not be loaded ({exc}).")
            return
    else:
        df = common.q(src, "list_articles", filters, query, LIMIT)
        total = common.q(src, "count_articles", filters, query)
        shown = f"the first {LIMIT:,} of " if total > LIMIT else ""
        # Escaped (it is rendered as Markdown) and isolated, so Arabic keeps its place in the sentence.
        what = f"matching “\u2068{common.escape(query.strip())}\u2069”" if query.strip() else "newest first"
        st.caption(f"Showing {shown}{total:,} article{'s' if total != 1 else ''} {what}. "
                   "Select a row to read the article.")

    picked = common.article_table(df, key="art_table")
    if picked is None and st.query_params.get("article", "").isdigit():
        picked = int(st.query_params["article"])
    if picked is not None:
        st.query_params["article"] = str(picked)
        st.divider()
        common.article_view(src, picked)
    elif "article" in st.query_params:
        del st.query_params["article"]


def _sync_url(query: str, semantic: bool) -> None:
    for key, value in (("q", query.strip()), ("semantic", "1" if semantic else "")):
        if value and st.query_params.get(key) != value:
            st.query_params[key] = value
        elif not value and key in st.query_params:
            del st.query_params[key]


if __name__ == "__main__":  # opened as an old-style page: see common.run_entry_point
    common.run_entry_point()
