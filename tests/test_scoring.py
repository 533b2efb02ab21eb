"""Scoring: the selector's predictions are blended into the main model's, sentence by sentence."""

import numpy as np
import pytest

from monitor.embed import HashingEmbedder
from monitor.models import Article
from monitor.pipeline import Scorer, article_sentences
from monitor.scoring import UNPAIRED_RELEVANCE, SentencePredictions
from monitor.settings import Settings
from monitor.text import split_sentences

ARTICLE = Article(
    title="Paris et Rabat relancent leur coopération sécuritaire",
    text="Les deux ministres ont signé un accord contre les réseaux de passeurs. "
         "Ils ont promis de renforcer l'échange de renseignements. Le temps était pluvieux à Rabat.",
    lang="fr",
)

class FakeHeads:
    """A stand-in for scoring.Heads: predict returns predictions(n) for n sentences; no tone memory."""
    model_name = "fixed"

    def __init__(self, topic_keys: list[str], predictions):
        self.topic_keys, self._predictions = topic_keys, predictions

    def predict(self, X, lang):
        return self._predictions(len(X))

    def neighbours(self, X, lang):
        return [[] for _ in X]



@pytest.fixture(scope="module")
def scorers(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")

    def make(weight):
        settings = Settings(cache_dir=cache, model="hashing-512", selector_model="hashing-256",
                            selector_weight=weight, max_scored_sentences=6)
        return Scorer(settings, embedder=HashingEmbedder(512), selector=HashingEmbedder(256))

    return make(0.0), make(0.4)


def test_blend_is_the_weighted_mean_of_both_heads(scorers):
    plain, blended = scorers
    sentences = article_sentences(ARTICLE)
    main, fast = plain.embedder, plain.selector
    p1 = plain.heads(main).predict(main.encode(sentences), "fr")
    p2 = plain.heads(fast).predict(fast.encode(sentences), "fr")

    alone = plain.score_one(ARTICLE).score
    mixed = blended.score_one(ARTICLE).score
    tones = lambda s: np.array([e["tone"] for e in sorted(s.sentence_scores, key=lambda e: e["position"])])  # noqa: E731
    np.testing.assert_allclose(tones(alone), p1.tone, atol=1e-3)
    np.testing.assert_allclose(tones(mixed), 0.6 * p1.tone + 0.4 * p2.tone, atol=1e-3)
    assert not np.allclose(p1.tone, p2.tone, atol=1e-2)  # the two models disagree: the blend shows
    assert alone.method.endswith("/hashing-512")
    assert mixed.method.endswith("/hashing-512+hashing-256:0.4")


def test_heads_survive_the_shipped_format(scorers, tmp_path):
    """Heads written as arrays (what ships under data/training/heads) predict exactly as trained,
    and a Scorer with a fresh cache uses them instead of training."""
    plain, _ = scorers
    embedder = plain.embedder
    settings = plain.settings.with_(training_dir=tmp_path / "training", cache_dir=tmp_path / "cache")
    (tmp_path / "training").mkdir()
    for path in plain.settings.training_dir.glob("*.jsonl"):
        (tmp_path / "training" / path.name).write_bytes(path.read_bytes())
    writer = Scorer(settings, embedder=embedder, use_selector=False)
    writer._heads[embedder.name] = plain.heads(embedder)
    shipped = writer.write_shipped_heads(embedder)

    class NoTraining(HashingEmbedder):
        def encode(self, texts):
            raise AssertionError("trained (embedded the training statements) instead of using the shipped heads")

    reader = Scorer(settings, embedder=NoTraining(embedder.dim), use_selector=False)
    loaded = reader.heads(reader.embedder)
    X = embedder.encode(article_sentences(ARTICLE, 10))
    a, b = plain.heads(embedder).predict(X, "fr"), loaded.predict(X, "fr")
    for field in ("relevance", "tone", "neutral", "topics"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert len(loaded.relevance) == len(loaded.tone) == HashingEmbedder.network_budget[0]
    assert len(loaded.tone_memory[1]) == len(plain.heads(embedder).tone_memory[1]) > 0
    assert loaded.topic_keys == plain.heads(embedder).topic_keys

    # Other training data: the shipped heads no longer apply and are not used.
    with open(tmp_path / "training" / "extra.jsonl", "w") as f:
        f.write('{"text": "Rabat et Paris signent un accord.", "lang": "fr", "relevant": true, "tone": 1, '
                '"topic": "economy"}\n')
    assert Scorer(settings, embedder=embedder, use_selector=False).shipped_heads(embedder) is None
    assert shipped.exists()


def test_evidence_names_the_nearest_labelled_statements(hashing_scorer):
    """A training statement scored as an article finds itself first among its evidence's neighbours,
    with its own label: the tone memory is traceable to the statements behind it."""
    statement = next(it for it in hashing_scorer.training
                     if it.relevant and it.tone == -1 and it.lang == "en" and len(split_sentences(it.text)) == 1)
    score = hashing_scorer.score_one(Article(title="", text=statement.text, lang="en")).score
    [first, *_] = score.evidence[0].neighbours
    assert first["text"] == statement.text and first["label"] == "tense" and first["similarity"] > 0.99
    assert len(score.evidence[0].neighbours) == 3


def test_nearest_labels_follow_the_closest_training_statements():
    from monitor.scoring import nearest_labels

    memory = np.eye(4, dtype=np.float32)  # four statements, classes cooperative, cooperative, neutral, tense
    labels = np.array([0, 0, 1, 2], dtype=np.int8)
    near_first = np.array([[0.9, 0.1, 0.0, 0.0]]) / np.linalg.norm([0.9, 0.1])
    shares = nearest_labels(near_first, memory, labels, k=4, temperature=0.05)
    assert shares.shape == (1, 3) and shares.sum() == pytest.approx(1.0)
    assert shares[0, 0] > 0.99  # both cooperative neighbours are the nearest
    near_tense = np.array([[0.0, 0.0, 0.3, 0.95]]) / np.linalg.norm([0.3, 0.95])
    assert nearest_labels(near_tense, memory, labels, k=2)[0].argmax() == 2
    # k larger than the memory, and a flat temperature: the plain label shares
    np.testing.assert_allclose(nearest_labels(near_first, memory, labels, k=10, temperature=1e6)[0], [0.5, 0.25, 0.25],
                               atol=1e-6)


def test_shipped_heads_are_current():
    """The heads shipped for the bundled models were trained on today's data/training with
    today's method; if not, a fresh install trains them (slow): run `python -m monitor train --bundle`."""
    from monitor.pipeline import bundle_path, heads_version
    from monitor.taxonomy import load_taxonomy, load_training

    settings = Settings()
    version = heads_version(load_training(settings.training_dir, load_taxonomy(settings.taxonomy_path)))
    for model in (settings.model, settings.selector_model):
        path = bundle_path(settings.training_dir / "heads", model)
        assert path.exists(), f"{path} is missing: run `python -m monitor train --bundle`"
        with np.load(path) as arrays:
            assert str(arrays["version"]) == version, f"{path} is stale: run `python -m monitor train --bundle`"


@pytest.mark.parametrize("centre", [True, False])
def test_consistency_gradient_matches_finite_differences(centre):
    """The translation pull's gradient is that of weight · mean ||c_i − group mean||² (c: the logits,
    centred per row for a softmax)."""
    from monitor.scoring import _consistency_gradient

    rng = np.random.default_rng(0)
    groups = np.array(["a", "a", "a", "b", "b", "c"])  # "c" alone: no pull on it
    logits = rng.normal(size=(6, 3))
    weight, n = 0.7, len(groups)

    def penalty(z):
        c = z - z.mean(axis=1, keepdims=True) if centre else z
        return weight / n * sum(((c[groups == g] - c[groups == g].mean(axis=0)) ** 2).sum() for g in "ab")

    got = _consistency_gradient(groups, weight, n, centre)(logits)
    numeric = np.zeros_like(logits)
    for i in range(6):
        for k in range(3):
            step = np.zeros_like(logits)
            step[i, k] = 1e-6
            numeric[i, k] = (penalty(logits + step) - penalty(logits - step)) / 2e-6
    assert np.allclose(got, numeric, atol=1e-6)
    assert not got[5].any()


def test_consistency_pulls_translations_to_the_same_tone():
    """Each statement exists in three "languages" that add their own offset; in training the offset
    of one language leans towards a tone. With the pull, the networks score a new statement's
    three versions closer together than without it."""
    from monitor.scoring import fit_tone_networks, probabilities

    rng = np.random.default_rng(1)
    d, statements = 32, 150
    direction, offsets = rng.normal(size=d), rng.normal(size=(3, d)) * 0.8

    def versions(k):
        meaning = rng.normal(size=(k, d))
        labels = np.sign(meaning @ direction).astype(int)
        rows = np.concatenate([meaning + offsets[lang] for lang in range(3)])
        return rows, np.tile(labels, 3), np.tile(np.arange(k), 3)

    X, y, groups = versions(statements)
    y[2 * statements:][rng.random(statements) < 0.3] = 1  # language 3 reads more cooperative in training
    test_X, _, test_groups = versions(60)

    def spread(consistency):
        networks = fit_tone_networks(X, y, groups, seeds=1, hidden=32, steps=200, consistency=consistency)
        probs = probabilities(networks, test_X)
        tone = (probs[:, 0] - probs[:, 2]).reshape(3, -1)
        return float((tone.max(axis=0) - tone.min(axis=0)).mean())

    assert spread(1.0) < 0.5 * spread(0.0)


@pytest.mark.parametrize("multi_label", [False, True])
def test_networks_pull_translations_to_the_same_class(multi_label):
    """fit_networks over any number of classes (relevance has two; topics are multi-label): a language
    offset that leans towards one class in training moves a statement's predicted class between its
    versions; the pull makes the three versions agree more often."""
    from monitor.scoring import fit_networks, probabilities

    rng = np.random.default_rng(2)
    d, statements, classes = 32, 200, 4
    centres, offsets = rng.normal(size=(classes, d)), rng.normal(size=(3, d)) * 0.9

    def versions(k):
        labels = rng.integers(0, classes, k)
        meaning = centres[labels] + rng.normal(size=(k, d)) * 1.2
        rows = np.concatenate([meaning + offsets[lang] for lang in range(3)])
        return rows, np.tile(labels, 3), np.tile(np.arange(k), 3)

    X, y, groups = versions(statements)
    y[2 * statements:][rng.random(statements) < 0.3] = 0  # language 3 reads as class 0 in training
    test_X, _, _ = versions(100)

    def agreement(consistency):
        networks = fit_networks(X, y[:, None] == np.arange(classes), groups, seeds=1, hidden=32, steps=200,
                                consistency=consistency, multi_label=multi_label)
        probs = probabilities(networks, test_X, multi_label)
        assert np.allclose(probs.sum(axis=1), 1.0) != multi_label
        top = probs.argmax(axis=1).reshape(3, -1)
        return float(((top[0] == top[1]) & (top[1] == top[2])).mean())

    assert agreement(5.0) > agreement(0.0) + 0.05



def test_multi_label_networks_give_a_row_every_topic_it_is_about():
    """Topic networks are multi-label: a statement about two topics gets a high probability for both
    (a softmax would split one unit of probability between them), and one about none gets neither."""
    from monitor.scoring import fit_networks, probabilities

    rng = np.random.default_rng(3)
    d, topics = 24, 4
    centres = rng.normal(size=(topics, d)) * 2

    def rows(k):
        Y = rng.random((k, topics)) < 0.3
        return Y @ centres + rng.normal(size=(k, d)) * 0.5, Y

    X, Y = rows(600)
    networks = fit_networks(X, Y, seeds=1, hidden=32, steps=300, multi_label=True)
    test_X, test_Y = rows(200)
    probs = probabilities(networks, test_X, multi_label=True)
    two = test_Y.sum(axis=1) == 2
    assert two.sum() >= 20
    assert ((probs > 0.5) == test_Y).all(axis=1).mean() > 0.8
    assert (probs[two][test_Y[two]] > 0.5).mean() > 0.9


def test_select_sentences_keeps_the_title_and_k_sentences_in_reading_order():
    from monitor.scoring import select_sentences

    relevance = np.array([0.99, 0.1, 0.9, 0.2, 0.95, 0.3, 0.8, 0.05])
    # The title is among the most relevant: it must not take the place of another sentence.
    assert select_sentences(relevance, 4) == [0, 2, 4, 6]
    assert select_sentences(np.array([0.0, 0.5, 0.9, 0.7]), 2) == [0, 2]
    assert select_sentences(relevance[:3], 4) == [0, 1, 2]


def test_relevant_share_counts_the_readable_articles(hashing_scorer, write_jsonl):
    from monitor.evaluation import relevant_share

    path = write_jsonl("real.jsonl", [
        {"title": "Paris et Rabat signent trois accords", "text": "La France et le Maroc ont signé trois accords.",
         "lang": "fr"},
        {"title": "Football", "text": "The club signed a striker on Tuesday.", "lang": "en"},
    ])
    with path.open("a", encoding="utf-8") as f:
        f.write("{broken json\n")
    judged, total = relevant_share(hashing_scorer, path)
    assert total == 2 and 0 <= judged <= 2


def test_cli_evaluate_unlabelled_names_a_missing_path(tmp_path, capsys):
    from monitor import cli

    assert cli.main(["evaluate", "--unlabelled", str(tmp_path / "absent.jsonl")]) == 2
    assert "absent.jsonl: no such file or folder" in capsys.readouterr().err


def test_unscored_sentences_count_for_topics_only():
    """A long article's sentences that the main model did not score still count for its topics
    (through the selector's predictions), weighted by relevance; tone and evidence stay with the
    scored sentences."""
    from monitor.scoring import score_sentences

    heads = FakeHeads(["security", "migration"], lambda n: SentencePredictions(
        np.array([0.95, 0.9]), np.array([0.8, 0.6]), np.array([0.1, 0.2]), np.array([[0.9, 0.05], [0.85, 0.1]])))
    sentences = ["Security talks", "Joint security training"]
    alone = score_sentences(sentences, np.zeros((2, 4)), heads, "en")
    relevant_other = SentencePredictions(np.array([0.9, 0.1]), np.zeros(2), np.zeros(2), np.array([[0.1, 0.9], [0.0, 1.0]]))
    both = score_sentences(sentences, np.zeros((2, 4)), heads, "en", unscored=relevant_other)
    assert both.topics["migration"] > alone.topics["migration"] + 0.2
    assert both.top_topic == "security"
    assert both.tone == alone.tone and [e.text for e in both.evidence] == [e.text for e in alone.evidence]
    irrelevant_other = SentencePredictions(np.array([0.1]), np.zeros(1), np.zeros(1), np.array([[0.0, 1.0]]))
    assert score_sentences(sentences, np.zeros((2, 4)), heads, "en", unscored=irrelevant_other).topics \
        == alone.topics


def _names(*codes: str):
    """StateNames from codes such as "m", "f", "mf", "k" or "" (Morocco, France, "the Kingdom", none)."""
    from monitor.text import StateNames

    return [StateNames("m" in c, "f" in c, "k" in c) for c in codes]


def test_bilateral_sentences_name_a_state_near_where_both_are_named():
    from monitor.scoring import bilateral_sentences

    # France in the title, Morocco in the sixth sentence: the title is too far; France again in the seventh
    assert bilateral_sentences(_names("f", "", "", "", "", "", "m", "f", "", "", "")).tolist() == \
        [False] * 6 + [True, True] + [False] * 3
    # two sentences apart at most, and a sentence naming neither state is never one
    assert bilateral_sentences(_names("f", "", "m", "", "")).tolist() == [True, False, True, False, False]
    assert not bilateral_sentences(_names("f", "", "", "m", "")).any()
    assert bilateral_sentences(_names("mf", "", "", "", "")).tolist() == [True, False, False, False, False]
    assert bilateral_sentences(_names("m", "", "f")).tolist() == [True, False, True]  # shorter than the window
    assert not bilateral_sentences(_names("m", "m", "", "m")).any()  # France never named
    assert not bilateral_sentences(_names("f", "k", "f", "")).any()  # "the Kingdom" of an article not naming Morocco
    assert bilateral_sentences(_names("m", "", "", "", "k", "f")).tolist() == \
        [False] * 4 + [True, True]  # "the Kingdom" stands for Morocco once Morocco is named


def test_cap_to_bilateral_bounds_the_other_sentences_by_the_bilateral_ones():
    from monitor.scoring import RELEVANT_AT, cap_to_bilateral

    relevance = np.array([0.6, 0.95, 0.3, 0.9])
    bilateral = np.array([True, False, False, True])
    assert cap_to_bilateral(relevance, bilateral).tolist() == [0.6, 0.9, 0.3, 0.9]
    capped = cap_to_bilateral(relevance, np.zeros(4, bool))  # the two states never named near each other
    assert capped.max() == UNPAIRED_RELEVANCE < RELEVANT_AT
    assert cap_to_bilateral(relevance[:2], np.zeros(2, bool)).tolist() == [0.6, 0.95]  # a lone statement: unchanged


@pytest.mark.parametrize("text, lang, expected", [
    ("La France et le Maroc ont signé trois accords.", "fr", (1, 1, 0)),
    ("Les deux parties se reverront le mois prochain.", "fr", (0, 0, 0)),
    ("أكد المسؤول المغربي أن المباحثات كانت مثمرة.", "ar", (1, 0, 0)),
    ("تباحث وزيرا الداخلية في ملف الهجرة.", "ar", (0, 0, 0)),
    ("The Elysée said talks would resume.", "en", (0, 1, 0)),
    ("Talks between the union and management resume next week.", "en", (0, 0, 0)),
    ("Rabat a rappelé son ambassadeur.", "de", (1, 0, 0)),  # another language: any of the three lists
    # a news agency, a club, the Maghreb or a prayer is not the state
    ("The minister told Agence France-Presse that the border would stay closed.", "en", (0, 0, 0)),
    ("Le milieu du Paris Saint-Germain a prolongé son contrat.", "fr", (0, 0, 0)),
    ("وقال الوزير لوكالة فرانس برس إن دول المغرب العربي مدعوة إلى التنسيق.", "ar", (0, 0, 0)),
    ("أقيمت صلاة المغرب في المسجد الكبير.", "ar", (0, 0, 0)),
    ("A former Paris Saint-Germain player was named Morocco's coach.", "en", (1, 0, 0)),
    ("قال الوزير لإذاعة فرنسا الدولية إن الرباط ترحب بالمبادرة.", "ar", (1, 0, 0)),
    ("Spain and Morocco signed 20 agreements in Rabat. Sánchez called Morocco a strategic partner.", "en", (1, 0, 0)),
    ("Rabat summoned the French ambassador.", "en", (1, 1, 0)),
    ("Le Maroc a signé avec l'Agence France-Presse un accord de diffusion.", "fr", (1, 0, 0)),  # the agency
    ("وقال مصدر أمني لوكالة الأنباء الفرنسية إن الموقوف مغربي.", "ar", (1, 0, 0)),  # AFP, in Arabic
    ("قال بوريطة إن العلاقات مع باريس ممتازة.", "ar", (1, 1, 0)),
    ("أشاد المغرب بدور المغرب العربي في التنمية.", "ar", (1, 0, 0)),
    ("Paris a salué la décision du Royaume.", "fr", (0, 1, 1)),
    ("Londres et le Royaume-Uni ; le royaume saoudien.", "fr", (0, 0, 0)),
    ("ظلت فرنسا الشريك التجاري الثاني للمملكة.", "ar", (0, 1, 1)),
    ("زار ولي العهد المملكة العربية السعودية والمملكة المتحدة.", "ar", (0, 0, 0)),
    ("The Kingdom of Spain and the United Kingdom.", "en", (0, 0, 0)),
    ("Bourita received Jean-Noël Barrot for talks.", "en", (1, 1, 0)),  # ministers stand for their states
    ("استقبل بوريطة نظيره جان نويل بارو.", "ar", (1, 1, 0)),
    ("Akhannouch opened the colonnade of the new Rabat theatre.", "en", (1, 0, 0)),
    ("The French ambassador inaugurated a centre in Laayoune.", "en", (1, 1, 0)),
    ("The AfD gained seats in the Bundestag, Moroccan media noted.", "en", (1, 0, 0)),
    ("La CGEM et le Medef ont signé une charte.", "fr", (1, 1, 0)),
    ("Le Sénat a voté ; le Sénat américain aussi.", "fr", (0, 1, 0)),
    ("Le Marocain a marqué pour l'Olympique de Marseille.", "fr", (1, 0, 0)),  # a club, not France
    ("Le Sénat américain a voté.", "fr", (0, 0, 0)),
    ("دشن السفير مركزا بالعيون بتمويل فرنسي.", "ar", (1, 1, 0)),
])
def test_state_names_tell_which_state(text, lang, expected):
    from monitor.text import state_names

    assert tuple(int(flag) for flag in state_names(text, lang)) == expected


def test_an_article_naming_the_two_states_far_apart_is_not_relevant(hashing_scorer, monkeypatch):
    every_sentence_relevant = FakeHeads(["economy"], lambda n: SentencePredictions(
        np.full(n, 0.9), np.full(n, 0.5), np.full(n, 0.2), np.full((n, 1), 0.9)))  # and cooperative
    monkeypatch.setitem(hashing_scorer._heads, hashing_scorer.embedder.name, every_sentence_relevant)
    filler = [f"The regional council approved item {n} of the budget." for n in range(5)]
    moroccan = "The Moroccan parliament opened its spring session."
    french = "Separately, France reported record wheat exports."

    def score(sentences):
        article = Article(title="Spring session opens", text=" ".join(sentences), lang="en")
        return hashing_scorer.score_one(article).score

    far = score([moroccan, *filler, french])
    assert not far.relevant and max(e["relevance"] for e in far.sentence_scores) <= UNPAIRED_RELEVANCE
    near = score([*filler, moroccan, french])
    assert near.relevant


def test_a_report_on_morocco_and_spain_is_not_relevant(hashing_scorer):
    text = ("Spain and Morocco signed twenty agreements in Rabat on Thursday. The Spanish prime minister met "
            "his Moroccan counterpart. Both governments praised a new chapter in their relations.")
    score = hashing_scorer.score_one(Article(title="Madrid and Rabat seal deals", text=text, lang="en")).score
    assert not score.relevant
    assert all(e["relevance"] <= UNPAIRED_RELEVANCE for e in score.sentence_scores)


def test_an_article_naming_neither_state_is_not_relevant(hashing_scorer):
    article = Article(title="Talks resume", text="The union and the employer met on Monday. Talks will resume next "
                      "week. Both sides welcomed the progress made on wages.", lang="en")
    score = hashing_scorer.score_one(article).score
    assert not score.relevant and all(e["relevance"] <= UNPAIRED_RELEVANCE for e in score.sentence_scores)


def test_tone_shares_are_the_weighted_class_probabilities():
    from monitor.scoring import tone_class, tone_shares

    # P(cooperative), P(neutral), P(tense) of two sentences: (.7, .2, .1) and (.1, .3, .6)
    shares = tone_shares(np.array([0.6, -0.5]), np.array([0.2, 0.3]), weights=np.array([3.0, 1.0]))
    assert shares == pytest.approx({"cooperative": 0.55, "mixed": 0.225, "tense": 0.225})
    assert sum(shares.values()) == pytest.approx(1.0)
    assert tone_class(shares) == "cooperative"
    # The same tone is mixed when most of the weight says neutral, and cooperative when it does not.
    assert tone_class(tone_shares(np.array([0.3]), np.array([0.6]))) == "mixed"
    assert tone_class(tone_shares(np.array([0.3]), np.array([0.2]))) == "cooperative"
    assert tone_class(tone_shares(np.array([-0.2]), np.array([0.1]))) == "tense"


def test_an_article_between_two_classes_is_flagged_unsure():
    from monitor.scoring import score_sentences

    def fixed_heads(tone, neutral):
        return FakeHeads(["security"], lambda n: SentencePredictions(
            np.full(n, 0.95), np.array(tone), np.array(neutral), np.full((n, 1), 0.9)))

    sentences = ["Rabat and Paris sign a deal", "The visa row goes on"]
    split = score_sentences(sentences, np.zeros((2, 4)), fixed_heads([0.8, -0.75], [0.1, 0.15]), "en")
    assert abs(split.shares["cooperative"] - split.shares["tense"]) < 0.1 and split.low_confidence
    clear = score_sentences(sentences, np.zeros((2, 4)), fixed_heads([0.8, 0.7], [0.1, 0.15]), "en")
    assert clear.tone_class == "cooperative" and not clear.low_confidence
    assert clear.tone == pytest.approx(clear.shares["cooperative"] - clear.shares["tense"], abs=1e-3)


def test_a_second_topic_is_learnt_as_present_but_below_the_main_one(tmp_path):
    import json

    from monitor.scoring import SECOND_TOPIC_TARGET, fit_networks, probabilities
    from monitor.taxonomy import load_taxonomy, load_training, training_fingerprint

    settings = Settings()
    taxonomy = load_taxonomy(settings.taxonomy_path)
    rows = [{"text": "Joint raids on smuggling networks", "lang": "en", "relevant": True, "tone": 1,
             "topic": "security", "topic2": "migration"},
            {"text": "A visa row", "lang": "en", "relevant": True, "tone": -1, "topic": "visas", "topic2": "nope"}]
    (tmp_path / "t.jsonl").write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    items = [it for it in load_training(tmp_path, taxonomy) if not it.group.startswith("taxonomy:")]
    assert [(it.topic, it.topic2) for it in items] == [("security", "migration"), ("visas", None)]
    (tmp_path / "t.jsonl").write_text(json.dumps({**rows[0], "topic2": None}), encoding="utf-8")
    assert training_fingerprint(items[:1]) != training_fingerprint(load_training(tmp_path, taxonomy)[:1])

    # Networks fitted on such targets give the second topic about SECOND_TOPIC_TARGET.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 16)).astype(np.float32)
    Y = np.zeros((60, 3), dtype=np.float32)
    Y[:30, 0], Y[:30, 1], Y[30:, 2] = 1.0, SECOND_TOPIC_TARGET, 1.0
    X[:30, 0] += 3.0
    P = probabilities(fit_networks(X, Y, seeds=1, steps=300, multi_label=True), X, multi_label=True)
    assert P[:30, 0].mean() > 0.8 and 0.3 < P[:30, 1].mean() < 0.7 and P[30:, 1].mean() < 0.2


def test_the_title_weighs_twice_in_an_article():
    from monitor.scoring import FIRST_SENTENCE_WEIGHT, score_sentences

    title_warm_body_cool = FakeHeads(["economy"], lambda n: SentencePredictions(  # equally relevant sentences
        np.full(n, 0.9), np.array([0.8] + [-0.4] * (n - 1)), np.full(n, 0.1), np.full((n, 1), 0.9)))
    article = score_sentences(["Title", "Body one", "Body two"], np.zeros((3, 4)), title_warm_body_cool, "en")
    weight = FIRST_SENTENCE_WEIGHT
    assert article.tone == pytest.approx((weight * 0.8 - 0.8) / (weight + 2), abs=1e-4)
    statement = score_sentences(["Title", "Body one"], np.zeros((2, 4)), title_warm_body_cool, "en")
    assert statement.tone == pytest.approx(0.2, abs=1e-4)  # a statement's sentences weigh alike


def test_every_relevant_labelled_text_has_a_bilateral_sentence():
    """The naming rule must not drop relevant articles: every relevant training or evaluation text of three
    sentences or more names the two states close together somewhere (scoring.cap_to_bilateral)."""
    from monitor.evaluation import load_items
    from monitor.scoring import bilateral_sentences
    from monitor.taxonomy import load_taxonomy, load_training
    from monitor.text import state_names

    settings = Settings()
    training = load_training(settings.training_dir, load_taxonomy(settings.taxonomy_path))
    texts = [(it.text, it.lang) for it in training if it.relevant]
    texts += [(f"{it.get('title', '')}\n{it['text']}".strip(), it["lang"]) for it in load_items() if it["relevant"]]
    long = [(split_sentences(text), lang) for text, lang in texts if len(split_sentences(text)) >= 3]
    assert len(long) > 200
    missed = [" ".join(sents)[:80] for sents, lang in long
              if not bilateral_sentences([state_names(s, lang) for s in sents]).any()]
    assert not missed


def test_statements_only_for_relevance_change_the_relevance_heads_alone():
    """They are left out of the language centres, so the tone and topic heads train on exactly the same
    inputs with or without them (taxonomy.Labelled.only_for_relevance)."""
    from monitor.scoring import Heads
    from monitor.taxonomy import Labelled

    rng = np.random.default_rng(0)
    base = [Labelled(f"s{i}", ("ar", "fr", "en")[i % 3], i % 4 != 0, (1, 0, -1)[i % 3] if i % 4 else None,
                     ("security", "economy")[i % 2] if i % 4 else None, f"g{i // 3}") for i in range(90)]
    extra = [Labelled(f"x{i}", ("ar", "fr", "en")[i % 3], False, None, None, f"x{i // 3}", None, True)
             for i in range(30)]
    X = rng.normal(size=(120, 8)).astype(np.float32)
    X[90:] += 3.0  # far from the rest: they would move the centres if they counted
    keys = ["security", "economy"]
    alone = Heads.fit(X[:90], base, keys, "fake", network_budget=(1, 5))
    both = Heads.fit(X, base + extra, keys, "fake", network_budget=(1, 5))
    for lang in ("ar", "fr", "en", "*"):
        assert np.allclose(alone.language_means[lang], both.language_means[lang])
    for a, b in zip(alone.tone + alone.topics, both.tone + both.topics):
        assert all(np.array_equal(p, q) for p, q in zip(a, b))
    assert not all(np.array_equal(p, q) for p, q in zip(alone.relevance[0], both.relevance[0]))
