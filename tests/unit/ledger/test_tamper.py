"""Tamper evidence on a 200-event ledger: every alteration of the stored events is found, at the right index.

The ledger is built through the real API (catalog sessions and plain events, some with
non-ASCII text so that JSON escapes are exercised), closed, and then altered the way an
attacker with write access to the database file would: through a raw ``sqlite3``
connection, on the stored column bytes, with foreign keys off. After each alteration a
fresh ``Ledger.verify()`` must fail and name the first altered event.

Byte flips: every byte of every column of two events (one catalog change, one plain event
with escaped Unicode), plus 150 random (event, column, byte) positions across the log; each
flip XORs the byte with a random non-zero mask.
"""

from __future__ import annotations

import hashlib
import random
import shutil
import sqlite3

import pytest

from synthgov.catalog import open_catalog
from synthgov.errors import IntegrityError
from synthgov.ledger import Event, leaf_hash
from synthgov.provenance.keys import create_key

N = 200
COLUMNS = ("idx", "time", "actor", "action", "prev_hash", "hash", "body")


def _h(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """(workspace, database file) of a 200-event ledger with signed checkpoints every 50 and at the end."""
    ws = tmp_path_factory.mktemp("tamper") / "ws"
    create_key("default", workspace=ws)
    cat = open_catalog(workspace=ws, checkpoint_every=50)
    with cat.session(actor="Zoë Ødegaard") as s:
        src = s.add_source({"name": "CPS1988 — März", "sha256": _h("src"), "rows": 28155, "columns": 7})
        syn = s.add_synthesizer(name="copula", params={"seed": 0}, trained_on=[src], model_sha256=_h("model"))
        s.add_dataset(sha256=_h("ds"), name="synth", rows=1000, columns=7, made_by=syn)
    while cat.ledger.size() < N - 1:
        i = cat.ledger.size()
        cat.ledger.append("verify", params={"i": i, "note": "naïve café ✓" if i % 7 == 0 else "ok"},
                          inputs=[_h(f"in{i}")], actor="auditor@example")
    cat.ledger.append("verify", params={"last": True})
    cat.ledger.checkpoint()
    assert cat.ledger.size() == N and cat.ledger.verify().ok
    cat.close()
    return ws, ws / "catalog.sqlite"


@pytest.fixture()
def ledger(pristine, tmp_path):
    """A fresh copy: (Ledger, raw sqlite3 connection to alter it)."""
    ws, db = pristine
    copy = tmp_path / "ws"
    shutil.copytree(ws, copy)
    cat = open_catalog(f"sqlite:///{copy / db.name}", workspace=copy)
    raw = sqlite3.connect(copy / db.name, isolation_level=None)
    raw.execute("PRAGMA synchronous=OFF")
    yield cat.ledger, raw
    raw.close()
    cat.close()


def _column_bytes(raw, idx: int, column: str) -> bytes:
    return raw.execute(f"SELECT CAST({column} AS BLOB) FROM events WHERE idx = ?", (idx,)).fetchone()[0]


def _put(raw, idx: int, column: str, value: bytes) -> bool:
    """Store altered bytes as text (bypassing every check); False when the database refuses (a unique index)."""
    try:
        raw.execute(f"UPDATE events SET {column} = CAST(? AS TEXT) WHERE rowid = "
                    "(SELECT rowid FROM events WHERE idx = ?)", (value, idx))
    except sqlite3.IntegrityError:
        return False
    return True


def _flip_and_check(ledger, raw, idx: int, column: str, pos: int, mask: int) -> bool:
    original = _column_bytes(raw, idx, column)
    altered = bytearray(original)
    altered[pos] ^= mask
    rowid = raw.execute("SELECT rowid FROM events WHERE idx = ?", (idx,)).fetchone()[0]
    if not _put(raw, idx, column, bytes(altered)):
        return False  # e.g. an index changed into another event's index: the schema refused it
    try:
        report = ledger.verify()
        assert not report.ok, (idx, column, pos, mask)
        assert report.first_bad == idx, (idx, column, pos, mask, report)
    finally:
        raw.execute(f"UPDATE events SET {column} = ? WHERE rowid = ?",
                    (int(original) if column == "idx" else original.decode("utf-8"), rowid))
    return True


def test_the_fixture_holds_escaped_unicode_and_catalog_events(ledger):
    led, raw = ledger
    body = _column_bytes(raw, 0, "body")
    assert b"\\u00eb" in body and led.event(0).actor == "Zoë Ødegaard"
    assert led.event(2).action == "sample" and led.verify().ok


def test_every_single_byte_flip_is_detected_at_its_event(ledger):
    led, raw = ledger
    rng = random.Random(6)
    positions = [(idx, column, pos) for idx in (0, 7) for column in COLUMNS
                 for pos in range(len(_column_bytes(raw, idx, column)))]
    for _ in range(150):
        idx, column = rng.randrange(N), rng.choice(COLUMNS)
        positions.append((idx, column, rng.randrange(len(_column_bytes(raw, idx, column)))))
    results = [_flip_and_check(led, raw, idx, column, pos, rng.randrange(1, 256)) for idx, column, pos in positions]
    refused = [p for p, ok in zip(positions, results, strict=True) if not ok]
    assert {column for _, column, _ in refused} <= {"idx"}, refused  # only an index can collide with another event's
    assert led.verify().ok  # every flip was undone


@pytest.mark.parametrize("victim", [0, 1, 99, 150, 198, N - 1])
def test_deleting_an_event_is_detected_at_its_index(ledger, victim):
    led, raw = ledger
    raw.execute("DELETE FROM events WHERE idx = ?", (victim,))
    report = led.verify()
    assert not report.ok and report.first_bad == victim


@pytest.mark.parametrize(("first", "second"), [(0, 1), (10, 11), (3, 180), (198, 199)])
def test_reordering_events_is_detected_at_the_first_moved(ledger, first, second):
    led, raw = ledger
    cols = [c for c in COLUMNS if c != "idx"]
    a = raw.execute(f"SELECT {', '.join(cols)} FROM events WHERE idx = ?", (first,)).fetchone()
    b = raw.execute(f"SELECT {', '.join(cols)} FROM events WHERE idx = ?", (second,)).fetchone()
    sets = ", ".join(f"{c} = ?" for c in cols)
    raw.execute(f"UPDATE events SET {sets} WHERE idx = ?", (*[f"x{v}" for v in a], first))
    raw.execute(f"UPDATE events SET {sets} WHERE idx = ?", (*a, second))
    raw.execute(f"UPDATE events SET {sets} WHERE idx = ?", (*b, first))
    report = led.verify()
    assert not report.ok and report.first_bad == first


def test_renumbering_events_is_detected(ledger):
    led, raw = ledger
    raw.execute("UPDATE events SET idx = idx + 1000 WHERE idx = 5")
    raw.execute("UPDATE events SET idx = 5 WHERE idx = 6")
    raw.execute("UPDATE events SET idx = 6 WHERE idx = 1005")
    assert led.verify().first_bad == 5


@pytest.mark.parametrize("keep", [0, 1, 120, 150, N - 1])
def test_truncation_is_detected_against_the_latest_signed_checkpoint(ledger, keep):
    led, raw = ledger
    raw.execute("DELETE FROM events WHERE idx >= ?", (keep,))
    report = led.verify()
    assert not report.ok and report.first_bad == keep and "removed" in report.reason


def test_truncation_with_the_checkpoints_removed_is_caught_by_an_exported_checkpoint(ledger, tmp_path):
    led, raw = ledger
    saved = led.checkpoints()[-1]
    raw.execute("DELETE FROM events WHERE idx >= 120")
    raw.execute("DELETE FROM checkpoints WHERE size > 120")
    assert led.verify().ok  # the database alone cannot tell ...
    report = led.verify(checkpoint=saved.to_dict())  # ... a checkpoint kept elsewhere can
    assert not report.ok and report.first_bad == 120


def test_a_consistently_rewritten_history_fails_its_checkpoints(ledger):
    """Rewrite event 60 and re-hash every later event so the chain itself is consistent again."""
    led, raw = ledger
    rows = raw.execute("SELECT idx, body FROM events WHERE idx >= 60 ORDER BY idx").fetchall()
    prev = raw.execute("SELECT hash FROM events WHERE idx = 59").fetchone()[0]
    for idx, body in rows:
        data = Event.from_body(body).to_dict()
        data["prev"] = prev
        if idx == 60:
            data["params"] = {"rewritten": True}
        event = Event(**{**data, "inputs": tuple(data["inputs"]), "outputs": tuple(data["outputs"]),
                         "subjects": tuple(data["subjects"])})
        raw.execute("UPDATE events SET body = ?, hash = ?, prev_hash = ? WHERE idx = ?",
                    (event.body().decode(), leaf_hash(event.body()).hex(), prev, idx))
        prev = leaf_hash(event.body()).hex()
    report = led.verify()
    assert not report.ok and report.first_bad == 50  # the first event no checkpoint still vouches for
    assert "rewritten" in report.reason
    with pytest.raises(IntegrityError, match="does not verify at event 50"):
        report.raise_if_bad()
    with pytest.raises(IntegrityError, match="no longer matches"):
        led.prove(70)
    with pytest.raises(IntegrityError, match="no longer matches"):
        led.checkpoint()
