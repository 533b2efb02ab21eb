"""Feeds, GDELT and the update run, against recorded answers: no test touches the network."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from monitor.models import Article, Failure
from monitor.sources import Link, canonical_url, fetch_article
from monitor.sources.feeds import Feed, feed_links
from monitor.sources.fetch import Client, FetchFailure, TooLarge, decode_body
from monitor.sources.gdelt import API, GdeltConfig, gdelt_links, registered_domain
from monitor.sources.update import SourcesError, Sources, load_sources, run_update
from monitor.store import open_db
from tests.conftest import ROOT

FIX = Path(__file__).parent / "fixtures" / "sources"
HTML = {"Content-Type": "text/html; charset=utf-8"}
XML = {"Content-Type": "application/rss+xml"}

HESPRESS_FEED = "https://www.hespress.com/feed"
LEMONDE_FEED = "https://www.lemonde.fr/afrique/rss_full.xml"
VISITE = "https://www.hespress.com/politique/visite-ministre-1.html"
VISAS_AR = "https://www.hespress.com/societe/visas-etudiants-3.html"
ENERGIE = "https://www.hespress.com/economie/energie-4.html"
SAHARA = "https://www.lemonde.fr/afrique/article/2025/04/15/sahara-occidental-paris_1.html"
MOUDAWANA = "https://www.lemonde.fr/afrique/article/2025/04/14/maroc-moudawana_3.html"
ALJAZEERA = "https://www.aljazeera.com/news/2025/4/14/france-morocco-ease-visa-row"


def fixture(name: str) -> bytes:
    return (FIX / name).read_bytes()


class Web:
    """Recorded answers by URL: a tuple, a list of tuples (one per request), an exception,
    or a function of the URL. Anything else answers 404. Every request is logged."""

    def __init__(self, routes=None, fallback=None):
        self.routes = dict(routes or {})
        self.fallback = fallback
        self.calls: list[str] = []

    def __call__(self, url):
        self.calls.append(url)
        answer = self.routes.get(url)
        if answer is None and self.fallback:
            answer = self.fallback(url)
        if isinstance(answer, list):
            answer = answer.pop(0) if len(answer) > 1 else answer[0]
        if callable(answer):
            answer = answer(url)
        if isinstance(answer, BaseException):
            raise answer
        return answer or (404, {}, b"not found")


class Clock:
    """A clock that moves only when slept on, so politeness waits are exact and instant."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(round(seconds, 3))
        self.now += seconds


def client_for(web, clock=None, **kw) -> Client:
    clock = clock or Clock()
    return Client(web, sleep=clock.sleep, clock=clock, **kw)


# --- fetch ----------------------------------------------------------------------------------

def test_client_retries_5xx_and_429_with_backoff_then_succeeds():
    web = Web({"https://a.test/x": [(503, {}, b""), (429, {"Retry-After": "7"}, b""), (200, HTML, b"<p>ok</p>")]})
    clock = Clock()
    page = client_for(web, clock, host_delay=0).get("https://a.test/x", robots=False)
    assert page.status == 200 and page.text() == "<p>ok</p>"
    assert clock.sleeps == [2.0, 7]  # backoff, then the server's Retry-After


def test_client_failures_name_the_url_and_say_whether_to_retry():
    web = Web({"https://a.test/gone": (404, {}, b""), "https://a.test/down": (502, {}, b""),
               "https://a.test/net": ConnectionError("connection refused"),
               "https://a.test/big": (200, HTML, b"x" * 5000), "https://a.test/huge": TooLarge("answer too large")})
    client = client_for(web, retries=2, host_delay=0, max_bytes=1000)
    gone = client.get("https://a.test/gone", robots=False)
    assert isinstance(gone, FetchFailure) and gone.origin == "https://a.test/gone"
    assert gone.reason == "HTTP 404" and not gone.transient
    assert web.calls.count("https://a.test/gone") == 1  # a 404 is not asked twice
    down = client.get("https://a.test/down", robots=False)
    assert down.transient and "HTTP 502 (after 3 attempts)" == down.reason
    net = client.get("https://a.test/net", robots=False)
    assert net.transient and "connection refused" in net.reason
    assert web.calls.count("https://a.test/net") == 2  # one retry only: a dead host stays dead for a while
    for url in ("https://a.test/big", "https://a.test/huge"):
        failure = client.get(url, robots=False)
        assert "too large" in failure.reason and not failure.transient
    assert "not an http" in client.get("ftp://a.test/file").reason


def test_client_is_polite_per_host_and_reads_robots_txt():
    robots = b"User-agent: *\nDisallow: /private/\n"
    web = Web({"https://a.test/robots.txt": (200, {}, robots), "https://a.test/1": (200, HTML, b"1"),
               "https://a.test/2": (200, HTML, b"2"), "https://b.test/1": (200, HTML, b"3")})
    clock = Clock()
    client = client_for(web, clock, host_delay=1.5)
    assert isinstance(client.get("https://a.test/private/page"), FetchFailure)
    for url in ("https://a.test/1", "https://b.test/1", "https://a.test/2"):
        assert client.get(url).status == 200
    assert web.calls.count("https://a.test/robots.txt") == 1  # cached per host
    # a.test/1 and b.test/1 each wait after their host's robots.txt; a.test/2 comes after b.test's turn.
    assert clock.sleeps == [1.5, 1.5]


def test_decode_body_header_then_page_declaration_then_detection():
    assert decode_body("Équipe".encode("cp1252"), "text/html; charset=ISO-8859-1") == "Équipe"
    page = fixture("pages/energie_cp1256.html")
    assert "مباحثات مغربية فرنسية" in decode_body(page, "text/html")  # from <meta charset=windows-1256>
    assert decode_body("المغرب وفرنسا".encode("utf-8"), "") == "المغرب وفرنسا"
    # A wrong header declaration falls through to the next clue instead of producing mojibake.
    assert decode_body("Maroc–France".encode("utf-8"), "text/html; charset=us-ascii") == "Maroc–France"


def test_canonical_url_drops_tracking_and_fragment():
    assert canonical_url(" HTTPS://WWW.Site.ma/a/b.html?utm_source=rss&id=3&fbclid=x#top ") == \
        "https://www.site.ma/a/b.html?id=3"


# --- feeds ----------------------------------------------------------------------------------

def test_rss_feed_links_filter_and_metadata():
    web = Web({HESPRESS_FEED: (200, XML, fixture("hespress_rss.xml"))})
    feed = Feed("Hespress", HESPRESS_FEED, "MA", "ar", require=("France", "فرنسا", "فرنسي", "باريس"))
    links = list(feed_links(feed, client_for(web)))
    assert [l.url for l in links] == [VISITE, VISAS_AR, ENERGIE]  # the football item is filtered out
    first = links[0]
    assert (first.source, first.source_country, first.lang) == ("Hespress", "MA", "ar")
    assert first.published == dt.date(2025, 4, 14)
    # The full text of content:encoded beats the one-line description; the WordPress footer goes.
    assert "متعددة الدخول" in links[1].summary and "appeared first" not in links[1].summary
    assert len(list(feed_links(Feed("Hespress", HESPRESS_FEED), client_for(web)))) == 4  # no filter


def test_atom_feed_relative_links_and_since():
    web = Web({LEMONDE_FEED: (200, XML, fixture("lemonde_atom.xml"))})
    feed = Feed("Le Monde Afrique", LEMONDE_FEED, "FR", None, require=("Maroc", "marocain", "Rabat"))
    links = list(feed_links(feed, client_for(web), since=dt.date(2025, 4, 1)))
    assert [l.url for l in links] == [SAHARA, MOUDAWANA]  # relative link resolved; Sénégal and January dropped
    assert links[0].lang == "fr" and links[0].published == dt.date(2025, 4, 15)  # xml:lang of the feed


@pytest.mark.parametrize("answer, words", [
    ((404, {}, b""), "unavailable: HTTP 404"),
    ((200, HTML, fixture("not_a_feed.html")), "not a readable feed"),
    ((200, XML, fixture("truncated_feed.xml")), ""),
])
def test_feed_errors_are_failures_naming_the_feed(answer, words):
    url = "https://broken.test/feed"
    items = list(feed_links(Feed("Broken", url), client_for(Web({url: answer}))))
    assert items and all(isinstance(i, Failure) and i.origin == url for i in items)
    assert words in items[0].reason


# --- pages ----------------------------------------------------------------------------------

def test_fetch_article_uses_the_page_and_keeps_the_feeds_metadata():
    web = Web({VISITE: (200, HTML, fixture("pages/hespress_visite.html"))})
    link = Link(VISITE, "Hespress", "MA", "ar", title="وزير الخارجية الفرنسي يحل بالرباط لتعزيز الشراكة مع المغرب",
                published=dt.date(2025, 4, 14), summary="حل وزير الخارجية الفرنسي بالرباط في زيارة رسمية.")
    article = fetch_article(link, client_for(web))
    assert isinstance(article, Article)
    assert article.published == dt.date(2025, 4, 14)  # the feed's date, not the page's meta date
    assert (article.source, article.source_country, article.lang, article.url) == ("Hespress", "MA", "ar", VISITE)
    assert "لجنة مشتركة" in article.text and "اقرأ أيضا" not in article.text and "الرئيسية" not in article.text


def test_fetch_article_falls_back_to_the_feed_summary():
    summary = "Le chef de la diplomatie française a redit à Rabat le soutien de la France au plan marocain."
    for answer in [(404, {}, b""), (200, HTML, fixture("pages/consent_wall.html"))]:
        web = Web({SAHARA: answer})
        article = fetch_article(Link(SAHARA, "Le Monde", "FR", "fr", title="Sahara", summary=summary), client_for(web))
        assert isinstance(article, Article) and article.text == summary and article.title == "Sahara"
    # No page text and nothing usable in the feed: a permanent failure naming the URL.
    web = Web({MOUDAWANA: (200, HTML, fixture("pages/consent_wall.html"))})
    failure = fetch_article(Link(MOUDAWANA, "Le Monde", lang="fr", summary="Abonnés"), client_for(web))
    assert isinstance(failure, FetchFailure) and failure.origin == MOUDAWANA and not failure.transient
    # A network error is not papered over with the summary: the URL is tried again next run.
    web = Web({SAHARA: TimeoutError("read timed out")})
    failure = fetch_article(Link(SAHARA, "Le Monde", summary=summary), client_for(web, retries=1))
    assert isinstance(failure, FetchFailure) and failure.transient


# --- GDELT ----------------------------------------------------------------------------------

START, END = dt.datetime(2025, 4, 14, 0, 0), dt.datetime(2025, 4, 14, 4, 0)


def window(url):
    q = parse_qs(urlsplit(url).query)
    parse = lambda v: dt.datetime.strptime(v, "%Y%m%d%H%M%S")  # noqa: E731
    return parse(q["startdatetime"][0]), parse(q["enddatetime"][0])


def test_gdelt_query_url():
    cfg = GdeltConfig()
    assert cfg.query == ("(Morocco OR Maroc OR المغرب) (France OR فرنسا) "
                         "(sourcelang:arabic OR sourcelang:french OR sourcelang:english)")
    q = parse_qs(urlsplit(cfg.url(START, END)).query)
    assert q["mode"] == ["ArtList"] and q["format"] == ["json"] and q["maxrecords"] == ["250"]
    assert q["startdatetime"] == ["20250414000000"] and q["enddatetime"] == ["20250414040000"]
    assert GdeltConfig(first=("Maroc",), second=("France",), languages=()).query == "Maroc France"
    assert [registered_domain(h) for h in ("fr.le360.ma", "www.alquds.co.uk", "feeds.bbci.co.uk", "lemonde.fr")] == \
        ["le360.ma", "alquds.co.uk", "bbci.co.uk", "lemonde.fr"]


def test_gdelt_splits_full_windows_and_survives_a_malformed_answer():
    """Window 0–4h is full (3 = max_records): halves 0–2h (2 records) and 2–4h (full again),
    quarters 2–3h (1 record) and 3–4h (malformed JSON)."""
    H = lambda h: START + dt.timedelta(hours=h)  # noqa: E731
    answers = {(H(0), H(4)): "gdelt_full.json", (H(0), H(2)): "gdelt_half.json",
               (H(2), H(4)): "gdelt_full.json", (H(2), H(3)): "gdelt_quarter.json",
               (H(3), H(4)): "gdelt_malformed.json"}
    web = Web(fallback=lambda url: (200, {"Content-Type": "application/json"}, fixture(answers[window(url)])))
    clock = Clock()
    cfg = GdeltConfig(max_records=3)
    items = list(gdelt_links(cfg, client_for(web, clock), START, END, sleep=clock.sleep))
    links = [i for i in items if isinstance(i, Link)]
    failures = [i for i in items if isinstance(i, Failure)]
    assert [l.url for l in links] == ["https://example-ma.test/half-1", "https://example-ar.test/half-2",
                                      "https://example-fr.test/quarter-1"]
    assert [(l.lang, l.source_country) for l in links] == [("fr", "MA"), ("ar", "MA"), ("fr", "FR")]
    assert links[2].published == dt.date(2025, 4, 14) and links[2].source == "example-fr.test"
    assert len(failures) == 1 and "not valid JSON" in failures[0].reason and "startdatetime=20250414030000" in failures[0].origin
    assert len(web.calls) == 5
    assert clock.sleeps == [5.0] * 4  # one request every five seconds, as GDELT asks


def test_gdelt_backs_off_on_rate_limits_and_reports_plain_text_errors():
    url = GdeltConfig().url(START, END)
    web = Web({url: [(200, {}, fixture("gdelt_ratelimit.txt")), (429, {}, fixture("gdelt_429.txt")),
                     (200, {}, fixture("gdelt_artlist.json"))]})
    clock = Clock()
    items = list(gdelt_links(GdeltConfig(), client_for(web, clock), START, END, sleep=clock.sleep,
                             outlets={"hespress.com": ("Hespress", "MA")}))
    assert len(items) == 3 and all(isinstance(i, Link) for i in items)
    assert items[1].source == "Hespress" and items[0].source == "aljazeera.com" and items[0].source_country == "INT"
    assert len(web.calls) == 3 and 10.0 in clock.sleeps  # backed off after «Please limit requests»

    for body, words in [("gdelt_bad_query.txt", "GDELT error: Queries containing"), ("gdelt_empty.json", None)]:
        web = Web({url: (200, {}, fixture(body))})
        items = list(gdelt_links(GdeltConfig(), client_for(web), START, END, sleep=lambda s: None))
        if words:
            assert len(items) == 1 and words in items[0].reason
        else:
            assert items == []

    web = Web({url: (200, {}, fixture("gdelt_ratelimit.txt"))})
    [failure] = list(gdelt_links(GdeltConfig(retries=2), client_for(web), START, END, sleep=lambda s: None))
    assert failure.transient and "rate limit" in failure.reason


# --- configuration ----------------------------------------------------------------------------

def test_shipped_sources_file_loads():
    sources = load_sources(ROOT / "data" / "sources.toml")
    assert len(sources.feeds) >= 20
    assert {f.country for f in sources.feeds} == {"MA", "FR", "INT"}
    assert {f.lang for f in sources.feeds} == {"ar", "fr", "en"}
    assert all(f.url.startswith("https://") for f in sources.feeds)
    names = {f.name for f in sources.feeds}
    assert {"Hespress", "Le360", "Médias24", "TelQuel", "Le Monde Afrique", "France 24", "RFI", "Jeune Afrique",
            "Morocco World News", "Al Jazeera"} <= names
    assert sources.gdelt and sources.gdelt.max_records == 250 and "فرنسا" in sources.gdelt.query


def test_bad_sources_files_say_what_is_wrong(tmp_path):
    path = tmp_path / "s.toml"
    with pytest.raises(SourcesError, match="no sources file"):
        load_sources(tmp_path / "none.toml")
    for text, words in [('[[feed]]\nname = "X"\nurl = "ftp://x"\n', "needs a name and an http"),
                        ('[[feed]]\nname = "X"\nurl = "https://x.test/feed"\ncountry = "DZ"\n', "country must be"),
                        ('[[feed]]\nname = "X"\nurl = "https://x.test/feed"\nrequire = "nope"\n', "names no list"),
                        ("[gdelt]\nmax_records = 900\n", "max_records"), ("[[feed]\n", "s.toml")]:
        path.write_text(text, encoding="utf-8")
        with pytest.raises(SourcesError, match=words):
            load_sources(path)


# --- the update run ---------------------------------------------------------------------------

def site(page_for_visas_ar):
    """The recorded web of one update run."""
    return Web({
        HESPRESS_FEED: (200, XML, fixture("hespress_rss.xml")),
        LEMONDE_FEED: (200, XML, fixture("lemonde_atom.xml")),
        "https://down.test/feed": (404, {}, b""),
        VISITE: (200, HTML, fixture("pages/hespress_visite.html")),
        VISAS_AR: page_for_visas_ar,
        ENERGIE: (200, {"Content-Type": "text/html"}, fixture("pages/energie_cp1256.html")),
        SAHARA: (200, HTML, fixture("pages/lemonde_sahara.html")),
        MOUDAWANA: (200, HTML, fixture("pages/consent_wall.html")),
        ALJAZEERA: (200, HTML, fixture("pages/aljazeera_visas.html")),
    }, fallback=lambda url: (200, {}, fixture("gdelt_artlist.json")) if url.startswith(API) else None)


SOURCES = Sources(
    feeds=[Feed("Hespress", HESPRESS_FEED, "MA", "ar", require=("France", "فرنسا", "فرنسي", "باريس")),
           Feed("Le Monde Afrique", LEMONDE_FEED, "FR", "fr", require=("Maroc", "marocain")),
           Feed("Down", "https://down.test/feed", "INT", "en")],
    gdelt=GdeltConfig(timespan_days=2),
)
NOW = dt.datetime(2025, 4, 15, 12, 0, tzinfo=dt.timezone.utc)


def seen(db):
    return dict(db.execute("SELECT url, status FROM seen_urls").fetchall())


def test_update_runs_every_source_incrementally(settings, hashing_scorer):
    db = open_db(settings.db_path)
    web = site(ConnectionError("connection reset"))  # the Arabic visas page is down this time
    clock = Clock()
    report = run_update(settings, db, hashing_scorer, sources=SOURCES, now=NOW, sleep=clock.sleep,
                        client=client_for(web, clock, retries=1))
    # Feeds: 3 Hespress items about France, 3 Le Monde items about Morocco; GDELT adds Al Jazeera
    # (its Hespress and Le Monde links are the feeds' own).
    assert report.new_links == 7 and report.ingested == 5
    reasons = {f.origin: f.reason for f in report.failures}
    assert set(reasons) == {"https://down.test/feed", VISAS_AR, MOUDAWANA}
    assert "HTTP 404" in reasons["https://down.test/feed"] and "connection reset" in reasons[VISAS_AR]
    assert seen(db) == {VISITE: "ok", ENERGIE: "ok", SAHARA: "ok", ALJAZEERA: "ok",
                        "https://www.lemonde.fr/afrique/article/2025/01/02/maroc-visas_4.html": "ok",
                        VISAS_AR: "retry", MOUDAWANA: "failed"}
    rows = {r["url"]: r for r in db.query("SELECT * FROM articles")}
    assert (rows[VISITE]["source"], rows[VISITE]["source_country"], rows[VISITE]["lang"],
            rows[VISITE]["published"]) == ("Hespress", "MA", "ar", "2025-04-14")
    assert "الهيدروجين الأخضر" in rows[ENERGIE]["text"]  # the Windows-1256 page decoded
    assert (rows[ALJAZEERA]["source"], rows[ALJAZEERA]["source_country"], rows[ALJAZEERA]["lang"]) == \
        ("aljazeera.com", "INT", "en")
    assert db.execute("SELECT COUNT(*) FROM articles WHERE story_id IS NULL").fetchone()[0] == 0
    assert db.execute("SELECT value FROM meta WHERE key='gdelt_until'").fetchone()[0] == "2025-04-15T12:00:00"
    [gdelt_url] = [u for u in web.calls if u.startswith(API)]
    assert window(gdelt_url) == (dt.datetime(2025, 4, 13, 12), dt.datetime(2025, 4, 15, 12))
    assert "3 failed" in report.summary() and "7 new links, 0 already seen" in report.summary()

    # Second run, a day later: only the page that failed for a transient reason is asked again.
    web = site((200, HTML, fixture("pages/hespress_visite.html").replace(
        "لتعزيز الشراكة".encode(), "حول التأشيرات".encode())))
    later = NOW + dt.timedelta(days=1)
    again = run_update(settings, db, hashing_scorer, sources=SOURCES, now=later, sleep=clock.sleep,
                       client=client_for(web, clock))
    pages = [u for u in web.calls if not u.startswith(API) and not u.endswith(("/feed", ".xml", "robots.txt"))]
    assert pages == [VISAS_AR]
    assert again.ingested == 1 and again.new_links == 1 and again.known_links == 6
    assert seen(db)[VISAS_AR] == "ok" and db["articles"].count == 6
    [gdelt_url] = [u for u in web.calls if u.startswith(API)]
    assert window(gdelt_url) == (dt.datetime(2025, 4, 15, 11), dt.datetime(2025, 4, 16, 12))  # from the mark, 1 h overlap


def test_update_with_since_and_without_gdelt(settings, hashing_scorer):
    db = open_db(settings.db_path)
    web = site((200, HTML, fixture("pages/hespress_visite.html")))
    report = run_update(settings, db, hashing_scorer, sources=SOURCES, now=NOW, sleep=lambda s: None,
                        client=client_for(web), since=dt.date(2025, 4, 14), use_gdelt=False)
    assert not any(u.startswith(API) for u in web.calls)
    # Items of 13 April and of January are skipped; the January one is not even fetched.
    assert {r[0] for r in db.execute("SELECT url FROM articles")} == {VISITE, SAHARA}
    assert report.new_links == 3  # VISITE, SAHARA and the failing MOUDAWANA


def test_update_retries_transient_failures_no_listing_repeats(settings, hashing_scorer):
    db = open_db(settings.db_path)
    first_failure = (NOW - dt.timedelta(days=1)).isoformat()
    db.execute("INSERT INTO seen_urls(url, source, status, at) VALUES (?, 'aljazeera.com', 'retry', ?), "
               "('https://old.test/a', 'Old', 'retry', '2000-01-01T00:00:00+00:00'), "
               "('https://flaky.test/b', 'Flaky', 'retry', ?)", [ALJAZEERA, first_failure, first_failure])
    db.conn.commit()
    web = site(None)
    web.routes["https://flaky.test/b"] = (503, {}, b"")
    report = run_update(settings, db, hashing_scorer, sources=Sources([], None), now=NOW, sleep=lambda s: None,
                        client=client_for(web))
    assert report.ingested == 1 and seen(db)[ALJAZEERA] == "ok"
    assert "https://old.test/a" not in web.calls  # given up three days after its first failure
    # Failing again keeps the first failure's time, so the retries do end.
    assert db.execute("SELECT status, at FROM seen_urls WHERE url='https://flaky.test/b'").fetchone() == \
        ("retry", first_failure)
    assert db.execute("SELECT source, lang FROM articles").fetchone() == ("aljazeera.com", "en")


def test_update_command_is_registered_and_checks_the_sources_file(tmp_path, capsys):
    import argparse

    from monitor.cli_sources import cmd_update, register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["update", "--db", str(tmp_path / "x.db"), "--sources", str(tmp_path / "none.toml"),
                              "--since", "2025-04-01", "--no-gdelt"])
    assert args.since == dt.date(2025, 4, 1) and args.no_gdelt and args.func is cmd_update
    assert cmd_update(args) == 2 and "no sources file" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parser.parse_args(["update", "--since", "last week"])
