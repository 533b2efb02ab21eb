"""monitor.analytics against a small database whose scores are known exactly.

The fixture database is written through monitor.store (as an ingest would) with hand-made
scores, so every mean, share and count below can be checked by hand. One test also runs
real demo articles through the scoring pipeline (HashingEmbedder) to check that the
analytics read what the pipeline writes.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from monitor import analytics as A
from monitor import store
from monitor.facts import Facts
from monitor.embed import HashingEmbedder
from monitor.models import Article, Evidence, Failure, Score
from monitor.scoring import tone_class, tone_shares
from monitor.text import text_key

TOPICS = ["security", "migration", "visas", "sahara", "economy", "diplomacy", "culture", "rights_media"]
MARKUP_TITLE = 'Paris <script>alert("x")</script> **bold** [link](javascript:alert(1)) $x$ :red[hot]'

# (published, lang, origin, source, tone, topic, title, story_id)
ROWS = [
    ("2024-01-10", "fr", "MA", "Le Courrier", 0.50, "diplomacy", "Rabat et Paris saluent une relation apaisée", 1),
    ("2024-01-11", "en", "INT", "Global Wire", 0.40, "diplomacy", "Rabat and Paris hail calmer ties", 1),
    ("2024-01-20", "ar", "MA", "صدى الرباط", 0.20, "economy", "منتدى أعمال مغربي فرنسي في الدار البيضاء", None),
    ("2024-02-05", "fr", "FR", "Le Quotidien", -0.40, "visas", "Visas : la colère monte chez les étudiants", None),
    ("2024-02-14", "en", "FR", "Paris Tribune", -0.20, "visas", "Visa refusals anger Moroccan students", None),
    ("2024-02-20", "ar", None, "مصدر مجهول", 0.00, "migration", "الهجرة غير النظامية على طاولة الحوار", None),
    ("2024-03-04", "fr", "MA", "Le Courrier", 0.60, "diplomacy", "Séjourné à Rabat : une nouvelle page", 2),
    ("2024-03-05", "en", "INT", "Global Wire", 0.30, "diplomacy", "French minister in Rabat opens new chapter", 2),
    ("2024-03-20", "ar", "MA", "صدى الرباط", 0.00, "economy", "اتفاقيات استثمار جديدة بين المغرب وفرنسا", None),
    ("2024-04-15", "fr", "FR", "Le Quotidien", -0.50, "rights_media", MARKUP_TITLE, None),
    ("2024-05-02", "en", "MA", "Atlas Ledger", 0.70, "sahara", "France backs autonomy plan for the Sahara", 3),
    ("2024-05-03", "fr", "FR", "Le Quotidien", 0.50, "sahara", "Sahara : Paris soutient le plan d'autonomie", 3),
    ("2024-05-03", "ar", "MA", "صدى الرباط", 0.80, "sahara", "فرنسا تدعم مخطط الحكم الذاتي في الصحراء", 3),
    ("2024-05-20", "en", "INT", "Global Wire", 0.10, "security", "Police cooperation against smuggling networks", None),
]
OFF_TOPIC = ("2024-03-10", "en", "INT", "Global Wire", 0.0, None, "Football: Morocco beat France in friendly", None)


NEIGHBOUR = {"text": "Rabat et Paris ont signé trois accords.", "lang": "fr", "label": "cooperative", "similarity": 0.91}


def _score(tone: float, topic: str | None, sentences: list[str], relevant: bool = True) -> Score:
    topics = {k: (0.7 if k == topic else 0.1) for k in TOPICS}
    return Score(
        relevant=relevant, relevance=0.9 if relevant else 0.1, tone=tone,
        tone_class=tone_class(tone_shares(tone, 0.4)) if relevant else "n/a", shares=tone_shares(tone, 0.4),
        confidence=0.8, low_confidence=not relevant,
        topics=topics, top_topic=topic if relevant else None,
        evidence=[Evidence(sentences[1], tone, 0.9, 0.7, [NEIGHBOUR])] if relevant else [],
        sentence_scores=[{"position": i, "relevance": 0.9 if i else 0.5, "tone": tone} for i in range(len(sentences))],
        model="hashing-512", method="test",
    )


def build_fixture_db(path: Path) -> Path:
    """Write the fixture articles, their sentences and embeddings, a run and a failure."""
    db = store.open_db(path)
    embedder = HashingEmbedder()
    cache = store.VectorCache(db)
    run_id = store.start_run(db, "test")
    for i, (published, lang, origin, source, tone, topic, title, story) in enumerate([*ROWS, OFF_TOPIC]):
        body = {
            "ar": "أكد الجانبان متانة العلاقات بين الرباط وباريس. وناقش الوزيران ملفات التعاون.",
            "fr": "Les deux ministres ont évoqué la coopération entre Rabat et Paris. La sécurité reste un pilier.",
            "en": "The two ministers discussed cooperation between Rabat and Paris. Visa policy was also raised.",
        }[lang]
        sentences = [title, *body.split(". ")]
        article = Article(title=title, text=body, lang=lang, published=dt.date.fromisoformat(published),
                          source=source, source_country=origin, url=f"https://example.org/{i}" if i % 2 else None,
                          external_id=str(i))
        relevant = topic is not None
        with db.conn:  # one transaction per article, whichever way store commits
            article_id = store.save_article(db, article, _score(tone, topic, sentences, relevant), sentences,
                                            set(range(len(sentences))))
            # Stories are normally assigned after ingest (monitor.stories); here they are given.
            db.execute("UPDATE articles SET story_id = ? WHERE id = ?", [story, article_id])
            cache.put_many(embedder.name, [(text_key(s), v) for s, v in zip(sentences, embedder.encode(sentences))])
    store.record_failure(db, run_id, Failure("feed.jsonl", "broken JSON line: Expecting value", 7))
    store.record_failure(db, run_id, Failure("feed.jsonl", "broken JSON line: Unterminated string", 9))
    store.record_failure(db, run_id, Failure("page.html", "no text extracted", None))
    store.finish_run(db, run_id, {"ingested": len(ROWS) + 1, "failed": 3})
    db.conn.commit()
    db.conn.close()
    return path


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = build_fixture_db(tmp_path_factory.mktemp("analytics") / "fixture.db")
    handle = store.open_db(path, readonly=True)
    yield handle
    handle.conn.close()


@pytest.fixture(scope="module")
def facts(db) -> Facts:
    return Facts.load(db)


def _mean(values):
    return sum(values) / len(values)


# --- filters ------------------------------------------------------------------------------

def test_filters_round_trip_through_query_params():
    f = A.Filters(date_from="2024-02-01", date_to=dt.date(2024, 5, 31), langs=["fr", "ar"], origins=["MA"],
                  sources=["Le Courrier"], topics=["visas"])
    params = f.to_query_params()
    assert params == {"from": "2024-02-01", "to": "2024-05-31", "lang": ["ar", "fr"], "origin": ["MA"],
                      "source": ["Le Courrier"], "topic": ["visas"]}
    assert A.Filters.from_query_params(params) == f
    assert A.Filters().to_query_params() == {}
    assert hash(f) == hash(A.Filters.from_query_params(params))  # usable as a cache key


def test_filters_from_a_hand_edited_url_never_raise():
    f = A.Filters.from_query_params({"from": "yesterday", "to": ["2024-01-01", "2024-02-30"], "lang": "fr",
                                     "origin": ["XX", "FR"], "all": "1"})
    assert f.date_from is None and f.date_to is None
    assert f.langs == ("fr",) and f.origins == ("FR",) and not f.relevant_only


def test_describe_names_the_selection():
    text = A.Filters(langs=["ar"], origins=["FR"], topics=["visas"]).describe({"visas": "Visas & consular"})
    assert text == "Relevant articles · Arabic · French press · topics: Visas & consular"


# --- loading ------------------------------------------------------------------------------

def test_load_articles_keeps_relevant_articles_with_typed_columns(db):
    df = A.load_articles(db)
    assert len(df) == len(ROWS)  # the football match is not about the relationship
    assert list(df.columns[:12]) == A.ARTICLE_COLUMNS
    assert pd.api.types.is_datetime64_any_dtype(df["published"])
    assert df["published"].is_monotonic_increasing
    assert set(df["source_country"]) == {"MA", "FR", "INT", "unknown"}  # NULL origin becomes "unknown"
    assert len(A.load_articles(db, A.Filters(relevant_only=False))) == len(ROWS) + 1


@pytest.mark.parametrize("filters, expected", [
    (A.Filters(langs=["ar"]), 4),
    (A.Filters(origins=["unknown"]), 1),
    (A.Filters(origins=["MA", "INT"]), 9),
    (A.Filters(sources=["Global Wire"]), 3),
    (A.Filters(topics=["sahara", "visas"]), 5),
    (A.Filters(date_from="2024-03-05", date_to="2024-05-02"), 4),
    (A.Filters(langs=["fr"], origins=["FR"], date_from="2024-05-01"), 1),
])
def test_load_articles_applies_every_filter(db, filters, expected):
    assert len(A.load_articles(db, filters)) == expected


def test_load_articles_with_topic_scores(db):
    df = A.load_articles(db, with_topics=True)
    assert {f"score_{k}" for k in TOPICS} <= set(df.columns)
    row = df[df["top_topic"] == "visas"].iloc[0]
    assert row["score_visas"] == pytest.approx(0.7) and row["score_economy"] == pytest.approx(0.1)


def test_filter_options_and_summary(db, facts):
    options = facts.filter_options()
    assert set(options["langs"]) == {"ar", "fr", "en"} and options["langs"][0] == "en"  # most articles first
    assert options["topics"] == sorted({r[5] for r in ROWS})
    assert options["date_min"] == dt.date(2024, 1, 10) and options["date_max"] == dt.date(2024, 5, 20)
    assert dict(zip(options["sources"]["source"], options["sources"]["origin"]))["مصدر مجهول"] == "unknown"
    assert A.summary(db)["articles"] == len(ROWS) + 1 and A.summary(db)["relevant"] == len(ROWS)


# --- tone series --------------------------------------------------------------------------

def test_monthly_tone_mean_ci_and_flags(db):
    series = A.tone_series(A.load_articles(db), "month", as_of=dt.date(2024, 5, 15)).set_index("period")
    march = series.loc[pd.Timestamp("2024-03-01")]
    tones = [0.6, 0.3, 0.0]
    assert march["n"] == 3 and march["tone"] == pytest.approx(0.3)
    half = 4.303 * np.std(tones, ddof=1) / math.sqrt(3)  # Student t, 2 degrees of freedom
    assert march["ci_low"] == pytest.approx(max(-1, 0.3 - half), abs=1e-3)
    assert march["ci_high"] == pytest.approx(min(1, 0.3 + half), abs=1e-3)
    assert not march["few"] and not march["partial"]
    april = series.loc[pd.Timestamp("2024-04-01")]
    assert april["n"] == 1 and april["few"] and math.isnan(april["ci_low"])  # no band on one article
    may = series.loc[pd.Timestamp("2024-05-01")]
    assert may["partial"] and may["period_end"] == pd.Timestamp("2024-05-31")
    assert series["n"].sum() == len(ROWS)


def test_week_day_and_quarter_periods(db):
    df = A.load_articles(db)
    weeks = A.tone_series(df, "week")
    assert (weeks["period"].dt.dayofweek == 0).all()  # weeks start on Monday
    assert weeks["period_end"].eq(weeks["period"] + pd.Timedelta(days=6)).all()
    days = A.tone_series(df, "day")
    assert days.loc[days["period"] == pd.Timestamp("2024-05-03"), "n"].item() == 2
    quarters = A.tone_series(df, "quarter").set_index("period")
    assert quarters.loc[pd.Timestamp("2024-01-01"), "n"] == 9
    assert quarters.loc[pd.Timestamp("2024-04-01"), "period_end"] == pd.Timestamp("2024-06-30")
    with pytest.raises(ValueError):
        A.tone_series(df, "fortnight")


def test_series_by_language_and_origin_add_up(db):
    df = A.load_articles(db)
    by_lang = A.tone_series(df, "month", by="lang")
    assert set(by_lang["lang"]) == {"ar", "fr", "en"}
    assert by_lang["n"].sum() == len(df)
    ar_may = by_lang[(by_lang["lang"] == "ar") & (by_lang["period"] == pd.Timestamp("2024-05-01"))]
    assert ar_may["tone"].item() == pytest.approx(0.8)
    by_origin = A.tone_series(df, "month", by="source_country")
    assert set(by_origin["source_country"]) == {"MA", "FR", "INT", "unknown"}


def test_empty_frames_give_empty_series():
    empty = pd.DataFrame(columns=A.ARTICLE_COLUMNS).astype({"published": "datetime64[us]", "tone": float})
    assert A.tone_series(empty).empty and A.topic_share(empty).empty and A.topic_summary(empty).empty


def test_articles_behind_a_point(db):
    df = A.load_articles(db)
    rows = A.articles_in_period(df, "2024-03-01", "month")
    assert len(rows) == 3 and rows["published"].is_monotonic_decreasing
    assert len(A.articles_in_period(df, "2024-03-01", "month", "lang", "ar")) == 1


def test_suggest_grain_follows_volume(db):
    df = A.load_articles(db)
    assert A.suggest_grain(df) == "quarter"  # 14 articles: only quarters hold ~10
    busy = pd.DataFrame({"published": pd.to_datetime(["2024-01-01"] * 50 + ["2024-01-02"] * 50)})
    assert A.suggest_grain(busy) == "day"


def test_coverage_end(db):
    assert A.coverage_end(db, today=dt.date(2030, 1, 1)) <= dt.date.today()
    assert A.coverage_end(db, A.Filters(date_to="2024-04-10")) == dt.date(2024, 4, 10)
    assert A.coverage_end(db, today=dt.date(2024, 1, 1)) == dt.date(2024, 1, 1)


# --- topics -------------------------------------------------------------------------------

def test_topic_share_denominator_is_all_relevant_articles(db):
    df = A.load_articles(db)
    share = A.topic_share(df, "month")
    assert share.groupby("period")["share"].sum().round(9).eq(1).all()
    may = share[share["period"] == pd.Timestamp("2024-05-01")].set_index("topic")
    assert may.loc["sahara", "n"] == 3 and may.loc["sahara", "total"] == 4
    assert may.loc["sahara", "share"] == pytest.approx(0.75)
    assert may.loc["visas", "n"] == 0  # zero rows kept: stacked bars need them
    only = A.topic_share(df, "month", ["sahara"])
    assert set(only["topic"]) == {"sahara"}
    assert only.set_index("period").loc[pd.Timestamp("2024-05-01"), "total"] == 4  # denominator unchanged


def test_topic_tone_and_summary(db):
    df = A.load_articles(db)
    series = A.topic_tone_series(df, "month")
    sahara = series[series["topic"] == "sahara"]
    assert sahara["tone"].item() == pytest.approx(_mean([0.7, 0.5, 0.8]))
    summary = A.topic_summary(df).set_index("topic")
    assert summary.loc["diplomacy", "n"] == 4
    assert summary.loc["visas", "tense"] == pytest.approx(0.5)  # -0.4 tense, -0.2 mixed
    assert summary["share"].sum() == pytest.approx(1)


# --- headline -----------------------------------------------------------------------------

def test_headline_compares_with_the_previous_period(facts):
    head = facts.headline(A.Filters(date_from="2024-03-01", date_to="2024-05-31"))
    assert (head.prev_start, head.prev_end) == (dt.date(2023, 11, 30), dt.date(2024, 2, 29))
    current = [r for r in ROWS if "2024-03-01" <= r[0] <= "2024-05-31"]
    previous = [r for r in ROWS if r[0] < "2024-03-01"]
    assert head.articles == len(current) and head.articles_prev == len(previous)
    assert head.tone == pytest.approx(_mean([r[4] for r in current]))
    assert head.tone_delta == pytest.approx(head.tone - _mean([r[4] for r in previous]))
    # Stories: ids 2 and 3, plus one each for the three articles without a story.
    assert head.stories == 5
    assert head.rising_topic == "sahara" and head.rising_delta == pytest.approx(3 / 8)


def test_headline_window_and_empty_selection(facts):
    head = facts.headline(A.Filters(), window_days=30)
    assert head.end == dt.date(2024, 5, 20) and head.start == dt.date(2024, 4, 21)
    assert head.articles == 4
    nothing = facts.headline(A.Filters(langs=["de"]))
    assert nothing.start is None and nothing.articles == 0


# --- search and detail --------------------------------------------------------------------

def test_full_text_search(db):
    found = A.list_articles(db, A.Filters(), "autonomie")
    assert found["title"].tolist() == ["Sahara : Paris soutient le plan d'autonomie"]
    assert "[autonomie]" in found["snippet"].iloc[0]
    assert len(A.list_articles(db, A.Filters(), "sejourne")) == 1  # accents do not matter
    assert len(A.list_articles(db, A.Filters(), "الصحراء")) == 1
    assert len(A.list_articles(db, A.Filters(), "Rab*")) >= 10  # prefix search
    assert A.count_articles(db, A.Filters(langs=["en"]), "ministers") == 5


@pytest.mark.parametrize("query", ['"unbalanced', "visa AND OR NOT", "-(x", "*", "NEAR(", "'; DROP TABLE"])
def test_search_syntax_from_users_never_raises(db, query):
    A.list_articles(db, A.Filters(), query)
    A.count_articles(db, A.Filters(), query)


def test_list_without_query_is_newest_first_and_limited(db):
    df = A.list_articles(db, A.Filters(), None, limit=5)
    assert len(df) == 5 and df["published"].is_monotonic_decreasing
    assert A.count_articles(db, A.Filters()) == len(ROWS)


def test_article_detail(db):
    article_id = int(A.list_articles(db, A.Filters(), "autonomie")["id"].iloc[0])
    detail = A.article_detail(db, article_id)
    assert detail["article"]["lang"] == "fr" and detail["article"]["story_id"] == 3
    assert detail["topics"].iloc[0].tolist() == ["sahara", pytest.approx(0.7)]
    assert detail["evidence"][0]["tone"] == pytest.approx(0.5)
    assert detail["sentences"]["position"].tolist() == list(range(len(detail["sentences"])))
    # the shares the class came from are stored: cooperative − tense is the tone, the largest is the class
    shares = detail["shares"]
    assert shares["cooperative"] - shares["tense"] == pytest.approx(detail["article"]["tone"])
    assert max(shares, key=shares.get) == detail["article"]["tone_class"]
    assert A.article_detail(db, 99999) is None


def test_semantic_search_finds_by_stored_embeddings(db):
    hits = A.semantic_search(db, "France backs autonomy plan for the Sahara", HashingEmbedder(), k=3)
    assert hits["title"].iloc[0] == "France backs autonomy plan for the Sahara"
    assert hits["similarity"].iloc[0] == pytest.approx(1.0, abs=0.01)
    assert hits["similarity"].is_monotonic_decreasing and hits["id"].is_unique
    filtered = A.semantic_search(db, "France backs autonomy plan", HashingEmbedder(), k=3, filters=A.Filters(langs=["ar"]))
    assert set(filtered["lang"]) == {"ar"}


def test_semantic_search_without_embeddings_for_the_model(db):
    with pytest.raises(A.NoEmbeddings, match="hashing-512"):
        A.semantic_search(db, "visas", HashingEmbedder(dim=256))


# --- data status --------------------------------------------------------------------------

def test_counts_runs_and_failures(db):
    by_lang = A.counts_by(db, "lang").set_index("lang")
    assert by_lang.loc["en", "articles"] == 6 and by_lang.loc["en", "relevant"] == 5
    months = A.counts_by(db, "month")
    assert months["month"].tolist() == ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05"]
    assert A.counts_by(db, "origin").set_index("origin").loc["unknown", "articles"] == 1
    assert A.counts_by(db, "source")["articles"].sum() == len(ROWS) + 1
    run = A.last_run(db)
    assert run["command"] == "test" and run["failed"] == 3 and run["finished_at"]
    assert len(A.failures(db)) == 3
    reasons = A.failure_reasons(db).set_index("reason")["count"].to_dict()
    assert reasons == {"broken JSON line": 2, "no text extracted": 1}


# --- scale --------------------------------------------------------------------------------

def test_queries_stay_quick_on_100k_articles(tmp_path):
    """100k articles: loading, the series, the column snapshot and its aggregates take a few seconds at most."""
    db = store.open_db(tmp_path / "big.db")
    db.execute("DROP TRIGGER articles_ai")  # no search index needed here; it would triple the build
    topics = " ".join(f"WHEN {i} THEN '{k}'" for i, k in enumerate(TOPICS))
    # Generated inside SQLite: a second, not a minute of Python.
    db.execute(f"""
        WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < 99999),
        r AS (SELECT i, (abs(random()) % 2001 - 1000) / 1000.0 AS t, abs(random()) % 2500 AS d FROM s)
        INSERT INTO articles(identity, content_hash, title, text, lang, published, source, source_country,
                             relevant, tone, tone_class, confidence, low_confidence, top_topic, ingested_at, updated_at)
        SELECT 'id:' || i, 'h' || i, 'title ' || i, '',
               CASE i % 3 WHEN 0 THEN 'ar' WHEN 1 THEN 'fr' ELSE 'en' END, date('2019-01-01', '+' || d || ' days'),
               'S' || (i % 40), CASE (i / 3) % 3 WHEN 0 THEN 'MA' WHEN 1 THEN 'FR' ELSE 'INT' END, 1, t,
               CASE WHEN t >= 0.25 THEN 'cooperative' WHEN t <= -0.25 THEN 'tense' ELSE 'mixed' END,
               0.8, 0, CASE i % 8 {topics} END, '2026-01-01', '2026-01-01'
        FROM r""")
    db.conn.commit()
    # CPU time, not wall time: the bound should not depend on what else the machine runs.
    started = time.process_time()
    df = A.load_articles(db, A.Filters(langs=["fr", "ar"]))
    A.tone_series(df, "week", by="lang")
    A.topic_share(df, "month")
    facts = Facts.load(db)
    facts.headline(A.Filters(), 365)
    facts.tone_series(A.Filters(langs=["fr"]), "week", by="lang")
    facts.topic_share(A.Filters(), "day")
    A.counts_by(db, "month")
    elapsed = time.process_time() - started
    assert len(df) > 60_000
    # Generous: about a second on a laptop; a quadratic step or a per-row Python loop would blow it.
    assert elapsed < 12, f"analytics on 100k articles took {elapsed:.1f} s of CPU"


# --- what the pipeline writes -------------------------------------------------------------

@pytest.fixture(scope="module")
def scorer(request, tmp_path_factory):
    """The suite's shared hashing scorer when conftest provides it (trained once per session)."""
    try:
        return request.getfixturevalue("hashing_scorer")
    except pytest.FixtureLookupError:
        from monitor.pipeline import Scorer
        from monitor.settings import Settings

        settings = Settings(cache_dir=tmp_path_factory.mktemp("cache"), model="hashing-512", selector_model=None)
        return Scorer(settings, embedder=HashingEmbedder(), use_selector=False)


def test_analytics_read_a_pipeline_built_database(tmp_path, scorer):
    """Real demo articles scored by the pipeline (hashing embedder) feed every query."""
    from monitor.pipeline import ingest_articles, read_all
    from monitor.settings import Settings

    settings = Settings()
    items = [a for a in read_all(sorted(settings.demo_dir.glob("*.jsonl")), settings)][::12]
    db = store.open_db(tmp_path / "demo.db")
    report = ingest_articles(items, db, scorer)
    assert report.ingested == len(items)
    everything = A.load_articles(db, A.Filters(relevant_only=False), with_topics=True)
    assert len(everything) == len(items)
    df = A.load_articles(db)
    assert len(df) and df["tone"].between(-1, 1).all()
    assert not A.tone_series(df, "quarter").empty and not A.topic_share(df, "quarter").empty
    detail = A.article_detail(db, int(everything["id"].iloc[0]))
    assert len(detail["sentences"]) and len(detail["topics"]) == 8
    hits = A.semantic_search(db, everything["title"].iloc[0], HashingEmbedder(), k=1)
    assert hits["id"].iloc[0] == everything["id"].iloc[0]
    assert A.last_run(db)["ingested"] == len(items)


@pytest.mark.parametrize("grain", A.GRAINS)
@pytest.mark.parametrize("filters", [
    A.Filters(), A.Filters(langs=("fr", "ar"), origins=("MA", "FR"), date_from=dt.date(2024, 2, 1)),
    A.Filters(topics=("sahara", "visas"), date_to=dt.date(2024, 4, 30)), A.Filters(relevant_only=False),
    A.Filters(sources=("Global Wire",), origins=("INT",)), A.Filters(langs=("de",))])
def test_column_snapshot_equals_the_per_article_pandas_path(db, facts, grain, filters):
    """The dashboard aggregates a column snapshot (monitor.facts): it must equal the pandas functions."""
    df = A.load_articles(db, filters)
    everything = A.load_articles(db, filters.without_topics())
    as_of = dt.date(2024, 5, 10)
    for by in (None, "lang", "source_country", "top_topic"):
        expected = A.tone_series(df, grain, by=by, as_of=as_of).reset_index(drop=True)
        got = facts.tone_series(filters, grain, by=by, as_of=as_of).reset_index(drop=True)
        pd.testing.assert_frame_equal(got, expected, check_dtype=False, atol=1e-9)
    for topics in (("security", "migration"), None):
        pd.testing.assert_frame_equal(facts.topic_share(filters.without_topics(), grain, topics, as_of),
                                      A.topic_share(everything, grain, topics, as_of), check_dtype=False)
    pd.testing.assert_frame_equal(facts.topic_tone_series(filters, grain, as_of).reset_index(drop=True),
                                  A.topic_tone_series(df, grain, as_of).reset_index(drop=True),
                                  check_dtype=False, atol=1e-9)
    pd.testing.assert_frame_equal(facts.topic_summary(filters), A.topic_summary(df), check_dtype=False, atol=1e-9)
    assert facts.suggest_grain(filters) == A.suggest_grain(df)
    dates = df["published"].dropna()
    assert facts.date_span(filters) == ((dates.min().date(), dates.max().date()) if len(dates) else (None, None))
    series = A.tone_series(df, grain)
    for period in series["period"]:
        assert list(A.articles_in_period_db(db, filters, period, grain)["id"]) == \
            list(A.articles_in_period(df, period, grain)["id"])


def test_column_snapshot_survives_odd_values(tmp_path):
    """NULL and separator characters in text fields, undated and unscored articles."""
    db = store.open_db(tmp_path / "odd.db")
    rows = [("2024-01-01", "fr", "A\x1fB", "MA", 0.5, "security", 1), (None, "en", None, None, None, None, None),
            ("2024-01-02T10:00:00", "ar", "", "XX", -0.5, None, 1)]
    for i, (published, lang, source, origin, tone, topic, relevant) in enumerate(rows):
        db.execute("INSERT INTO articles(identity, content_hash, title, text, lang, published, source, "
                   "source_country, relevant, tone, top_topic, ingested_at, updated_at) "
                   "VALUES (?, ?, 't', '', ?, ?, ?, ?, ?, ?, ?, '2026-01-01', '2026-01-01')",
                   [f"id{i}", f"h{i}", lang, published, source, origin, relevant, tone, topic])
    db.conn.commit()
    facts = Facts.load(db)
    assert len(facts) == 3 and facts.names["source"] == ("A B",)  # the separator never splits a value
    assert facts.date_span(A.Filters(relevant_only=False)) == (dt.date(2024, 1, 1), dt.date(2024, 1, 2))
    assert facts.tone_series(A.Filters(), "day")["n"].tolist() == [1, 1]
    assert set(facts.tone_series(A.Filters(), "month", by="source_country")["source_country"]) == {"MA", "unknown"}
    assert facts.headline(A.Filters(), 30).articles == 2
    with pytest.raises(ValueError):
        facts.tone_series(A.Filters(), "fortnight")
    empty = Facts.load(store.open_db(tmp_path / "empty.db"))
    assert len(empty) == 0 and empty.tone_series().empty and empty.topic_share().empty
    assert empty.headline().start is None and empty.filter_options()["date_min"] is None


def test_scored_with_older_method_counts_what_rescore_would_change(db):
    from monitor.analytics import scored_with_older_method

    total = db.execute("SELECT COUNT(*) FROM articles WHERE method IS NOT NULL").fetchone()[0]
    assert total and scored_with_older_method(db) == total  # the fixture's method is "test"
    assert scored_with_older_method(db, current="test") == 0
