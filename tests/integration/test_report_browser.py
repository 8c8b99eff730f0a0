"""The HTML evaluation report opened in a real browser (headless Chromium).

`make test` on CI installs Chromium (Debian: `apt-get install -y --no-install-recommends chromium`); where it
is absent these tests skip and say so. They render a real report (synthgov.evaluate on CPS1988 against a
copula sample) and a hand-built one holding every plot shape, then check what the browser made of them:
the parsed DOM (every section, every chart, nothing executable) and a screenshot that is not blank.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

import synthgov as sg
from synthgov.evaluate.base import FAMILIES, MetricResult
from synthgov.evaluate.report import Report

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
                 if shutil.which(n)), None)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium is not installed (Debian: apt-get install -y --no-install-recommends chromium); "
           "these tests open the HTML report in a real browser")

EVIL = "<script>alert(1)</script>"


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
           f"--user-data-dir={profile}", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def dump_dom(tmp_path: Path, page: Path) -> str:
    return chromium(tmp_path, "--dump-dom", page.resolve().as_uri()).stdout


def screenshot(tmp_path: Path, url: str, name: str, size: str = "1280,4000") -> Path:
    png = tmp_path / name
    chromium(tmp_path, f"--screenshot={png}", f"--window-size={size}", url)
    assert png.is_file(), "Chromium wrote no screenshot"
    return png


def png_facts(path: Path) -> tuple[int, int, bytes]:
    """(width, height, decompressed image data) from a PNG file, with the standard library only."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    return width, height, zlib.decompress(idat)


# -- a real report ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def real_report() -> Report:
    from synthgov.datasets import load_cps1988

    cps = load_cps1988().sample(2000, random_state=0).reset_index(drop=True)
    train, _ = sg.holdout_split(cps, fraction=0.2, random_state=0)  # the split evaluate() makes itself
    synthetic = sg.CopulaSynthesizer(random_state=0).fit(train).sample(len(train))
    return sg.evaluate(cps, synthetic, target="wage", sensitive=["ethnicity"], random_state=0)


def test_a_real_report_renders_with_every_section(real_report, tmp_path):
    page = tmp_path / "report.html"
    real_report.to_html(page)
    dom = dump_dom(tmp_path, page)
    assert f"b-{real_report.verdict}" in dom and "Overall verdict" in dom
    assert "No formal privacy guarantee" in dom and "Threat model" in dom and "Disclaimer" in dom
    assert "no holdout was given" in dom  # evaluate() split one off and the page says so
    for family in real_report.scores:
        assert f'id="family-{family}"' in dom
    for name in real_report.results:
        assert f'id="m-{name}"' in dom
    assert "<script" not in dom
    # every chart the metrics asked for was drawn (a plot that could not be drawn says so instead)
    assert "This plot could not be drawn" not in dom
    plots = [r.details.get("plot") for r in real_report.results.values() if r.details.get("plot")]
    expected = sum(len(p["columns"]) if p["type"] == "marginals" else p["type"] != "table" for p in plots)
    assert dom.count("<svg") == expected


# -- every plot shape, hostile names -----------------------------------------------------------------
def every_plot_report() -> Report:
    marg = {EVIL: {"kind": "categorical", "labels": ["a", "b"], "real": [.6, .4], "synthetic": [.5, .5]},
            "age": {"kind": "numeric", "labels": [str(i) for i in range(20)], "real": [.05] * 20,
                    "synthetic": [.05] * 20}}
    plots = {
        "fidelity": {"type": "marginals", "columns": marg},
        "utility": {"type": "bars", "title": "TSTR vs TRTR", "groups": ["auc", "f1"],
                    "series": {"real": [.8, .7], "synthetic": [.75, .6]}, "ylabel": "score"},
        "privacy": {"type": "histograms", "title": "DCR", "xlabel": "distance", "edges": [0, .5, 1, 1.5],
                    "series": {"train": [5, 3, 2], "holdout": [4, 4, 2]}},
        "fairness": {"type": "roc", "fpr": [0, .2, 1], "tpr": [0, .5, 1], "auc": .65},
        "diversity": {"type": "heatmap", "title": "diff", "labels": ["a", "b", EVIL],
                      "matrix": [[0, .2, .4], [.2, 0, .1], [.4, .1, 0]], "vmin": 0, "vmax": 1},
    }
    results, definitions = {}, {}
    for family in FAMILIES:
        name = f"{family}_metric"
        results[name] = MetricResult(0.5, (0.4, 0.6), {"plot": plots[family], "per_column": {EVIL: 0.5}})
        definitions[name] = {"name": name, "family": family, "goal": "maximize", "range": [0, 1],
                             "definition": f"What {name} measures.", "source": "hand-built", "needs": [],
                             "threshold": 0.6}
    results["extra"] = MetricResult(None, reason=f"not computed because {EVIL}")
    definitions["extra"] = {**definitions["privacy_metric"], "name": "extra"}
    return Report(results=results, definitions=definitions, thresholds={n: 0.6 for n in results},
                  inputs={"rows": {"real": 10, "synthetic": 10, "holdout": None}, "columns": {EVIL: "categorical"}})


def test_every_plot_shape_is_parsed_as_svg_and_nothing_executes(tmp_path):
    report = every_plot_report()
    page = tmp_path / "report.html"
    source = report.to_html(page)
    dom = dump_dom(tmp_path, page)
    assert dom.count("<svg") == source.count("<svg") == 2 + 4
    assert dom.count('class="cell"') == 3 and len(re.findall(r'class="bar s\d"', dom)) == 4
    assert dom.count('class="series"') == 2 and dom.count('class="curve"') == 1
    assert "<script" not in dom and "&lt;script&gt;alert(1)&lt;/script&gt;" in dom
    assert re.search(r'class="badge b-fail"', dom) and "not computed because" in dom


def test_screenshot_shows_a_rendered_page(real_report, tmp_path):
    page = tmp_path / "report.html"
    real_report.to_html(page)
    shot = screenshot(tmp_path, page.resolve().as_uri(), "report.png")
    blank_page = tmp_path / "blank.html"
    blank_page.write_text("<!doctype html><title>blank</title>", encoding="utf-8")
    blank = screenshot(tmp_path, blank_page.resolve().as_uri(), "blank.png")
    width, height, pixels = png_facts(shot)
    assert (width, height) == (1280, 4000)
    _, _, blank_pixels = png_facts(blank)
    # text and charts make the image far less compressible than an empty page of the same size
    assert len(zlib.compress(pixels, 6)) > 5 * len(zlib.compress(blank_pixels, 6))  # measured: about 20x
    assert len(set(pixels[::7])) > 100  # many distinct colour values, not one flat colour
    # and at a phone's width it still renders (the layout collapses to one column)
    narrow = screenshot(tmp_path, page.resolve().as_uri(), "narrow.png", size="420,3000")
    assert png_facts(narrow)[:2] == (420, 3000)
