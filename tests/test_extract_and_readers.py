import json

import pytest
from hypothesis import HealthCheck, example, given, settings as hsettings, strategies as st

from monitor.extract import article_from_html, article_from_text, strip_boilerplate
from monitor.models import Article, Failure
from monitor.readers import decode_bytes, read_path, UnreadableFile

from tests.conftest import SEED

ARABIC_PAGE = """مباحثات أمنية بين الرباط وباريس

الرباط – المغرب

29 نوفمبر 2026

بحث وزير الداخلية المغربي مع نظيره الفرنسي سبل تعزيز التعاون الأمني ومكافحة شبكات تهريب البشر بين البلدين.

وأكد الجانبان على أهمية تبادل المعلومات لمواجهة الإرهاب والجريمة المنظمة.

شاهد أيضاً

عنوان مقال آخر لا علاقة له بالموضوع

اترك تعليقاً

لن يتم نشر عنوان بريدك الإلكتروني. الحقول الإلزامية مشار إليها بـ *
"""


def test_plain_text_article_title_dateline_date_and_footer():
    article = article_from_text(ARABIC_PAGE, origin="x.txt")
    assert article.title == "مباحثات أمنية بين الرباط وباريس"
    assert article.lang == "ar"
    assert article.published.isoformat() == "2026-11-29"
    assert article.text.startswith("بحث وزير الداخلية")
    for footer in ("شاهد أيضاً", "اترك تعليقاً", "عنوان مقال آخر", "بريدك"):
        assert footer not in article.text


@pytest.mark.skipif(not SEED.exists(), reason="shared seed not present")
def test_seed_file_footer_removed():
    article = article_from_text(SEED.read_text(encoding="utf-8"))
    assert article.lang == "ar" and article.published is None
    assert "شاهد أيضاً" not in article.text and "اترك تعليقاً" not in article.text
    assert "نبيل بنعبد الله" not in article.text
    assert article.text.rstrip().endswith("الإرهاب والهجرة.")


@pytest.mark.parametrize("footer", [
    "Lire aussi\nLe Maroc et la France signent un accord\n\nLaisser un commentaire\nVotre adresse e-mail ne sera pas publiée.",
    "Related\nAnother headline\nLeave a Reply\nYour email address will not be published.",
    "Read also: Morocco and Spain sign a deal",
])
def test_footers_in_french_and_english(footer):
    body = "Title\n\nThe two ministers met in Rabat to discuss security cooperation.\n\n"
    cleaned = strip_boilerplate(body + footer)
    assert cleaned.endswith("security cooperation.")


def test_inline_read_also_keeps_following_paragraphs():
    long_para = "Le ministre a ensuite détaillé " + "les mesures prévues par les deux pays " * 6
    text = f"Titre\n\nPremier paragraphe.\n\nLire aussi : Un autre article\n\n{long_para}\n\nFin."
    cleaned = strip_boilerplate(text)
    assert "Un autre article" not in cleaned
    assert long_para.strip() in cleaned and cleaned.endswith("Fin.")


def test_hostile_html_keeps_text_only():
    html = """<html><head><title>Paris et Rabat</title><script>alert('x')</script></head>
    <body><nav>Menu Accueil Contact</nav><article><h1>Paris et Rabat renforcent leur coopération</h1>
    <p>Les ministres de l'Intérieur du Maroc et de la France ont signé un accord de coopération
    sécuritaire pour lutter contre les réseaux de passeurs et le terrorisme.</p>
    <p onclick="steal()">Ils se reverront en décembre à Paris pour faire le point sur la migration.</p>
    <img src=x onerror="alert(1)"><iframe src="http://evil"></iframe></article>
    <footer>Laisser un commentaire</footer></body></html>"""
    article = article_from_html(html, origin="page.html")
    assert article is not None and article.lang == "fr"
    assert "coopération" in article.text
    for bad in ("<", "script", "alert", "onerror", "steal", "iframe"):
        assert bad not in article.text and bad not in article.title


@pytest.mark.parametrize("encoding,text", [
    ("cp1256", "التعاون الأمني بين المغرب وفرنسا يمثل إحدى الركائز الأساسية للعلاقات الثنائية بين البلدين"),
    ("cp1252", "La coopération sécuritaire entre le Maroc et la France a été renforcée à Rabat, déclarent les ministres."),
    ("utf-8-sig", "Security cooperation between Morocco and France was strengthened in Rabat."),
    ("utf-16", "Sécurité et migration : les ministres français et marocain se sont réunis à Rabat."),
])
def test_encodings_detected(encoding, text):
    assert decode_bytes(text.encode(encoding)) == text


@pytest.mark.parametrize("data,reason", [
    (b"", "empty"),
    (b"   \n\n", "empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, "binary"),
])
def test_unreadable_bytes(data, reason):
    with pytest.raises(UnreadableFile, match=reason):
        decode_bytes(data)


def test_jsonl_broken_line_named_and_rest_read(tmp_path):
    path = tmp_path / "batch.jsonl"
    good = {"title": "Rabat et Paris", "text": "Les deux pays ont signé un accord de coopération sécuritaire."}
    path.write_text(json.dumps(good) + "\n{broken\n" + json.dumps({"title": "x"}) + "\n"
                    + json.dumps(good | {"url": "https://e.x/2"}) + "\n", encoding="utf-8")
    items = list(read_path(path))
    failures = [i for i in items if isinstance(i, Failure)]
    assert [i.line for i in failures] == [2, 3]
    assert "broken JSON" in failures[0].reason and str(path) in str(failures[0])
    assert sum(isinstance(i, Article) for i in items) == 2


def test_csv_export_read(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text("title;text;published;source;lang\n"
                    "Visas;La France réduit le nombre de visas accordés aux Marocains, a annoncé Paris.;2021-09-28;Le Monde;fr\n",
                    encoding="utf-8")
    [article] = list(read_path(path))
    assert article.published.isoformat() == "2021-09-28" and article.source == "Le Monde" and article.lang == "fr"


def test_csv_without_text_column(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    [failure] = list(read_path(path))
    assert isinstance(failure, Failure) and "no text column" in failure.reason


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=3000), suffix=st.sampled_from([".txt", ".html", ".jsonl", ".csv", ".bin"]))
@example(data=b"\r\x01", suffix=".csv")  # a lone carriage return once broke the CSV header
def test_readers_never_crash_on_random_bytes(tmp_path, data, suffix):
    path = tmp_path / f"random{suffix}"
    path.write_bytes(data)
    for item in read_path(path):
        assert isinstance(item, (Article, Failure))
        if isinstance(item, Failure):
            assert item.reason and str(path) in item.origin


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.one_of(
    st.text(max_size=80),
    st.dictionaries(st.sampled_from(["title", "text", "published", "url", "lang", "id"]),
                    st.one_of(st.text(max_size=60), st.integers(), st.none()), max_size=6).map(json.dumps),
), max_size=12))
def test_jsonl_reader_survives_malformed_records(tmp_path, lines):
    path = tmp_path / "records.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    for item in read_path(path):
        assert isinstance(item, (Article, Failure))
