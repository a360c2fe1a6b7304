"""HTML rendering escapes every user string; the case file is self-contained; plot builders label things."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core import plots_explain as PE
from core.explain.attribution import TokenAttribution
from core.explain.render import LEGEND, Safe, attribution_html, case_file_html, colour, tokens_html

EVIL = "<script>alert(1)</script>"


def test_tokens_are_escaped_and_coloured():
    out = tokens_html(["good", EVIL, 'say "hi" & <b>'], [0.5, -1.0, 0.0])
    assert EVIL not in out and "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert "<b>" not in out and "&quot;hi&quot;" in out and "&amp;" in out
    assert "rgba(47,111,176,0.425)" in out  # blue (towards the class), half of the max
    assert "rgba(192,80,77,0.850)" in out  # red (away from it), full
    assert 'title="+0.5000"' in out
    assert isinstance(out, Safe)
    with pytest.raises(ValueError):
        tokens_html(["a"], [1.0, 2.0])
    assert colour(float("nan"), 1.0) == "rgba(0,0,0,0)"


def test_case_file_escapes_everywhere_and_is_self_contained():
    attr = TokenAttribution(["hello", EVIL], [0.2, 0.8], 0.1, 1, EVIL)
    fig = PE.attribution_bar(attr, title=EVIL, class_name=EVIL)
    table = pd.DataFrame({EVIL: [EVIL, "x"], "score": [1.0, 2.0]})
    html = case_file_html(EVIL, [
        (EVIL, EVIL),
        ("attribution", attribution_html(attr, class_name=EVIL)),
        ("raw attribution", attr),
        ("figure", fig),
        ("second figure", PE.attention_heatmap(np.eye(2), [EVIL, "b"], title=EVIL)),
        ("table", table),
        ("facts", {EVIL: EVIL}),
        ("list", [EVIL, None, 3.5]),
    ], meta={"model": EVIL})
    assert EVIL not in html
    assert "alert(1)" in html  # the text is there, just inert
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 8
    # plotly.js inlined exactly once, and no external resources
    assert html.count("plotly.js v") <= 2 and "cdn.plot.ly" not in html.split("<body>")[0]
    assert 'src="http' not in html and "<link" not in html
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")


def test_plot_builders():
    tokens = ["[CLS]", "the", "the", "goal", "[SEP]"]
    m = np.full((5, 5), 0.2)
    heat = PE.attention_heatmap(m, tokens, title="Layer 1")
    assert heat.layout.xaxis.title.text and heat.layout.yaxis.title.text
    assert list(heat.layout.xaxis.ticktext) == tokens  # repeated tokens keep their own column
    with pytest.raises(ValueError):
        PE.attention_heatmap(m, tokens[:3])
    bar = PE.attribution_bar(tokens, [0.0, 0.1, -0.3, 0.9, 0.0], top=3)
    assert list(bar.layout.yaxis.ticktext) == ["the", "the", "goal"]  # largest |value| drawn at the top
    assert bar.data[0].marker.color[-1] == PE.POSITIVE
    texts = ["x" * 500, EVIL, "short"]
    sc = PE.embedding_scatter(np.zeros((3, 2)), texts, ["a", "b", "a"], hover={"pred": ["b", "b", "a"]},
                              highlight=[True, False, False], highlight_name="differs", title="map")
    assert len(sc.data) == 3 and sc.layout.xaxis.title.text
    hovers = [h for tr in sc.data for h in tr.text]
    assert all(EVIL not in h for h in hovers)
    assert max(len(h) for h in hovers) < 320 and any("…" in h for h in hovers)
    cont = PE.embedding_scatter(np.zeros((3, 2)), texts, [0.1, 0.5, 0.9], continuous=True, color_name="confidence")
    assert len(cont.data) == 1
    shared = PE.shared_scatter(np.zeros((3, 2)), np.ones((3, 2)), texts, differ=[True, False, True])
    assert len(shared.data) == 3 and "2" in shared.data[0].name
    frame = pd.DataFrame({"word": ["zorblax", EVIL], "score": [5.0, 2.0], "count_in_cell": [4, 1],
                          "count_in_reference": [0, 3]})
    cb = PE.confusable_bar(frame)
    assert EVIL not in str(cb.to_plotly_json()["layout"]) and cb.layout.xaxis.title.text == "log-odds z-score"
    hist = PE.agreement_histogram([0.5, np.nan, 0.7])
    assert hist.layout.xaxis.title.text == "Spearman rho"
    assert PE.hover_text("a" * 300).endswith("…")


def test_colours_match_the_dashboard_and_case_file_has_the_legend():
    from core import plots
    from core.explain import render

    hex_rgb = [tuple(int(h[i:i + 2], 16) for i in (1, 3, 5)) for h in (plots.POSITIVE, plots.NEGATIVE)]
    assert [render.POSITIVE, render.NEGATIVE] == hex_rgb  # blue towards, red away: same as every page chart
    assert LEGEND.startswith("Blue words pushed the text towards the class, red words pushed it away")
    attr = TokenAttribution(["good", "bad"], [0.5, -0.5], 0.1, 1, "shap_partition", {"notice": "cut to <300> words"})
    html = case_file_html("case", [("attribution", attr)])
    assert "Colours:" in html and LEGEND in html
    assert html.index(LEGEND) < html.index("<section>")  # read before any coloured word
    part = attribution_html(attr, "spam")
    assert "blue pushes towards" in part and "red pushes away" in part
    assert "cut to &lt;300&gt; words" in part  # the explainer's notice travels with the attribution, escaped
    assert f"rgba({','.join(map(str, render.POSITIVE))}," in part


def test_dashboard_token_html_uses_the_same_colours():
    import ui
    from core.explain import render

    out = ui.render.tokens_html(["good", "<b>bad</b>"], [1.0, -1.0], inline=True)  # what ui.show_tokens draws
    assert f"rgba({','.join(map(str, render.POSITIVE))},0.850)" in out
    assert f"rgba({','.join(map(str, render.NEGATIVE))},0.850)" in out
    assert "<b>bad" not in out
    fig = ui.attribution_bar(["good", "bad"], [1.0, -1.0], "spam")
    assert set(fig.data[0].marker.color) == {ui.plots.POSITIVE, ui.plots.NEGATIVE}
    assert ui.COLOUR_LEGEND == render.LEGEND


def test_embedding_map_gives_every_class_its_own_hue():
    labels = ["World", "Sports", "Business", "Sci/Tech"]
    fig = PE.embedding_scatter(np.zeros((8, 2)), ["t"] * 8, labels * 2)
    colours = [tr.marker.color for tr in fig.data]
    assert len(colours) == 4 and len(set(colours)) == 4 and all(isinstance(c, str) for c in colours)
