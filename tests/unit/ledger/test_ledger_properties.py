"""Property tests of the ledger's invariants (hypothesis).

* Events round-trip through their canonical bytes, and any change to those bytes is caught.
* Append-only: whatever sequence of appends and checkpoints, earlier events never change,
  every checkpoint's root is the Merkle root of the events it covers, checkpoint sizes only
  grow, every pair of checkpoints has a valid consistency proof and every covered event an
  inclusion proof, and the whole log verifies.
"""

from __future__ import annotations

import json
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synthgov.catalog import open_catalog
from synthgov.errors import IntegrityError
from synthgov.ledger import GENESIS, Event, leaf_hash, root
from synthgov.provenance.keys import SigningKey

json_scalars = st.none() | st.booleans() | st.integers(-2**53, 2**53) | st.text(max_size=20) | \
    st.floats(allow_nan=False, allow_infinity=False)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4) |
                           st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
params = st.dictionaries(st.text(max_size=10), json_values, max_size=5)
digests = st.lists(st.binary(min_size=32, max_size=32).map(bytes.hex), max_size=3)


@given(params=params, inputs=digests, outputs=digests, actor=st.text(min_size=1, max_size=40).filter(str.strip),
       index=st.integers(0, 10**9))
@settings(max_examples=150, deadline=None)
def test_events_round_trip_through_their_canonical_bytes(params, inputs, outputs, actor, index):
    event = Event.create(index=index, action="catalog change", params=params, inputs=inputs, outputs=outputs,
                         actor=actor, prev=GENESIS)
    body = event.body()
    assert Event.from_body(body) == event and event.hash == leaf_hash(body).hex()
    assert json.loads(body)["params"] == event.params


@given(params=params, data=st.data())
@settings(max_examples=150, deadline=None)
def test_any_changed_byte_of_an_event_is_caught(params, data):
    event = Event.create(index=3, action="fit", params=params, actor="ann", prev=GENESIS)
    body = bytearray(event.body())
    pos = data.draw(st.integers(0, len(body) - 1))
    body[pos] ^= data.draw(st.integers(1, 255))
    try:
        parsed = Event.from_body(bytes(body))
    except IntegrityError:
        return  # not an event in canonical form any more
    assert leaf_hash(bytes(body)) != leaf_hash(event.body()) and parsed != event


operations = st.lists(st.one_of(st.tuples(st.just("append"), st.integers(1, 6)), st.tuples(st.just("checkpoint"))),
                      min_size=1, max_size=12)


@given(ops=operations)
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_the_log_is_append_only_and_checkpoints_agree_with_it(ops):
    key = SigningKey.generate()
    keys = [key.public_key()]
    with tempfile.TemporaryDirectory() as tmp:
        cat = open_catalog(workspace=tmp, checkpoint_every=0)
        led = cat.ledger
        seen: list[Event] = []
        for op in ops:
            if op[0] == "append":
                for _ in range(op[1]):
                    seen.append(led.append("sample", params={"n": len(seen)}, actor="prop"))
            elif seen:
                led.checkpoint(key)
            assert led.events() == seen  # nothing earlier changed
        leaves = [leaf_hash(e.body()) for e in seen]
        cps = led.checkpoints()
        assert [c.size for c in cps] == sorted(c.size for c in cps)
        for cp in cps:
            assert cp.root == root(leaves[: cp.size]).hex()
            for i in range(cp.size):
                assert led.prove(i, checkpoint=cp.id, keys=keys).event == seen[i]
        for a in cps:
            for b in cps:
                if a.size <= b.size:
                    led.consistency(a.id, b.id, keys=keys)
                else:
                    with pytest.raises(IntegrityError):
                        led.consistency(a.id, b.id, keys=keys)
        report = led.verify(keys=keys)
        assert report.ok and report.size == len(seen) and report.checkpoints == len(cps)
        assert report.root == root(leaves).hex()
        assert all(b.prev == a.hash for a, b in zip(seen, seen[1:], strict=False)) and (not seen or seen[0].prev == GENESIS)
        cat.close()
