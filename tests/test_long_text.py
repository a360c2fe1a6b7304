"""Display words and the long-text rendering: contractions stay one word everywhere explanations are aligned,
and `render.text_html` shows a text once with its paragraphs, every word escaped."""
from __future__ import annotations

import numpy as np

from core.base import simple_tokenize
from core.explain.attribution import align_to_words, word_spans
from core.explain.render import text_html

TEXT = "It isn't John's <b>fault</b>.\n\nThe dogs' owner said l’été was fine."


def test_contractions_and_possessives_are_one_word():
    words = simple_tokenize(TEXT)
    assert "isn't" in words and "John's" in words and "l’été" in words
    assert words[words.index("dogs") + 1] == "'"  # a trailing apostrophe is punctuation
    assert [TEXT[a:b] for a, b in word_spans(TEXT)] == words


def test_word_pieces_align_onto_contractions():
    pieces = ["[CLS]", "it", "isn", "'", "t", "john", "'", "s", "[SEP]"]
    values = [9.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 9.0]
    words, v = align_to_words(pieces, values, TEXT)
    assert v[words.index("isn't")] == 9.0 and v[words.index("John's")] == 18.0 and v[words.index("It")] == 1.0


def test_tfidf_contributions_keep_contractions_together():
    from core.data import Split, TextDataset
    from core.models import tfidf_fit

    ds = TextDataset(name="t", labels=["a", "b"], train=Split(["isn't good", "is great"] * 10, np.array([0, 1] * 10)),
                     validation=Split(["isn't"], np.array([0])), test=Split(["great"], np.array([1])))
    model, _ = tfidf_fit.fit(ds, {"analyzer": "word", "word_ngram_max": 1})
    tokens = [t for t, _ in model.contributions("It isn't great", 0)]
    assert tokens == ["It", "isn't", "great"] == model.tokenize("It isn't great")


def test_transformer_words_keep_contractions_together():
    from core.models.transformer import split_words, text_words
    from tests.tiny_bert import tiny_tokenizer

    tok = tiny_tokenizer()
    enc, pieces, words, index = split_words(tok, "the team isn't new", 32)
    assert "'" in pieces  # BERT splits the contraction into three pieces ...
    assert text_words(tok, pieces, words, index) == ["the", "team", "isn't", "new"]  # ... shown as one word


def test_text_html_keeps_paragraphs_and_escapes_every_word():
    html = text_html(TEXT, ["fault", "isn't"], [1.0, -0.5], inline=True, max_height=300)
    assert html.count('class="tokens text-chips"') == 1
    assert "<b>" not in html and "&lt;b&gt;" in html
    assert "<br><br>" in html and "max-height:300px" in html
    assert html.count('class="tok"') == 2  # only coloured words are chips
    assert ">isn&#x27;t</span>" in html
    plain = text_html("a\nb <i>", None)
    assert "<br>" in plain and "&lt;i&gt;" in plain and 'class="tok"' not in plain and "max-height" not in plain


def test_text_html_is_light_for_a_long_text():
    text = "\n\n".join(["The committee isn't sure the bank's plan will work."] * 500)  # ~26,000 characters
    words = simple_tokenize(text)
    html = text_html(text, words, np.where(np.array(words) == "bank's", 1.0, 0.0), inline=True)
    assert html.count('class="tok"') == 500 and len(html) < 20 * len(text)
