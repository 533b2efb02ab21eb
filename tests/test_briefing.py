"""Briefings from the fixture database: statements checked against ROWS by hand, the export
(chart PNGs, one-page PNG, PDF, Markdown) through the CLI, an image with Arabic labels, and the
Briefing page through AppTest. Export tests need Debian's Chromium and are skipped without it.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import statistics
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from monitor import analytics as A
from monitor import briefing as B
from monitor import charts as C
from monitor import cli, render, store
from tests.test_analytics import MARKUP_TITLE, ROWS, build_fixture_db
from tests.test_dashboard import figure_titled, no_errors, open_page, values

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")
LABELS = C.topic_labels()


@pytest.fixture(scope="module")
def fixture_db(tmp_path_factory) -> Path:
    return build_fixture_db(tmp_path_factory.mktemp("briefing") / "fixture.db")


@pytest.fixture(scope="module")
def db(fixture_db):
    handle = store.open_db(fixture_db, readonly=True)
    yield handle
    handle.conn.close()


def tones(start: str, end: str, **where) -> list[float]:
    """Tones of the fixture rows published in [start, end] (inclusive), recomputed from ROWS."""
    keys = {"lang": 1, "origin": 2, "topic": 5}
    return [r[4] for r in ROWS if start <= r[0] <= end and all(r[keys[k]] == v for k, v in where.items())]


def statement(b: B.Briefing, key: str) -> B.Statement:
    return next(s for s in b.statements if s.key == key)


# --- periods and statements ---------------------------------------------------------------

@pytest.mark.parametrize("start, end, previous, name", [
    ("2024-04-01", "2024-06-30", ("2024-01-01", "2024-03-31"), "Q2 2024"),
    ("2024-03-01", "2024-03-31", ("2024-02-01", "2024-02-29"), "March 2024"),
    ("2024-01-01", "2024-12-31", ("2023-01-01", "2023-12-31"), "2024"),
    ("2024-05-06", "2024-05-12", ("2024-04-29", "2024-05-05"), "week of 6 May 2024"),
    ("2024-05-14", "2024-05-20", ("2024-05-07", "2024-05-13"), "14–20 May 2024"),
    ("2023-12-15", "2024-01-14", ("2023-11-14", "2023-12-14"), "15 Dec 2023 – 14 Jan 2024"),
])
def test_previous_period_and_names(start, end, previous, name):
    start, end = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    assert B.previous_period(start, end) == tuple(dt.date.fromisoformat(d) for d in previous)
    assert B.period_name(start, end) == name


def test_quarter_briefing_statements_match_the_data(db):
    b = B.build_briefing(db, A.Filters(date_from="2024-04-01", date_to="2024-06-30"), LABELS)
    assert (b.name, b.prev_name) == ("Q2 2024", "Q1 2024")
    q1, q2 = tones("2024-01-01", "2024-03-31"), tones("2024-04-01", "2024-06-30")
    assert b.figures["current"]["articles"] == len(q2) == 5 and b.figures["previous"]["articles"] == len(q1) == 9

    change = statement(b, "tone_change")
    assert change.figures["tone_prev"] == pytest.approx(statistics.mean(q1))
    assert change.figures["tone"] == pytest.approx(statistics.mean(q2))
    margin = 1.96 * (statistics.variance(q1) / len(q1) + statistics.variance(q2) / len(q2)) ** 0.5
    assert change.figures["margin"] == pytest.approx(margin)
    assert change.text.startswith(f"Tone rose from {B.signed(statistics.mean(q1))} to "
                                  f"{B.signed(statistics.mean(q2))} between Q1 2024 and Q2 2024 (9 and 5 articles).")
    assert "may be noise" in change.text  # +0.16 on 5 and 9 articles is within the margin

    # Contributions (share × mean tone, now minus before) add up to the change in mean tone.
    assert b.topics["contribution"].sum() == pytest.approx(change.figures["delta"])
    sahara = 3 / 5 * statistics.mean(tones("2024-04-01", "2024-06-30", topic="sahara"))
    assert statement(b, "drivers").figures["contributions"]["sahara"] == pytest.approx(sahara)
    assert statement(b, "drivers").figures["offset"] == {"diplomacy": pytest.approx(-4 / 9 * 0.45)}

    rising = statement(b, "rising_topic")
    assert rising.figures | {"share": pytest.approx(0.6)} == {
        "topic": "sahara", "share_prev": 0.0, "share": 0.6, "n_prev": 0, "n": 3, "total_prev": 9, "total": 5}
    assert "Western Sahara gained the most ground: 60% of relevant articles in Q2 2024 (3 of 5)" in rising.text

    # Two Moroccan and two French articles in Q2: too few to compare, and said so.
    gap = statement(b, "origin_gap")
    assert (gap.figures["n_a"], gap.figures["n_b"]) == (2, 2) and "gap" not in gap.figures
    assert gap.text.startswith("Too few articles to compare Moroccan press (2) and French press (2)")
    assert statement(b, "security_migration").text.startswith("Too few articles")


def test_a_fall_names_the_topics_that_drove_it(db):
    b = B.build_briefing(db, A.Filters(date_from="2024-02-01", date_to="2024-02-29"), LABELS)
    jan, feb = tones("2024-01-01", "2024-01-31"), tones("2024-02-01", "2024-02-29")
    change = statement(b, "tone_change")
    assert change.text == (f"Tone fell from {B.signed(statistics.mean(jan))} to {B.signed(statistics.mean(feb))} "
                           "between January 2024 and February 2024 (3 and 3 articles).")
    drivers = statement(b, "drivers")
    assert drivers.figures["contributions"] == {"diplomacy": pytest.approx(-2 / 3 * 0.45),
                                                "visas": pytest.approx(2 / 3 * -0.3)}
    assert drivers.text == "Diplomacy (−0.30) and Visas & consular (−0.20) contributed most to the fall of −0.57."


def test_press_origin_gap_over_a_half_year(db):
    b = B.build_briefing(db, A.Filters(date_from="2024-01-01", date_to="2024-06-30"), LABELS)
    ma, fr = tones("2024-01-01", "2024-06-30", origin="MA"), tones("2024-01-01", "2024-06-30", origin="FR")
    gap = statement(b, "origin_gap")
    assert (gap.figures["n_a"], gap.figures["n_b"]) == (len(ma), len(fr)) == (6, 4)
    assert gap.figures["gap"] == pytest.approx(statistics.mean(ma) - statistics.mean(fr))
    assert gap.text == (f"Moroccan press was more cooperative in tone than French press in Jan–Jun 2024 "
                        f"({B.signed(statistics.mean(ma))} vs {B.signed(statistics.mean(fr))}; 6 and 4 articles).")
    # Nothing before 2024 in the fixture: no change is claimed.
    assert "too few articles to compare with Jul–Dec 2023 (0 and 14" in statement(b, "tone_change").text
    assert [s.key for s in b.statements] == ["tone_change", "origin_gap", "security_migration"]


def test_filters_and_default_period(db):
    b = B.build_briefing(db, A.Filters(langs=["fr"]), LABELS, days=30)  # 30 days up to the newest French article
    assert (b.start, b.end) == (dt.date(2024, 4, 4), dt.date(2024, 5, 3))
    assert b.figures["current"]["articles"] == len(tones("2024-04-04", "2024-05-03", lang="fr")) == 2
    assert "French" in b.describe() and "2024-04-04 → 2024-05-03" in b.describe()
    assert B.build_briefing(db, A.Filters(langs=["es"]), LABELS) is None
    b = B.build_briefing(db, A.Filters(date_to="2024-01-14"), LABELS)  # a week ending on a given day
    assert (b.start, b.end, b.figures["current"]["articles"]) == (dt.date(2024, 1, 8), dt.date(2024, 1, 14), 2)


def test_an_empty_period_says_so_and_still_draws(db):
    b = B.build_briefing(db, A.Filters(date_from="2030-01-01", date_to="2030-01-31"), LABELS)
    assert b.statements[0].text.startswith("No relevant articles in January 2030; too few articles to compare")
    assert b.articles == [] and "No relevant articles in this period." in B.to_markdown(b)
    assert [c.fig.layout.title.text for c in B.charts(b)][0] == "<b>Tone of Morocco–France relations</b>"


def test_influential_articles_one_per_story_with_evidence(db):
    b = B.build_briefing(db, A.Filters(date_from="2024-04-01", date_to="2024-06-30"), LABELS)
    # |tone| × confidence (0.8 everywhere): story 3 counts once, by its Arabic article (+0.8).
    assert [a.title for a in b.articles] == ["فرنسا تدعم مخطط الحكم الذاتي في الصحراء", MARKUP_TITLE,
                                             "Police cooperation against smuggling networks"]
    assert [a.weight for a in b.articles] == pytest.approx([0.8 * 0.8, 0.5 * 0.8, 0.1 * 0.8])
    arabic = b.articles[0]
    assert arabic.lang == "ar" and arabic.evidence and re.search("[\u0600-\u06ff]", arabic.evidence[0]["text"])


def test_markdown_and_html_never_pass_article_markup_through(db):
    b = B.build_briefing(db, A.Filters(date_from="2024-04-01", date_to="2024-06-30"), LABELS)
    text = B.to_markdown(b)
    assert "<script>" not in text and not re.search(r"(?<!\\)\]\(javascript", text)  # no live link
    assert "\\[link\\](javascript" in text
    assert "&lt;script&gt;" in text and "Source: Relations Monitor" in text
    page = render.briefing_html(b, {})
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert re.search(r'<p dir="rtl" class="t" lang="ar">فرنسا تدعم', page)
    assert re.search(r'<blockquote dir="rtl"[^>]*>أكد الجانبان', page)


# --- export -------------------------------------------------------------------------------

def not_blank(path: Path) -> np.ndarray:
    pixels = np.asarray(Image.open(path).convert("RGB"))
    assert pixels.std() > 15, f"{path.name} looks blank"
    assert len(np.unique(pixels.reshape(-1, 3)[::7], axis=0)) > 200, f"{path.name} has almost no colours"
    return pixels


def test_export_uses_the_small_plotly_bundle_only_when_it_fits():
    import plotly.graph_objects as go
    from plotly.offline import get_plotlyjs_version

    # Same plotly.js version as plotly.py's: after a plotly upgrade, refresh monitor/vendor/ (npm package
    # plotly.js-basic-dist-min of that version), or exports fall back to the 4x slower full bundle.
    assert f"v{get_plotlyjs_version()}" in render.BASIC_JS.read_text(encoding="utf-8")[:200]
    assert render.plotlyjs_for([go.Figure([go.Scatter(), go.Bar()])]) == str(render.BASIC_JS)
    assert render.plotlyjs_for([go.Figure(go.Scatter()), go.Figure(go.Heatmap())]) is None


@needs_chromium
def test_cli_writes_the_whole_briefing(fixture_db, tmp_path, capsys):
    out = tmp_path / "out"
    code = cli.main(["briefing", "--db", str(fixture_db), "--from", "2024-04-01", "--to", "2024-06-30",
                     "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    slug = "briefing-2024-04-01-2024-06-30"
    charts = [out / f"{slug}-{name}.png" for name in ("tone", "press-origin", "security-migration", "topic-mix")]
    for path in charts:
        pixels = not_blank(path)
        assert pixels.shape[1] >= 1600 and pixels.shape[0] >= 700
    page = not_blank(out / f"{slug}.png")
    assert page.shape[1] >= 1600 and page.shape[0] > 3 * page.shape[1]  # one tall page: figures, charts, articles
    pdf = (out / f"{slug}.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and 50_000 < len(pdf) < 5_000_000
    assert 2 <= len(re.findall(rb"/Type\s*/Page[^s]", pdf)) <= 8
    summary = (out / f"{slug}.md").read_text(encoding="utf-8")
    b = B.build_briefing(store.open_db(fixture_db, readonly=True),
                         A.Filters(date_from="2024-04-01", date_to="2024-06-30"), LABELS)
    for s in b.statements:
        assert B.md(s.text) in summary and s.text in printed
    assert f"({slug}-tone.png)" in summary
    seconds = float(re.search(r"exported 7 files in ([\d.]+) s", printed).group(1))
    assert seconds > 0
    print(f"briefing export: {seconds:.1f} s")


@needs_chromium
def test_chart_with_arabic_labels_renders(db):
    labels_ar = C.topic_labels(lang="ar")
    share = A.topic_share(A.load_articles(db), "month")
    fig = C.topic_share_chart(share, title="مواضيع التغطية: العلاقات المغربية الفرنسية", labels=labels_ar,
                              subtitle="المقالات ذات الصلة · 2024")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # One browser for several exports (as the dashboard keeps it): a chart, a page printed in
    # the other tab, the chart again, the same image.
    with render.Renderer() as renderer:
        png = render.chart_pngs({"ar": fig}, renderer=renderer)["ar"]
        pngs, (page, pdf) = renderer.draw({"ar": fig}, lambda images: "<p dir=rtl>العلاقات</p>")
        again = render.chart_pngs({"ar": fig}, renderer=renderer)["ar"]
    path = ARTIFACTS / "briefing-arabic-chart.png"  # for a human look (gitignored)
    path.write_bytes(png)
    pixels = not_blank(path)
    assert pixels.shape[1] == render.CHART_WIDTH * render.CHART_SCALE
    assert labels_ar["sahara"] in {t.name for t in fig.data}  # the legend is in Arabic
    (ARTIFACTS / "briefing-arabic-chart-again.png").write_bytes(again)
    again_pixels = not_blank(ARTIFACTS / "briefing-arabic-chart-again.png")
    assert again_pixels.shape == pixels.shape
    assert (again_pixels != pixels).any(axis=-1).mean() < 0.02  # the same chart (antialiasing aside)
    assert page.startswith(b"\x89PNG") and pdf.startswith(b"%PDF")


def test_without_chromium_the_cli_explains_and_still_writes_markdown(fixture_db, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MONITOR_CHROMIUM", str(tmp_path / "no-chromium"))
    code = cli.main(["briefing", "--db", str(fixture_db), "--from", "2024-04-01", "--to", "2024-06-30",
                     "--out", str(tmp_path)])
    assert code == 2
    assert "sudo apt-get install -y chromium" in capsys.readouterr().err
    assert (tmp_path / "briefing-2024-04-01-2024-06-30.md").exists()
    assert not list(tmp_path.glob("*.png"))


def test_cli_rejects_unknown_topics(fixture_db, tmp_path, capsys):
    assert cli.main(["briefing", "--db", str(fixture_db), "--topics", "sahra", "--out", str(tmp_path)]) == 2
    assert "unknown topic sahra" in capsys.readouterr().err


# --- the page -----------------------------------------------------------------------------

class FakeRenderer:
    def __init__(self, chromium):
        self.chromium = chromium


def test_briefing_page(fixture_db, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("MONITOR_DB", str(fixture_db))
    monkeypatch.setenv("MONITOR_MODEL", "hashing-512")
    monkeypatch.setenv("MONITOR_CHROMIUM", "/nonexistent/chromium")
    at = open_page(AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=180), "briefing")
    no_errors(at)
    # Default: the last quarter (91 days) up to the newest article, 2024-05-20.
    current, previous = tones("2024-02-20", "2024-05-20"), tones("2023-11-21", "2024-02-19")
    assert next(m.value for m in at.metric if m.label == "Mean tone") == B.signed(statistics.mean(current))
    text = html.unescape("\n".join(m.value for m in at.markdown))  # statements are shown entity-escaped
    assert f"Tone rose from {B.signed(statistics.mean(previous))} to {B.signed(statistics.mean(current))}" in text
    timeline = figure_titled(at, "Tone of Morocco–France relations")
    line = next(t for t in timeline["data"] if t.get("name") == "Mean tone")
    assert sum(values(line["y"])) != 0
    assert "2023-11-21 → 2024-05-20" in timeline["layout"]["title"]["subtitle"]["text"]
    assert any('dir="rtl"' in m.value and "الصحراء" in m.value for m in at.markdown)  # evidence, right to left
    assert any("sudo apt-get install -y chromium" in i.value for i in at.info)  # downloads explain; page works

    # With Chromium: the button renders once; the result is kept across reruns (no second export).
    calls = []

    def fake_export(b, charts, chromium=None, renderer=None):
        assert isinstance(renderer, FakeRenderer)  # the server's warm browser is used
        calls.append((b.name, [c.name for c in charts]))
        return render.Export({f"{b.slug}-tone.png": b"png", f"{b.slug}.png": b"png", f"{b.slug}.pdf": b"%PDF",
                              f"{b.slug}.md": b"md"}, 1.25)

    monkeypatch.setenv("MONITOR_CHROMIUM", sys.executable)  # any executable file passes the check
    monkeypatch.setattr(render, "export_briefing", fake_export)
    monkeypatch.setattr(render, "Renderer", FakeRenderer)
    at.run().button(key="brief_prepare").click().run()
    no_errors(at)
    assert calls == [("20 Feb – 20 May 2024", ["tone", "press-origin", "security-migration", "topic-mix"])]
    labels = lambda: [d.proto.label for d in at.get("download_button")]  # noqa: E731
    assert labels() == ["Markdown summary", "Chart: tone.png", "Whole briefing (PNG)", "Whole briefing (PDF)"]
    at.run()
    assert len(calls) == 1 and "Whole briefing (PDF)" in labels()
    assert any("Exported in 1.2 s" in c.value for c in at.caption)

    # Another period: its own briefing, and the old downloads are gone.
    at.segmented_control(key="brief_period").set_value("Custom").run()
    at.date_input(key="brief_dates").set_value((dt.date(2024, 4, 1), dt.date(2024, 6, 30))).run()
    no_errors(at)
    assert any("Q2 2024" in h.value for h in at.subheader)
    assert labels() == ["Markdown summary"]
