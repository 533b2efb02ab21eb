"""The dashboard through Streamlit's AppTest (every page, real content) and the chart builders."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from monitor.bench import open_page
from monitor import analytics as A
from monitor import charts as C
from monitor import store
from monitor.taxonomy import load_taxonomy
from monitor.settings import Settings
from tests.test_analytics import MARKUP_TITLE, ROWS, build_fixture_db

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "dashboard.py")
TAXONOMY = load_taxonomy(Settings().taxonomy_path)


@pytest.fixture(scope="module")
def fixture_db(tmp_path_factory) -> Path:
    return build_fixture_db(tmp_path_factory.mktemp("dash") / "fixture.db")


@pytest.fixture
def app(fixture_db, monkeypatch):
    monkeypatch.setenv("MONITOR_DB", str(fixture_db))
    monkeypatch.setenv("MONITOR_MODEL", "hashing-512")
    return AppTest.from_file(APP, default_timeout=180)


def values(data) -> list:
    """Plotly 7 writes numeric arrays as typed arrays ({dtype, bdata}); decode them to a list."""
    if isinstance(data, dict) and "bdata" in data:
        array = np.frombuffer(base64.b64decode(data["bdata"]), dtype=np.dtype(data["dtype"]))
        return array.reshape(data["shape"]).tolist() if "shape" in data else array.tolist()
    return list(data)


def figures(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def figure_titled(at: AppTest, words: str) -> dict:
    found = [f for f in figures(at) if words in f["layout"]["title"]["text"]]
    assert found, f"no chart titled {words!r}: {[f['layout']['title']['text'] for f in figures(at)]}"
    return found[0]


def no_errors(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def markdown_text(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


# --- pages --------------------------------------------------------------------------------

def test_overview_headline_timeline_and_topics(app):
    at = app.run()
    no_errors(at)
    tones = [r[4] for r in ROWS]
    # The default window (365 days) covers the whole fixture; nothing before it to compare with.
    assert metric(at, "Mean tone") == f"{sum(tones) / len(tones):+.2f}"
    assert metric(at, "Articles") == str(len(ROWS))
    assert metric(at, "Stories") == "10"  # stories 1, 2, 3 and seven articles on their own
    timeline = figure_titled(at, "Tone of Morocco–France relations")
    line = next(t for t in timeline["data"] if t.get("name") == "Mean tone")
    q1 = [r[4] for r in ROWS if r[0] < "2024-04-01"]
    q2 = [r[4] for r in ROWS if r[0] >= "2024-04-01"]
    assert values(line["y"]) == pytest.approx([sum(q1) / len(q1), sum(q2) / len(q2)])  # automatic grain: quarters
    assert timeline["layout"]["yaxis2"]["range"] == [-1, 1]  # row 1 is the event strip
    assert any("Relations Monitor" in a["text"] and f"{len(ROWS)} articles" in a["text"]
               for a in timeline["layout"]["annotations"])
    share = figure_titled(at, "What the coverage is about")
    colors = {t["name"]: t["marker"]["color"] for t in share["data"]}
    assert colors["Western Sahara"] == TAXONOMY.get("sahara").color


def test_filters_come_from_the_url_and_go_back_to_it(app):
    app.query_params["lang"] = "fr"
    app.query_params["origin"] = ["MA", "FR"]
    at = app.run()
    no_errors(at)
    assert at.multiselect(key="f_langs").value == ["fr"]
    assert metric(at, "Articles") == str(sum(r[1] == "fr" and r[2] in ("MA", "FR") for r in ROWS))
    at.multiselect(key="f_langs").set_value(["ar"]).run()
    no_errors(at)
    assert at.query_params["lang"] == "ar"
    assert metric(at, "Articles") == str(sum(r[1] == "ar" and r[2] in ("MA", "FR") for r in ROWS))
    # The selection survives a change of page.
    open_page(at, "tone")
    assert at.multiselect(key="f_langs").value == ["ar"]
    assert "Arabic" in figure_titled(at, "Tone of Morocco–France relations")["layout"]["title"]["subtitle"]["text"]


def test_tone_page_by_language_and_origin(app):
    at = open_page(app, "tone")
    no_errors(at)
    at.selectbox(key="f_grain").set_value("month").run()
    no_errors(at)
    overall = figure_titled(at, "Tone of Morocco–France relations")
    assert len(values(next(t for t in overall["data"] if t.get("name") == "Mean tone")["x"])) == 5  # Jan–May
    by_lang = figure_titled(at, "Tone by language")
    names = {t["name"] for t in by_lang["data"] if t.get("showlegend") is not False and t.get("name")}
    assert {"Arabic (4)", "English (5)", "French (5)"} <= names
    by_origin = figure_titled(at, "Tone by press origin")
    assert any(str(t.get("name", "")).startswith("Origin unknown (1)") for t in by_origin["data"])
    assert at.query_params["grain"] == "month"


def test_topics_page(app):
    at = open_page(app, "topics")
    no_errors(at)
    share = figure_titled(at, "What the coverage is about")
    assert {t["name"] for t in share["data"]} == {TAXONOMY.get(k).name() for k in {r[5] for r in ROWS}}
    grid = figure_titled(at, "Tone by topic")
    titles = {a["text"] for a in grid["layout"]["annotations"]}
    assert "Western Sahara (3)" in titles and "Diplomacy (4)" in titles
    sahara = next(t for t in grid["data"] if t.get("name") == "Western Sahara" and t.get("mode") == "lines+markers")
    assert sahara["line"]["color"] == TAXONOMY.get("sahara").color  # same colour on every chart
    table = at.dataframe[0].value
    assert table.set_index("topic").loc["Diplomacy", "n"] == 4


def test_articles_search_and_detail(app, fixture_db):
    at = open_page(app, "articles")
    no_errors(at)
    assert len(at.dataframe[0].value) == len(ROWS)
    at.text_input(key="art_query").set_value("autonomie").run()
    no_errors(at)
    table = at.dataframe[0].value
    assert table["Title"].tolist() == ["Sahara : Paris soutient le plan d'autonomie"]
    assert "[autonomie]" in table["Match"].iloc[0]
    assert at.query_params["q"] == "autonomie"

    db = store.open_db(fixture_db, readonly=True)
    article_id = int(A.list_articles(db, A.Filters(), "autonomie")["id"].iloc[0])
    at.query_params["article"] = str(article_id)
    at.run()
    no_errors(at)
    assert metric(at, "Tone") == "+0.50" and metric(at, "Class") == "cooperative"
    assert metric(at, "Main topic") == "Western Sahara"
    assert "Evidence" in markdown_text(at)
    shares = next(c.value for c in at.caption if c.value.startswith("Class shares"))
    assert "cooperative" in shares and "mixed" in shares and "tense" in shares
    # each evidence sentence lists the labelled statements nearest to it
    assert any(e.label.startswith("Closest labelled statements") for e in at.expander)
    assert "cooperative · similarity 0.91" in [c.value for c in at.caption]
    sentences = next(d.value for d in at.dataframe if "Sentence" in d.value.columns)
    assert len(sentences) == 3 and sentences["Tone"].tolist() == pytest.approx([0.5] * 3)


def test_article_text_is_escaped_and_arabic_is_right_to_left(app, fixture_db):
    db = store.open_db(fixture_db, readonly=True)
    markup_id = int(A.list_articles(db, A.Filters(), "script")["id"].iloc[0])
    arabic_id = int(A.list_articles(db, A.Filters(), "الصحراء")["id"].iloc[0])
    app.query_params["article"] = str(markup_id)
    at = open_page(app, "articles")
    no_errors(at)
    html = markdown_text(at)
    assert "<script>" not in html and "](javascript" not in html and ":red[" not in html
    assert "&#60;script&#62;" in html  # shown as text
    assert MARKUP_TITLE not in html
    at.query_params["article"] = str(arabic_id)
    at.run()
    assert any('dir="rtl"' in m.value and "الصحراء" in m.value for m in at.markdown)


def test_semantic_search(app):
    at = open_page(app, "articles")
    at.toggle(key="art_semantic").set_value(True)
    at.text_input(key="art_query").set_value("France backs autonomy plan for the Sahara").run()
    no_errors(at)
    table = at.dataframe[0].value
    assert table["Title"].iloc[0] == "France backs autonomy plan for the Sahara"
    assert "Closest sentence" in table.columns and table["Similarity"].iloc[0] == pytest.approx(1, abs=0.01)


def test_semantic_search_without_embeddings_for_the_model(app, monkeypatch):
    monkeypatch.setenv("MONITOR_MODEL", "hashing-256")
    at = open_page(app, "articles")
    at.toggle(key="art_semantic").set_value(True)
    at.text_input(key="art_query").set_value("visas").run()
    no_errors(at)
    assert any("no sentence embeddings stored for model 'hashing-256'" in w.value for w in at.warning)


def test_methodology_page(app):
    at = open_page(app, "methodology")
    no_errors(at)
    text = markdown_text(at)
    assert "Relevance" in text and "largest of three shares" in text and "-0.25" in text and "+0.25" in text
    evaluation = ROOT / "docs" / "EVALUATION.md"
    if evaluation.exists():
        assert evaluation.read_text(encoding="utf-8").strip().splitlines()[0].lstrip("# ") in text
    else:
        assert any("make evaluate" in i.value for i in at.info)


def test_data_page(app):
    at = open_page(app, "data")
    no_errors(at)
    assert metric(at, "Articles") == str(len(ROWS) + 1) and metric(at, "Relevant") == str(len(ROWS))
    assert metric(at, "Languages") == "3"
    reasons = at.dataframe[0].value.set_index("reason")["count"].to_dict()
    assert reasons == {"broken JSON line": 2, "no text extracted": 1}
    assert len(at.dataframe[1].value) == 3
    months = figure_titled(at, "Articles by month")
    relevant = next(t for t in months["data"] if t["name"] == "Relevant")
    assert sum(values(relevant["y"])) == len(ROWS)
    assert "Last ingest" in markdown_text(at)


def test_new_data_shows_up_in_an_open_session(fixture_db, tmp_path, monkeypatch):
    """The cache follows store.data_version, and a full date range grows with new articles."""
    import datetime as dt
    import shutil

    from monitor.models import Article
    from tests.test_analytics import _score

    path = tmp_path / "live.db"
    shutil.copy(fixture_db, path)
    monkeypatch.setenv("MONITOR_DB", str(path))
    at = AppTest.from_file(APP, default_timeout=180).run()
    assert at.date_input(key="f_dates").value[1] == dt.date(2024, 5, 20)
    db = store.open_db(path)
    with db.conn:
        store.save_article(db, Article("Rabat et Paris signent un accord", "Texte.", "fr", dt.date(2024, 6, 30),
                                       "Le Courrier", "MA", external_id="new"),
                           _score(0.9, "economy", ["Rabat et Paris signent un accord", "Texte", "Fin"]),
                           ["Rabat et Paris signent un accord"], {0})
        db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'data_version'")
    db.conn.close()
    at.run()
    no_errors(at)
    assert at.date_input(key="f_dates").value[1] == dt.date(2024, 6, 30)
    assert metric(at, "Articles") == str(len(ROWS) + 1)


@pytest.mark.parametrize("page", ["", "tone", "topics", "articles", "data"])
def test_missing_database_says_what_to_run(tmp_path, monkeypatch, page):
    monkeypatch.setenv("MONITOR_DB", str(tmp_path / "nothing.db"))
    at = AppTest.from_file(APP, default_timeout=60)
    at = open_page(at, page) if page else at.run()
    no_errors(at)
    assert any("python -m monitor demo" in i.value and "make run" in i.value for i in at.info)
    assert not at.get("plotly_chart")


def test_empty_database_says_what_to_run(tmp_path, monkeypatch):
    store.open_db(tmp_path / "empty.db").conn.close()
    monkeypatch.setenv("MONITOR_DB", str(tmp_path / "empty.db"))
    at = AppTest.from_file(APP, default_timeout=60).run()
    no_errors(at)
    assert any("has no articles yet" in i.value for i in at.info)


# --- charts -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def frame(fixture_db) -> pd.DataFrame:
    return A.load_articles(store.open_db(fixture_db, readonly=True))


def test_tone_timeline_marks_bands_few_and_partial(frame):
    series = A.tone_series(frame, "month", as_of=pd.Timestamp("2024-05-10").date())
    fig = C.tone_timeline(series, grain="month", subtitle="Relevant articles · all languages",
                          events=C.load_events()).to_plotly_json()
    layout = fig["layout"]
    assert layout["title"]["text"] == "<b>Tone of Morocco–France relations</b>"
    assert layout["title"]["subtitle"]["text"] == "Relevant articles · all languages"
    tone_axis = layout["yaxis2"]  # row 1: events strip, row 2: tone, row 3: counts
    assert list(tone_axis["range"]) == [-1, 1]
    bands = [(s["y0"], s["y1"]) for s in layout["shapes"] if s["type"] == "rect"]
    assert bands == [(-1.0, -0.25), (-0.25, 0.25), (0.25, 1.0)]
    assert {"Tense", "Mixed", "Cooperative"} <= {a["text"] for a in layout["annotations"]}
    # Events of 2024 are drawn; those outside the data's dates are not.
    labels = {a["text"] for a in layout["annotations"]}
    assert "Séjourné in Rabat" in labels and "Pegasus revelations" not in labels
    main = next(t for t in fig["data"] if t.get("name") == "Mean tone")
    few = [c == "white" for c in main["marker"]["color"]]
    assert few == series[~series["partial"]]["few"].tolist()  # hollow where n < 3
    tail = next(t for t in fig["data"] if t.get("name") == "Mean tone (partial)")
    assert tail["line"]["dash"] == "dot" and tail["customdata"][-1][0] == "2024-05-01"
    assert str(tail["x"][-1]).startswith("2024-05-16")  # drawn mid-period
    counts = next(t for t in fig["data"] if t.get("type") == "bar")
    assert counts["marker"]["pattern"]["shape"][-1] == "/"  # the running month is hatched, not a drop


def test_topic_colours_are_the_same_everywhere(frame):
    share = C.topic_share_chart(A.topic_share(frame, "month"))
    bars = C.topic_bars(A.topic_summary(frame))
    grid = C.topic_tone_grid(A.topic_tone_series(frame, "month"))
    expected = {TAXONOMY.get(k).name(): TAXONOMY.get(k).color for k in TAXONOMY.keys}
    assert all(expected[t.name] == t.marker.color for t in share.data)
    assert all(expected[name] == color for name, color in zip(bars.data[0].y, bars.data[0].marker.color))
    assert all(expected[t.name] == t.line.color for t in grid.data if t.name in expected)


def test_lines_and_bands_never_bridge_periods_without_articles():
    """Months with articles: Jan, Feb, May. The line breaks after February; so does the band."""
    dates = ["2024-01-05"] * 4 + ["2024-02-10"] * 4 + ["2024-05-20"] * 4
    frame = pd.DataFrame({"published": pd.to_datetime(dates), "tone": [0.1, 0.2, 0.3, 0.4] * 3})
    fig = C.tone_timeline(A.tone_series(frame, "month"), grain="month")
    line = next(t for t in fig.data if t.name == "Mean tone")
    y = np.asarray(line.y, dtype=float)
    assert len(y) == 4 and np.isnan(y[2]) and not np.isnan(y[[0, 1, 3]]).any()
    assert str(line.x[2]).startswith("2024-03-31")  # the blank sits mid-gap
    assert line.customdata[2][0] is None  # nothing to click there
    band = next(t for t in fig.data if t.fill == "toself")
    assert not any(str(x).startswith("2024-05") for x in band.x if x is not None)  # May stands alone
    whisker = next(t for t in fig.data if t.error_y.array is not None)
    assert len(whisker.x) == 1 and str(whisker.x[0]).startswith("2024-05-16")


def test_every_chart_is_valid_plotly(frame):
    """Charts are composed as plain dicts and not validated at run time: plotly validates them here."""
    import plotly.graph_objects as go

    as_of = pd.Timestamp("2024-05-10").date()
    counts = frame.groupby("lang").size().rename("articles").reset_index().assign(relevant=1)
    figures = [
        C.tone_timeline(A.tone_series(frame, "week", as_of=as_of), grain="week", events=C.load_events(),
                        shade=("2024-01-01", "2024-02-01", "previous")),
        C.tone_by_group(A.tone_series(frame, "month", by="lang", as_of=as_of), "lang", events=C.load_events()),
        C.topic_share_chart(A.topic_share(frame, "month", as_of=as_of)),
        C.topic_tone_grid(A.topic_tone_series(frame, "quarter")),
        C.topic_bars(A.topic_summary(frame)),
        C.article_topics_chart(pd.DataFrame({"topic": ["security", "migration"], "score": [0.8, 0.3]})),
        C.count_bars(counts, "lang", title="Articles by language"),
        C.empty_figure("Nothing", "no data"),
    ]
    for fig in figures:
        spec = fig.to_dict()
        checked = go.Figure(spec)  # raises on any property plotly does not know
        assert len(checked.data) == len(spec["data"]) and checked.layout.title.text == spec["layout"]["title"]["text"]


def test_events_file_and_empty_charts():
    events = C.load_events()
    assert len(events) >= 15 and set(events["kind"]) <= {"cooperative", "tense", "context"}
    assert events["date"].is_monotonic_increasing and events["label"].str.len().max() <= 30
    assert C.load_events(Path("/nonexistent.csv")).empty
    empty = C.tone_timeline(A.tone_series(pd.DataFrame(columns=["published", "tone"])), subtitle="x")
    assert "No articles match" in empty.layout.annotations[0].text


def test_config_for_names_the_exported_file():
    config = C.config_for("Tone by language — 2024")
    assert config["toImageButtonOptions"]["filename"] == "tone-by-language-2024"
    assert config["toImageButtonOptions"]["format"] == "png" and config["displaylogo"] is False


def test_escaping_and_click_helpers():
    from pages import common

    assert common.escape('<img src=x onerror=alert(1)> [a](b) $x$\nnext') == (
        "&#60;img src=x onerror=alert&#40;1&#41;&#62; &#91;a&#93;&#40;b&#41; &#36;x&#36;<br>next")
    assert common.is_rtl("الصحراء المغربية") and not common.is_rtl("Sahara") and common.is_rtl("x", "ar")
    fig = C.tone_timeline(A.tone_series(pd.DataFrame({"published": pd.to_datetime(["2024-01-05"]),
                                                      "tone": [0.5]}), "month"))
    event = {"selection": {"points": [{"curve_number": 0, "point_index": 0, "customdata": ["2024-01-01", None]}]}}
    assert common.clicked(event, fig) == ("2024-01-01", None)
    trace = next(i for i, t in enumerate(fig.data) if t.name == "Mean tone")
    assert common.clicked({"selection": {"points": [{"curve_number": trace, "point_index": 0}]}}, fig)[0] == "2024-01-01"
    assert common.clicked({"selection": {"points": []}}, fig) is None
