"""The HTML evaluation report: self-contained, escaped, complete, and each plot drawn with the right marks.

Reports are built by hand here (every plot shape of the conventions, planted hostile names) so these
tests do not depend on any metric module; tests/integration/test_report_browser.py renders real ones.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synthgov.evaluate import _html, _svg
from synthgov.evaluate.base import MetricResult
from synthgov.evaluate.report import DISCLAIMER, THREAT_MODEL, Report

EVIL = "<script>alert(1)</script>"
QUOTE_BREAKER = '" onmouseover="alert(2)'
URL_NAME = "https://evil.example/x.png"


# -- a tiny DOM, from the standard library's parser -----------------------------------------
class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent, self.children, self.text = tag, dict(attrs), parent, [], []

    def iter(self):
        yield self
        for child in self.children:
            yield from child.iter()

    def find_all(self, tag=None, cls=None):
        return [n for n in self.iter() if (tag is None or n.tag == tag)
                and (cls is None or cls in (n.attrs.get("class") or "").split())]

    def all_text(self):
        return "".join(self.text) + "".join(c.all_text() for c in self.children)


VOID = {"meta", "link", "br", "img", "input", "hr", "wbr"}  # SVG elements are closed explicitly (`/>` or a tag)


class DomBuilder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {}, None)
        self.cur = self.root
        self.attr_values: list[tuple[str, str, str]] = []
        self.style_text = []

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.cur)
        self.cur.children.append(node)
        self.attr_values.extend((tag, k, v or "") for k, v in attrs)
        if tag not in VOID:
            self.cur = node

    def handle_startendtag(self, tag, attrs):
        self.cur.children.append(Node(tag, attrs, self.cur))
        self.attr_values.extend((tag, k, v or "") for k, v in attrs)

    def handle_endtag(self, tag):
        node = self.cur
        while node is not self.root and node.tag != tag:
            node = node.parent
        if node is not self.root:
            self.cur = node.parent

    def handle_data(self, data):
        self.cur.text.append(data)
        if self.cur.tag == "style":
            self.style_text.append(data)


def parse(page: str) -> DomBuilder:
    builder = DomBuilder()
    builder.feed(page)
    builder.close()
    return builder


def by_id(dom: DomBuilder, anchor: str) -> Node:
    found = [n for n in dom.root.iter() if n.attrs.get("id") == anchor]
    assert len(found) == 1, f"expected one element with id {anchor!r}, found {len(found)}"
    return found[0]


# -- hand-built reports ---------------------------------------------------------------------------
def definition(name, family, *, goal="maximize", threshold=None):
    return {"name": name, "family": family, "goal": goal, "range": [0.0, 1.0], "threshold": threshold,
            "needs": [], "definition": f"Definition of {name}: what it computes & how to read it <ideal: 1>.",
            "source": f"Source paper for {name}"}


MARGINALS = {
    "age": {"kind": "numeric", "labels": [f"{i * 10}-{i * 10 + 10}" for i in range(20)],
            "real": [0.05] * 20, "synthetic": [0.04] * 10 + [0.06] * 10},
    EVIL: {"kind": "categorical", "labels": ["yes", QUOTE_BREAKER, URL_NAME],
           "real": [0.5, 0.3, 0.2], "synthetic": [0.4, 0.4, 0.2]},
}
HEATMAP = {"type": "heatmap", "title": "Correlation difference", "labels": ["a", "b", EVIL, "d"],
           "matrix": [[0, .1, .2, None], [.1, 0, .3, .4], [.2, .3, 0, .5], [None, .4, .5, 0]], "vmin": 0, "vmax": 1}
HISTOGRAMS = {"type": "histograms", "title": "DCR", "xlabel": "distance", "edges": [0, 1, 2, 3, 4],
              "series": {"train": [10, 20, 30, 40], "holdout": [5, 10, 15, 20]}}
ROC = {"type": "roc", "fpr": [0, .01, .1, .5, 1], "tpr": [0, .05, .3, .7, 1], "auc": .62}
BARS = {"type": "bars", "title": "Subgroups", "groups": ["female", "male", EVIL], "ylabel": "share",
        "series": {"real": [.48, .5, .02], "synthetic": [.47, None, .01]}}
TABLE = {"type": "table", "title": "Attacks", "columns": ["attack", "rate", EVIL],
         "rows": [["main", .1, "x"], ["control", .09, "y"], ["baseline", .01, EVIL]]}


def full_report(*, privacy=None) -> Report:
    specs = [
        ("shapes", "fidelity", "maximize", 0.8, MetricResult(0.91, (0.9, 0.92), {
            "plot": {"type": "marginals", "columns": MARGINALS}, "per_column": {"age": 0.9, EVIL: 0.8},
            "rows_used": 10_000, "method": "exact"})),
        ("pairs", "fidelity", "maximize", 0.8, MetricResult(0.7, None, {"plot": HEATMAP})),
        ("detection", "fidelity", "minimize", 0.7, MetricResult(0.6, (0.58, 0.62), {"plot": ROC})),
        ("tstr", "utility", "maximize", 0.9, MetricResult.not_computed(f"needs a target column {EVIL}")),
        ("dcr_share", "privacy", "minimize", 0.6, MetricResult(0.52, (0.5, 0.54), {"plot": HISTOGRAMS})),
        ("singling_out", "privacy", "minimize", 0.1, MetricResult(0.02, (0.0, 0.05), {"plot": TABLE})),
        ("representation", "fairness", "maximize", None, MetricResult(0.95, None, {"plot": BARS})),
        ("coverage", "diversity", "maximize", 0.9, MetricResult(0.99, None, {
            "missing_levels": {EVIL: ["x", URL_NAME]}, "records": [{"column": EVIL, "score": 0.5}]})),
    ]
    inputs = {"rows": {"real": 8000, "synthetic": 10000, "holdout": 2000},
              "columns": {"age": "numeric", EVIL: "categorical"},
              "excluded": {"id": f"identifier column {EVIL}"}, "holdout_source": "split", "target": "age",
              "sensitive": [EVIL], "quasi_identifiers": ["age", EVIL], "secrets": ["age"], "random_state": 0}
    return Report(results={s[0]: s[4] for s in specs},
                  definitions={s[0]: definition(s[0], s[1], goal=s[2], threshold=s[3]) for s in specs},
                  thresholds={s[0]: s[3] for s in specs}, inputs=inputs, privacy=privacy,
                  notes=[f"no holdout was given: 2000 rows were split off {EVIL}"],
                  timings={s[0]: 0.25 for s in specs}, created="2026-11-23T00:00:00+00:00", synthgov_version="0.1.0")


@pytest.fixture(scope="module")
def report() -> Report:
    return full_report()


@pytest.fixture(scope="module")
def page(report) -> str:
    return report.to_html()


@pytest.fixture(scope="module")
def dom(page) -> DomBuilder:
    return parse(page)


# -- self-contained, no script, nothing external --------------------------------------------
def test_page_has_no_script_and_no_external_reference(page, dom):
    tags = {n.tag for n in dom.root.iter()}
    assert not tags & {"script", "link", "iframe", "img", "object", "embed", "base", "form", "use", "image"}
    assert not re.search(r"<\s*script", page, re.I)
    for tag, name, value in dom.attr_values:
        assert not name.startswith("on"), f"event handler attribute {name!r} on <{tag}>"
        assert "//" not in value and "url(" not in value.lower(), f"<{tag} {name}={value!r}> points somewhere"
        if name in ("href", "src", "xlink:href", "action"):
            assert value.startswith("#"), f"<{tag} {name}={value!r}> is not an in-page link"
    style = "".join(dom.style_text).lower()
    assert style and "url(" not in style and "@import" not in style and "//" not in style
    # the planted URL is data: it may only ever appear as escaped text, never as an attribute
    assert URL_NAME in dom.root.all_text()


def test_text_from_data_is_escaped_everywhere(page, dom):
    assert EVIL not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    text = dom.root.all_text()
    # the column name survives as text in the inputs, the marginal caption, the heatmap, the bars and tables
    assert text.count(EVIL) >= 8
    # a quote in a label did not break out of an attribute (no handler attribute was parsed above)
    assert QUOTE_BREAKER in text


# -- content ----------------------------------------------------------------------------------------
def test_header_states_verdict_privacy_threat_model_disclaimer_notes_and_inputs(report, dom):
    text = " ".join(dom.root.all_text().split())
    verdict_card = [n for n in dom.root.find_all("section", "verdict-card")]
    assert len(verdict_card) == 1
    assert verdict_card[0].find_all("span", f"b-{report.verdict}")
    assert report.verdict == "fail"  # 'pairs' misses its threshold
    assert report.privacy_statement in text and "No formal privacy guarantee" in text
    assert " ".join(THREAT_MODEL.split()) in text and " ".join(DISCLAIMER.split()) in text
    assert report.notes[0] in text
    inputs = " ".join(by_id(dom, "inputs").all_text().split())
    for figure in ("8,000", "10,000", "2,000", "identifier column " + EVIL, "split off the real table"):
        assert figure in inputs
    assert "Compared columns (2: 1 numeric, 1 categorical)" in inputs


def test_differential_privacy_epsilon_is_shown_when_the_generator_has_one():
    account = {"epsilon": 1.5, "delta": 1e-6, "mechanism": "Gaussian"}
    text = parse(full_report(privacy=account).to_html()).root.all_text()
    assert "epsilon = 1.5" in text and "No formal privacy guarantee" not in text


def test_every_metric_has_its_section_definition_source_and_summary_row(report, dom):
    summary = by_id(dom, "summary")
    for name, d in report.definitions.items():
        article = by_id(dom, f"m-{name}")
        body = article.all_text()
        assert d["definition"] in body and d["source"] in body
        family = by_id(dom, f"family-{d['family']}")
        assert article in list(family.iter()), f"{name} is not inside the {d['family']} section"
        links = [a for a in summary.find_all("a") if a.attrs.get("href") == f"#m-{name}"]
        assert len(links) == 1
    assert f"needs a target column {EVIL}" in by_id(dom, "m-tstr").all_text()


def test_verdict_badges_match_the_report(report, dom):
    expected = {"shapes": "pass", "pairs": "fail", "detection": "pass", "tstr": "not computed",
                "dcr_share": "pass", "singling_out": "pass", "representation": "info", "coverage": "pass"}
    assert {n: report.verdict_of(n) for n in report.results} == expected
    summary = by_id(dom, "summary")
    for name, verdict in expected.items():
        cls = "b-" + verdict.replace(" ", "-")
        row = next(a for a in summary.find_all("a") if a.attrs.get("href") == f"#m-{name}").parent.parent
        badges = row.find_all("span", "badge")
        assert [b.attrs["class"] for b in badges] == [f"badge {cls}"], name
        assert verdict in badges[0].all_text()
        head = by_id(dom, f"m-{name}").find_all("span", "badge")[0]
        assert cls in head.attrs["class"].split()


@pytest.mark.parametrize(("values", "verdict"), [((0.9, 0.9), "pass"), ((0.9, None), "incomplete"),
                                                 ((0.1, None), "fail")])
def test_overall_verdict_badge(values, verdict):
    names = ("m1", "m2")
    report = Report(results={n: MetricResult(v) if v is not None else MetricResult.not_computed("no data")
                             for n, v in zip(names, values, strict=True)},
                    definitions={n: definition(n, "fidelity", threshold=0.5) for n in names},
                    thresholds={n: 0.5 for n in names}, inputs={})
    dom = parse(report.to_html())
    card = dom.root.find_all("section", "verdict-card")[0]
    assert card.find_all("span", f"b-{verdict}")
    assert dom.root.find_all("title")[0].all_text().endswith(verdict)


# -- plots: the right marks for the data -------------------------------------------------------
def svgs_in(dom, anchor):
    return by_id(dom, anchor).find_all("svg")


def test_marginals_draw_one_small_multiple_per_column_with_one_bar_per_bin(dom):
    svgs = svgs_in(dom, "m-shapes")
    assert len(svgs) == len(MARGINALS)
    numeric, categorical = svgs
    assert len(numeric.find_all("rect", "bar")) == 20 and len(numeric.find_all("rect", "hit")) == 20
    assert len(numeric.find_all("path", "synthetic")) == 1
    assert len(categorical.find_all("rect", "real")) == 3 and len(categorical.find_all("rect", "synthetic")) == 3
    # each hover target carries the exact shares; the longest real bar is the 50% level
    titles = [h.find_all("title")[0].all_text() for h in categorical.find_all("rect", "hit")]
    assert titles[0] == "yes: real 50%, synthetic 40%" and titles[1].startswith(QUOTE_BREAKER)
    widths = [float(r.attrs["width"]) for r in categorical.find_all("rect", "real")]
    assert widths.index(max(widths)) == 0 and widths[0] == pytest.approx(widths[2] * 2.5, rel=0.01)
    captions = [f.find_all("figcaption")[0].all_text() for f in by_id(dom, "m-shapes").find_all("figure")[1:]]
    assert captions == list(MARGINALS)


def test_heatmap_draws_the_lower_triangle_of_a_symmetric_matrix_with_a_legend(dom):
    (svg,) = svgs_in(dom, "m-pairs")
    cells = svg.find_all("rect", "cell")
    assert len(cells) == 4 * 3 // 2
    titles = {c.find_all("title")[0].all_text() for c in cells}
    assert f"{EVIL} × b: 0.300" in titles and "d × a: not computed" in titles
    assert "n/a" in svg.all_text()  # legend explains the grey missing cell
    assert len({c.attrs["fill"] for c in cells}) == 6  # 5 distinct values and a missing one: 6 colours


def test_heatmap_of_an_asymmetric_matrix_draws_every_cell():
    svg = _svg.heatmap(labels=["x", "y", "z"], matrix=[[0, 1, 2], [3, 4, 5], [6, 7, 8]], vmin=0, vmax=8)
    assert svg.count('class="cell"') == 9
    diverging = _svg.colour_scale(-1.0, 1.0)
    assert diverging(0.0) == "#f7f7f7" and diverging(-1.0) != diverging(1.0)


def test_histograms_draw_each_series_as_shares_of_its_own_rows(dom):
    (svg,) = svgs_in(dom, "m-dcr_share")
    series = svg.find_all("path", "series")
    assert len(series) == 2 and len(svg.find_all("rect", "hit")) == 4
    # holdout counts are exactly half the train counts: as shares the two step lines coincide
    assert series[0].attrs["d"] == series[1].attrs["d"]
    assert "train (n = 100)" in svg.all_text() and "holdout (n = 50)" in svg.all_text()


def test_roc_curve_has_every_point_and_the_chance_diagonal(dom):
    (svg,) = svgs_in(dom, "m-detection")
    (curve,) = svg.find_all("polyline", "curve")
    points = [tuple(map(float, p.split(","))) for p in curve.attrs["points"].split()]
    assert len(points) == len(ROC["fpr"])
    xs, ys = zip(*points, strict=True)
    assert list(xs) == sorted(xs) and list(ys) == sorted(ys, reverse=True)  # SVG y grows downwards
    assert len(svg.find_all("line", "chance")) == 1 and "AUC = 0.620" in svg.all_text()


def test_bars_draw_one_bar_per_value_and_mark_missing_ones(dom):
    (svg,) = svgs_in(dom, "m-representation")
    assert len(svg.find_all("rect", "bar")) == 5  # 6 values, one None
    assert "n/a" in svg.all_text()
    s = _svg.bars(groups=["g"], series={"diff": [-0.5], "other": [0.5]})
    neg, pos = re.findall(r'<rect class="bar s\d" x="([\d.]+)" y="[\d.]+" width="([\d.]+)"', s)
    assert float(neg[0]) + float(neg[1]) == pytest.approx(float(pos[0]), abs=0.15)  # both start at zero


def test_table_plot_is_an_html_table(dom):
    tables = by_id(dom, "m-singling_out").find_all("table")
    assert len(tables) == 1
    rows = tables[0].find_all("tbody")[0].find_all("tr")
    assert len(rows) == 3 and rows[2].find_all("td")[-1].all_text() == EVIL
    assert [th.all_text() for th in tables[0].find_all("th")] == ["attack", "rate", EVIL]


def test_a_malformed_plot_is_reported_and_the_rest_still_renders():
    bad = {"type": "roc", "fpr": [0, 2], "tpr": [0, 1]}
    report = Report(results={"a": MetricResult(0.5, details={"plot": bad}), "b": MetricResult(0.5)},
                    definitions={"a": definition("a", "fidelity"), "b": definition("b", "utility")},
                    thresholds={"a": None, "b": None}, inputs={})
    dom = parse(report.to_html())
    assert "This plot could not be drawn" in by_id(dom, "m-a").all_text()
    assert not by_id(dom, "m-a").find_all("svg")
    assert "Definition of b" in by_id(dom, "m-b").all_text()


# -- breakdowns: generic tables, capped -------------------------------------------------------------
def test_long_breakdowns_are_capped_and_say_how_much_is_left_out():
    details = {"per_column": {f"c{i}": i / 100 for i in range(100)},
               "per_pair": [{"a": f"c{i}", "b": f"c{i + 1}", "score": 0.5} for i in range(100)],
               "per_subgroup": {f"g{i}": {"real": 0.1, "synthetic": 0.2} for i in range(30)},
               "rows_used": 5000, "method": "subsampled to 5000"}
    report = Report(results={"m": MetricResult(0.5, details=details)}, definitions={"m": definition("m", "fidelity")},
                    thresholds={"m": None}, inputs={})
    article = by_id(parse(report.to_html()), "m-m")
    text = " ".join(article.all_text().split())
    assert len(article.find_all("dl", "pairs")[0].find_all("div")) == _html.MAX_PAIRS
    assert f"{100 - _html.MAX_PAIRS} more not shown" in text
    pair_table, subgroup_table = article.find_all("table")
    assert len(pair_table.find_all("tbody")[0].find_all("tr")) == _html.MAX_ROWS
    assert f"{100 - _html.MAX_ROWS} more rows" in text and f"{30 - _html.MAX_ROWS} more rows" in text
    assert [th.all_text() for th in subgroup_table.find_all("thead")[0].find_all("th")] == ["", "real", "synthetic"]
    assert "subsampled to 5000" in text and "5,000" in text


def test_a_55_column_report_stays_a_sane_size():
    cols = [f"column_with_a_long_name_{i}" for i in range(55)]
    marg = {c: {"kind": "numeric", "labels": [f"bin {j}" for j in range(20)], "real": [0.05] * 20,
                "synthetic": [0.05] * 20} for c in cols}
    matrix = [[abs(i - j) / 55 for j in range(55)] for i in range(55)]
    details = {"plot": {"type": "marginals", "columns": marg}, "per_column": {c: 0.9 for c in cols}}
    heat = {"plot": {"type": "heatmap", "title": "t", "labels": cols, "matrix": matrix, "vmin": 0, "vmax": 1}}
    report = Report(results={"m": MetricResult(0.9, details=details), "h": MetricResult(0.9, details=heat)},
                    definitions={"m": definition("m", "fidelity"), "h": definition("h", "fidelity")},
                    thresholds={"m": None, "h": None}, inputs={"columns": {c: "numeric" for c in cols}})
    page = report.to_html()
    assert page.count('class="cell"') == 55 * 54 // 2 and page.count('class="bar real"') == 55 * 20
    # measured about 0.5 MB; 1.5 MB leaves room for longer names while flagging a blow-up
    assert len(page.encode()) < 1_500_000


# -- round trip and file ----------------------------------------------------------------------------------
def test_the_page_depends_only_on_what_the_json_keeps(report, page, tmp_path):
    again = Report.from_json(report.to_json())
    assert again.to_html() == page
    path = tmp_path / "report.html"
    assert report.to_html(path) == path.read_text(encoding="utf-8")


# -- properties of the SVG builders -------------------------------------------------------------------
labels = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(names=st.lists(labels, min_size=1, max_size=4, unique=True))
def test_any_label_is_kept_exactly_as_text_and_never_becomes_markup(names):
    shares = [1 / len(names)] * len(names)
    for svg in (_svg.marginal(names[0], {"kind": "categorical", "labels": names, "real": shares,
                                         "synthetic": shares}),
                _svg.bars(groups=names, series={"s": shares}),
                _svg.heatmap(labels=names, matrix=[[0.0] * len(names)] * len(names), vmin=0, vmax=1)):
        dom = parse(svg)
        assert {n.tag for n in dom.root.iter()} <= {"#root", "svg", "title", "text", "rect", "line", "path", "g"}
        assert all(not name.startswith("on") for _, name, _ in dom.attr_values)
        titles = " | ".join(t.all_text() for t in dom.root.find_all("title"))
        assert all(name in titles for name in names)


@given(lo=st.floats(-1e6, 1e6), span=st.floats(1e-6, 1e6), n=st.integers(2, 10))
def test_nice_ticks_cover_the_range_with_even_steps(lo, span, n):
    hi = lo + span
    ticks = _svg.nice_ticks(lo, hi, n)
    steps = [b - a for a, b in pairwise(ticks)]
    # a millionth of a step is rounding, not a gap (a bound of -6e-05 with a step of 1e5 gets the tick 0);
    # 1e-12 of the magnitude is float resolution (a span of 1e-6 around 879610 has steps of 2e-7)
    tol = 1e-6 * steps[0] + 1e-12 * max(abs(lo), abs(hi))
    assert ticks[0] <= lo + tol and ticks[-1] >= hi - tol
    assert all(s == pytest.approx(steps[0], rel=1e-6, abs=2e-12 * max(abs(lo), abs(hi), 1)) for s in steps)
    assert len(ticks) <= 2 * n + 2


def test_rows_given_as_lists_take_their_headers_from_the_fields_entry():
    details = {"pair_fields": ["column", "column", "score"],
               "pairs": [["wage", "education", 0.93], ["wage", "region", 0.97]]}
    facts, blocks = _html._detail_blocks(details)
    (table,) = [b for b in blocks if b["kind"] == "table"]
    assert table["columns"] == ["column", "column", "score"]
    without, blocks = _html._detail_blocks({"pairs": details["pairs"]})
    (bare,) = [b for b in blocks if b["kind"] == "table"]
    assert bare["columns"] == ["", "", ""]
