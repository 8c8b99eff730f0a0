"""Denied-party screening: recall on generated variants, false positives, list files, failing closed."""

from __future__ import annotations

import collections
import datetime as dt
import json
import random
import string
import sys
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from synthgov.errors import ParameterError, PolicyError
from synthgov.policy import (
    example_list_path,
    load_party_lists,
    normalise_name,
    parse_party_rows,
    screen,
    screen_many,
    skeleton,
)
from synthgov.policy.names import LEGAL_FORMS

sys.path.insert(0, str(Path(__file__).parent))
from name_variants import SYLLABLES, core_words, unrelated_names, variants  # noqa: E402

NOW = dt.date(2026, 11, 20)
THRESHOLD = 88.0  # the example policy's threshold


@pytest.fixture(scope="module")
def lists():
    return load_party_lists(example_list_path())


def test_recall_on_generated_variants(lists):
    rng = random.Random(20261120)
    cases = [(e.name, kind, v) for pl in lists for e in pl.entries for kind, v in variants(rng, e.name, e.aliases)]
    results = screen_many([v for _, _, v in cases], lists=lists, threshold=THRESHOLD)
    missed = collections.Counter(kind for (name, kind, _), r in zip(cases, results, strict=True)
                                 if name not in {c.listed_name for c in r.candidates})
    per_kind = collections.Counter(kind for _, kind, _ in cases)
    recall = 1 - sum(missed.values()) / len(cases)
    print(f"\nscreening recall {recall:.4f} on {len(cases)} generated variants; misses by kind: {dict(missed)}; "
          f"variants by kind: {dict(per_kind)}")
    assert len(cases) > 700 and set(per_kind) >= {"spelling", "legal-form", "word-order", "cyrillic", "greek", "cjk"}
    assert recall >= 0.99


def test_false_positive_rates(lists):
    unrelated = unrelated_names(random.Random(7), 3000)
    fpr = sum(r.matched for r in screen_many(unrelated, lists=lists, threshold=THRESHOLD)) / len(unrelated)
    # harder: each listed name with its distinctive word replaced by an invented one ("Jorby Maritime Logistics")
    rng = random.Random(8)
    shared = []
    for pl in lists:
        for entry in pl.entries:
            words = core_words(entry.name)
            for _ in range(20):
                coined = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()
                shared.append(" ".join([coined, *words[1:]]) if len(words) > 1 else f"{coined} {words[0]}")
    shared_fpr = sum(r.matched for r in screen_many(shared, lists=lists, threshold=THRESHOLD)) / len(shared)
    print(f"\nfalse-positive rate at threshold {THRESHOLD:g}: {fpr:.4f} on {len(unrelated)} unrelated invented names; "
          f"{shared_fpr:.4f} on {len(shared)} names sharing a listed name's generic words")
    # bounds: measured 0.0 and ~0.003-0.007 over seeds 1-3; the bounds leave room for other seeds
    assert fpr <= 0.01
    assert shared_fpr <= 0.03


def test_every_candidate_is_returned_with_score_and_list():
    lists = parse_party_rows([
        {"name": "Vexmoor Analytics Ltd", "list": "FICT-A", "list_date": "2026-11-01", "country": "GB"},
        {"name": "Vexmoor Analytics GmbH", "list": "FICT-B", "list_date": "2026-11-05"},
        {"name": "Quorn Bay Fisheries", "list": "FICT-B", "list_date": "2026-11-05"},
    ])
    result = screen("VEXMOOR ANALYTICS, S.A.", lists=lists, now=NOW, max_age_days=30)
    assert [(c.list_name, c.score) for c in result.candidates] == [("FICT-A", 100.0), ("FICT-B", 100.0)]
    assert result.candidates[0].country == "GB" and result.matched
    assert result.to_dict()["candidates"][1]["list"] == "FICT-B"


def test_no_match_names_lists_and_dates_never_clearance(lists):
    result = screen("Harbourlight Community Bakery", lists=lists, now=NOW, max_age_days=30)
    assert not result.candidates
    assert result.summary.startswith("no match on lists FICTITIOUS-CONSOLIDATED dated 2026-11-01, FICTITIOUS-ENTITIES dated")
    assert "clear" not in result.summary.lower()


def test_alias_in_other_script_matches(lists):
    result = screen("ПАО Образин Телеметрия", lists=lists, now=NOW)
    assert result.candidates[0].listed_name == "Obrazhin Telemetry PAO"


def test_stale_future_and_missing_lists_fail_closed(lists, tmp_path):
    with pytest.raises(PolicyError) as stale:
        screen("anyone", lists=lists, now=dt.date(2027, 3, 1), max_age_days=30)
    assert stale.value.details["code"] == "SG-LIST-STALE"
    with pytest.raises(PolicyError) as future:
        screen("anyone", lists=lists, now=dt.date(2026, 1, 1))
    assert future.value.details["code"] == "SG-LIST-FUTURE"
    with pytest.raises(PolicyError) as missing:
        screen("anyone", lists=[], now=NOW)
    assert missing.value.details["code"] == "SG-LIST-MISSING"
    with pytest.raises(PolicyError) as nofile:
        load_party_lists(tmp_path / "absent.csv")
    assert nofile.value.details["code"] == "SG-LIST-MISSING" and "absent.csv" in nofile.value.message


def test_list_files_csv_and_json(tmp_path, lists):
    assert [pl.name for pl in lists] == ["FICTITIOUS-CONSOLIDATED", "FICTITIOUS-ENTITIES"]
    assert all(len(pl.sha256) == 64 and pl.entries for pl in lists)
    rows = [dict(e.to_dict(), list_date=pl.date.isoformat()) for pl in lists for e in pl.entries]
    (tmp_path / "l.json").write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    again = load_party_lists(tmp_path / "l.json")
    assert [(pl.name, pl.date, pl.entries) for pl in again] == [(pl.name, pl.date, pl.entries) for pl in lists]


@pytest.mark.parametrize("body, line, field", [
    ("name,list,list_date\nAcme Fict,L,2026-13-01\n", 2, "list_date"),
    ("name,list,list_date,country\nAcme Fict,L,2026-11-01,ZZ\n", 2, "country"),
    ("# comment\nname,list,list_date\nA Fict,L,2026-11-01\n,L,2026-11-01\n", 4, "name"),
    ("name,list,list_date\nA Fict,L,2026-11-01\nB Fict,L,2026-11-02\n", 3, "list_date"),
    ("name,list,list_date,colour\nA Fict,L,2026-11-01,red\n", 2, "colour"),
    ("name,list,list_date\nA Fict,L\n", 2, "row"),
])
def test_malformed_list_names_line_and_field(tmp_path, body, line, field):
    path = tmp_path / "bad.csv"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(PolicyError) as err:
        load_party_lists(path)
    assert (err.value.details["line"], err.value.details["field"]) == (line, field)
    assert f"line {line}" in err.value.message


def test_bad_screen_parameters(lists):
    with pytest.raises(ParameterError):
        screen("...", lists=lists, now=NOW)
    with pytest.raises(ParameterError):
        screen("Acme", lists=lists, threshold=0, now=NOW)
    with pytest.raises(ParameterError):
        screen_many("Acme", lists=lists, now=NOW)


NAME_CHARS = string.ascii_letters + string.digits + " .,&'-/()" + "éèüöäåøçñšžłß"
names = st.text(alphabet=NAME_CHARS, min_size=1, max_size=40)


@settings(max_examples=200, deadline=None)
@given(names)
def test_normaliser_invariants(name):
    norm = normalise_name(name)
    assert normalise_name(norm) == norm  # idempotent
    assert set(norm) <= set(string.ascii_lowercase + string.digits + " ") and "  " not in norm and norm == norm.strip()
    assert normalise_name(name.upper()) == normalise_name(name.lower()) == norm or "ß" in name
    assert skeleton(norm) == skeleton(name)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30))
def test_normaliser_on_any_unicode(text):
    norm = normalise_name(text)
    assert normalise_name(norm) == norm and set(norm) <= set(string.ascii_lowercase + string.digits + " ")


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(alphabet=string.ascii_lowercase, min_size=4, max_size=10), min_size=1, max_size=4),
       st.sampled_from(LEGAL_FORMS), st.randoms(use_true_random=False))
def test_legal_form_and_word_order_do_not_change_the_match(words, form, rnd):
    stem = " ".join(words)
    # the words themselves must not include a stop word or a legal form (e.g. 'sprl' + 'cia')
    assume(normalise_name(stem) == stem and not any(w in {t for f in LEGAL_FORMS for t in f} for w in words))
    assert normalise_name(f"{stem} {' '.join(form)}") == stem
    shuffled = words[:]
    rnd.shuffle(shuffled)
    lists = parse_party_rows([{"name": stem, "list": "L", "list_date": "2026-11-01"}])
    assert screen(f"{' '.join(shuffled)} {' '.join(form)}", lists=lists, now=NOW).candidates[0].score == 100.0
