"""RFC 9162 Merkle hashing and proofs: known answers, exhaustive round trips, corruption, properties."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synthgov.errors import IntegrityError, ParameterError
from synthgov.ledger import merkle
from synthgov.ledger.merkle import (
    EMPTY_ROOT,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

REJECTED = (IntegrityError, ParameterError)
MAX_N = 64


# Hand formulas straight from RFC 9162 2.1.1, independent of the module under test.
def H_leaf(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def H_node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def reference_mth(hashes: list[bytes]) -> bytes:
    """MTH written as the RFC's recursive definition over list slices (an oracle, not the module's code path)."""
    if not hashes:
        return hashlib.sha256(b"").digest()
    if len(hashes) == 1:
        return hashes[0]
    k = 1
    while k * 2 < len(hashes):
        k *= 2
    return H_node(reference_mth(hashes[:k]), reference_mth(hashes[k:]))


def leaves_of(n: int, tag: bytes = b"event") -> list[bytes]:
    """n distinct leaf hashes (distinct so that a swapped sibling can never hash the same)."""
    return [H_leaf(tag + b"-" + str(i).encode()) for i in range(n)]


ALL = leaves_of(MAX_N + 1)
ROOTS = [root(ALL[:n]) for n in range(MAX_N + 2)]  # ROOTS[n] = head of the first n leaves


def flip(h: bytes, bit: int) -> bytes:
    b = bytearray(h)
    b[(bit // 8) % len(b)] ^= 1 << (bit % 8)
    return bytes(b)


def is_rejected(fn, **kwargs) -> bool:
    """True when fn raised one of our two errors; any other exception propagates and fails the test."""
    try:
        fn(**kwargs)
    except REJECTED:
        return True
    return False


def proof_mutations(proof: list[bytes]):
    """Every single-element corruption: truncated, bit-flipped, removed, and a foreign element inserted anywhere."""
    intruder = H_leaf(b"intruder")
    for j, element in enumerate(proof):
        yield f"element {j} truncated", proof[:j] + [element[:-1]] + proof[j + 1:]
        yield f"element {j} bit-flipped", proof[:j] + [flip(element, 8 * j + 3)] + proof[j + 1:]
        yield f"element {j} removed", proof[:j] + proof[j + 1:]
    for j in range(len(proof) + 1):
        yield f"element inserted at {j}", proof[:j] + [intruder] + proof[j:]


# ----------------------------------------------------------------------------- known answers


def test_empty_tree_is_sha256_of_nothing():
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert root([]) == EMPTY_ROOT


def test_leaf_and_node_hashes_are_domain_separated():
    a, b = H_leaf(b"a"), H_leaf(b"b")
    assert leaf_hash(b"a") == hashlib.sha256(b"\x00a").digest()
    assert node_hash(a, b) == hashlib.sha256(b"\x01" + a + b).digest()
    # A leaf whose data is the concatenation of two hashes must not collide with their parent node.
    assert leaf_hash(a + b) != node_hash(a, b)
    assert leaf_hash(bytearray(b"a")) == leaf_hash(memoryview(b"a")) == leaf_hash(b"a")


# RFC 6962 reference test data (certificate-transparency test vectors): eight entries and MTH of each prefix.
CT_ENTRIES = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f",
)]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_PATH_0_OF_8 = [
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
]


def test_rfc6962_reference_vectors():
    hashes = [leaf_hash(e) for e in CT_ENTRIES]
    assert [root(hashes[:n]).hex() for n in range(1, 9)] == CT_ROOTS
    assert [p.hex() for p in inclusion_proof(hashes, index=0)] == CT_PATH_0_OF_8
    verify_inclusion(hashes[0], index=0, size=8, proof=[bytes.fromhex(p) for p in CT_PATH_0_OF_8],
                     root=bytes.fromhex(CT_ROOTS[-1]))


def test_hand_computed_small_trees():
    a, b, c, d, e = leaves_of(5)
    assert root([a]) == a
    assert root([a, b]) == H_node(a, b)
    assert root([a, b, c]) == H_node(H_node(a, b), c)  # split at k=2, not a balanced pad
    assert root([a, b, c, d]) == H_node(H_node(a, b), H_node(c, d))
    assert root([a, b, c, d, e]) == H_node(H_node(H_node(a, b), H_node(c, d)), e)


def test_rfc9162_worked_example_seven_leaves():
    # RFC 9162 2.1.5: leaves d0..d6, a..f, d6 leaf hashes; g,h,i nodes; j = leaf d6; k, l the two halves.
    a, b, c, d, e, f, j = leaves_of(7)
    g, h, i = H_node(a, b), H_node(c, d), H_node(e, f)
    k, l_ = H_node(g, h), H_node(i, j)  # the RFC's "l" (renamed for the linter)
    leaves = [a, b, c, d, e, f, j]
    assert root(leaves) == H_node(k, l_)
    assert inclusion_proof(leaves, index=0) == [b, h, l_]
    assert inclusion_proof(leaves, index=3) == [c, g, l_]
    assert inclusion_proof(leaves, index=4) == [f, j, k]
    assert inclusion_proof(leaves, index=6) == [i, k]
    assert consistency_proof(leaves, old_size=3) == [c, d, g, l_]
    assert consistency_proof(leaves, old_size=4) == [l_]
    assert consistency_proof(leaves, old_size=6) == [i, j, k]


# ----------------------------------------------------------------------------- exhaustive round trips


def test_root_matches_the_recursive_definition_for_every_size():
    for n in range(MAX_N + 2):
        assert ROOTS[n] == reference_mth(ALL[:n]), n


def test_every_inclusion_proof_up_to_64_verifies():
    checked = 0
    for n in range(1, MAX_N + 1):
        for i in range(n):
            proof = inclusion_proof(ALL[:n], index=i)
            assert len(proof) <= (n - 1).bit_length()
            verify_inclusion(ALL[i], index=i, size=n, proof=proof, root=ROOTS[n])
            checked += 1
    assert checked == MAX_N * (MAX_N + 1) // 2


def test_every_consistency_proof_up_to_64_verifies():
    checked = 0
    for n in range(1, MAX_N + 1):
        for m in range(0, n + 1):
            proof = consistency_proof(ALL[:n], old_size=m)
            verify_consistency(old_size=m, new_size=n, proof=proof, old_root=ROOTS[m], new_root=ROOTS[n])
            checked += m >= 1
    assert checked == MAX_N * (MAX_N + 1) // 2


# ----------------------------------------------------------------------------- corruption


def inclusion_corruptions(i: int, n: int, proof: list[bytes]):
    good = {"leaf_hash": ALL[i], "index": i, "size": n, "proof": proof, "root": ROOTS[n]}
    yield "index + 1", {**good, "index": i + 1}
    yield "index - 1", {**good, "index": i - 1}
    yield "size doubled", {**good, "size": 2 * n}
    yield "size halved", {**good, "size": n // 2}
    yield "root of the previous tree", {**good, "root": ROOTS[n - 1]}
    yield "root of the next tree", {**good, "root": ROOTS[n + 1]}
    yield "root bit-flipped", {**good, "root": flip(ROOTS[n], i)}
    yield "another leaf", {**good, "leaf_hash": ALL[(i + 1) % len(ALL)]}
    if n > 1:  # in a one-leaf tree the leaf is the root, so swapping them changes nothing
        yield "leaf and root swapped", {**good, "leaf_hash": ROOTS[n], "root": ALL[i]}
    for label, bad in proof_mutations(proof):
        yield label, {**good, "proof": bad}


def test_corrupted_inclusion_proofs_are_all_rejected():
    accepted, tried = [], 0
    for n in range(1, MAX_N + 1):
        for i in range(n):
            proof = inclusion_proof(ALL[:n], index=i)
            for label, kwargs in inclusion_corruptions(i, n, proof):
                tried += 1
                if not is_rejected(verify_inclusion, **kwargs):
                    accepted.append((n, i, label))
    assert accepted == []
    assert tried > 20_000  # every mutation family was exercised on every (size, index)


def consistency_corruptions(m: int, n: int, proof: list[bytes]):
    good = {"old_size": m, "new_size": n, "proof": proof, "old_root": ROOTS[m], "new_root": ROOTS[n]}
    yield "old_size + 1", {**good, "old_size": m + 1}
    yield "old_size - 1", {**good, "old_size": m - 1}
    yield "new_size doubled", {**good, "new_size": 2 * n}
    yield "new_size halved", {**good, "new_size": n // 2}
    yield "old_size doubled", {**good, "old_size": 2 * m}
    yield "old_size halved", {**good, "old_size": m // 2}
    yield "wrong old root", {**good, "old_root": ROOTS[m - 1]}
    yield "wrong new root", {**good, "new_root": ROOTS[n + 1]}
    yield "old root bit-flipped", {**good, "old_root": flip(ROOTS[m], m)}
    yield "new root bit-flipped", {**good, "new_root": flip(ROOTS[n], n)}
    # a new tree of the same size that does not extend the old one (its last leaf is forged)
    yield "foreign new tree", {**good, "new_root": root([*ALL[:n - 1], H_leaf(b"forged")])}
    if m < n:  # equal sizes have equal roots, so swapping them changes nothing
        yield "roots swapped", {**good, "old_root": ROOTS[n], "new_root": ROOTS[m]}
    for label, bad in proof_mutations(proof):
        yield label, {**good, "proof": bad}


def test_corrupted_consistency_proofs_are_all_rejected():
    accepted, tried = [], 0
    for n in range(1, MAX_N + 1):
        for m in range(1, n + 1):
            proof = consistency_proof(ALL[:n], old_size=m)
            for label, kwargs in consistency_corruptions(m, n, proof):
                tried += 1
                if not is_rejected(verify_consistency, **kwargs):
                    accepted.append((m, n, label))
    assert accepted == []
    assert tried > 30_000


def test_rewritten_history_fails_consistency():
    # The log of 40 events is "rewritten" at event 17; a proof from the honest 20-event checkpoint must fail.
    honest = leaves_of(40)
    forged = honest[:17] + [H_leaf(b"forged")] + honest[18:]
    proof = consistency_proof(forged, old_size=20)
    with pytest.raises(IntegrityError, match="old root"):
        verify_consistency(old_size=20, new_size=40, proof=proof, old_root=root(honest[:20]), new_root=root(forged))


def test_failure_messages_name_the_check():
    proof = inclusion_proof(ALL[:8], index=5)
    with pytest.raises(IntegrityError, match="too few elements") as err:
        verify_inclusion(ALL[5], index=5, size=8, proof=proof[:-1], root=ROOTS[8])
    assert err.value.code == "SG-INTEGRITY" and err.value.details["index"] == 5
    with pytest.raises(IntegrityError, match="too many elements"):
        verify_inclusion(ALL[5], index=5, size=8, proof=[*proof, ALL[0]], root=ROOTS[8])
    with pytest.raises(IntegrityError, match="outside a tree of 8"):
        verify_inclusion(ALL[5], index=8, size=8, proof=proof, root=ROOTS[8])
    with pytest.raises(IntegrityError, match="element 1 is 31 bytes"):
        verify_inclusion(ALL[5], index=5, size=8, proof=[proof[0], proof[1][:31], proof[2]], root=ROOTS[8])
    with pytest.raises(IntegrityError, match="does not reproduce the root") as err:
        verify_inclusion(ALL[4], index=5, size=8, proof=proof, root=ROOTS[8])
    assert err.value.details["expected"] == ROOTS[8].hex()
    with pytest.raises(IntegrityError, match="cannot shrink"):
        verify_consistency(old_size=9, new_size=8, proof=[], old_root=ROOTS[9], new_root=ROOTS[8])
    with pytest.raises(IntegrityError, match="new root"):
        verify_consistency(old_size=3, new_size=8, proof=consistency_proof(ALL[:8], old_size=3),
                           old_root=ROOTS[3], new_root=ROOTS[7])
    with pytest.raises(IntegrityError, match="same size have different roots"):
        verify_consistency(old_size=8, new_size=8, proof=[], old_root=ROOTS[8], new_root=ROOTS[7])
    with pytest.raises(IntegrityError, match="empty-tree hash"):
        verify_consistency(old_size=0, new_size=8, proof=[], old_root=ROOTS[1], new_root=ROOTS[8])


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "call",
    [
        lambda: leaf_hash("text"),
        lambda: node_hash(ALL[0], ALL[1][:31]),
        lambda: node_hash(ALL[0].hex(), ALL[1]),
        lambda: root(ALL[0]),  # a single hash is bytes, not a list of hashes
        lambda: root([ALL[0], b"short"]),
        lambda: root(["a" * 32]),
        lambda: inclusion_proof(ALL[:4], index=4),
        lambda: inclusion_proof(ALL[:4], index=-1),
        lambda: inclusion_proof(ALL[:4], index=True),
        lambda: inclusion_proof(ALL[:4], index=1.0),
        lambda: inclusion_proof([], index=0),
        lambda: consistency_proof(ALL[:4], old_size=5),
        lambda: consistency_proof(ALL[:4], old_size=-1),
        lambda: verify_inclusion(ALL[0], index=0, size=-1, proof=[], root=ROOTS[1]),
        lambda: verify_inclusion(ALL[0], index=0, size=1, proof=[], root=ROOTS[1].hex()),
        lambda: verify_inclusion(ALL[0], index=0, size=2, proof=ALL[1], root=ROOTS[2]),
        lambda: verify_inclusion(ALL[0], index=0, size=2, proof=[ALL[1].hex()], root=ROOTS[2]),
        lambda: verify_consistency(old_size=1, new_size=2, proof=[ALL[1]], old_root=ROOTS[1][:16], new_root=ROOTS[2]),
        lambda: verify_consistency(old_size="1", new_size=2, proof=[ALL[1]], old_root=ROOTS[1], new_root=ROOTS[2]),
    ],
)
def test_malformed_calls_raise_parameter_error(call):
    with pytest.raises(ParameterError) as err:
        call()
    assert err.value.code == "SG-PARAMETER"


def test_positions_are_keyword_only():
    with pytest.raises(TypeError):
        inclusion_proof(ALL[:4], 1)  # type: ignore[misc]
    with pytest.raises(TypeError):
        verify_consistency(1, 2, [ALL[1]], ROOTS[1], ROOTS[2])  # type: ignore[misc]


# ----------------------------------------------------------------------------- properties


unique_leaves = st.lists(st.binary(max_size=24), min_size=1, max_size=300, unique=True).map(
    lambda entries: [leaf_hash(e) for e in entries]
)


@settings(max_examples=60, deadline=None)
@given(leaves=unique_leaves, data=st.data())
def test_property_inclusion_round_trip_and_tamper(leaves, data):
    n = len(leaves)
    head = root(leaves)
    assert head == reference_mth(leaves)
    i = data.draw(st.integers(0, n - 1), label="index")
    proof = inclusion_proof(leaves, index=i)
    verify_inclusion(leaves[i], index=i, size=n, proof=proof, root=head)
    bit = data.draw(st.integers(0, 255), label="bit")
    with pytest.raises(IntegrityError):
        verify_inclusion(leaves[i], index=i, size=n, proof=proof, root=flip(head, bit))
    with pytest.raises(IntegrityError):
        verify_inclusion(flip(leaves[i], bit), index=i, size=n, proof=proof, root=head)
    if proof:
        j = data.draw(st.integers(0, len(proof) - 1), label="element")
        with pytest.raises(IntegrityError):
            verify_inclusion(leaves[i], index=i, size=n, proof=[*proof[:j], flip(proof[j], bit), *proof[j + 1:]], root=head)


@settings(max_examples=60, deadline=None)
@given(leaves=unique_leaves, data=st.data())
def test_property_consistency_chains_across_three_checkpoints(leaves, data):
    n = len(leaves)
    m2 = data.draw(st.integers(1, n), label="middle size")
    m1 = data.draw(st.integers(1, m2), label="old size")
    r1, r2, r3 = root(leaves[:m1]), root(leaves[:m2]), root(leaves)
    verify_consistency(old_size=m1, new_size=m2, proof=consistency_proof(leaves[:m2], old_size=m1), old_root=r1, new_root=r2)
    verify_consistency(old_size=m2, new_size=n, proof=consistency_proof(leaves, old_size=m2), old_root=r2, new_root=r3)
    proof = consistency_proof(leaves, old_size=m1)
    verify_consistency(old_size=m1, new_size=n, proof=proof, old_root=r1, new_root=r3)
    if m1 < n:  # changing any already-logged leaf breaks the proof from the old checkpoint
        k = data.draw(st.integers(0, m1 - 1), label="rewritten leaf")
        forged = [*leaves[:k], flip(leaves[k], 0), *leaves[k + 1:]]
        with pytest.raises(IntegrityError):
            verify_consistency(old_size=m1, new_size=n, proof=consistency_proof(forged, old_size=m1),
                               old_root=r1, new_root=root(forged))


hash_like = st.one_of(st.binary(min_size=32, max_size=32), st.binary(max_size=40), st.text(max_size=4), st.integers())


@settings(max_examples=300, deadline=None)
@given(
    leaf=hash_like, index=st.integers(-3, 70), size=st.integers(-3, 140),
    proof=st.one_of(st.lists(hash_like, max_size=9), st.binary(max_size=8), st.none()), head=hash_like,
)
def test_property_arbitrary_inclusion_claims_raise_only_our_errors(leaf, index, size, proof, head):
    # Random claims essentially never verify; the point is that nothing but our two errors escapes.
    assert is_rejected(verify_inclusion, leaf_hash=leaf, index=index, size=size, proof=proof, root=head)


@settings(max_examples=300, deadline=None)
@given(
    old_size=st.integers(-3, 70), new_size=st.integers(-3, 140),
    proof=st.one_of(st.lists(hash_like, max_size=9), st.binary(max_size=8), st.none()),
    old_root=hash_like, new_root=hash_like,
)
def test_property_arbitrary_consistency_claims_raise_only_our_errors(old_size, new_size, proof, old_root, new_root):
    # Excluded: the trivially true claims (0 -> anything from the empty hash, n -> n with equal roots, empty proof).
    trivially_true = proof == [] and (
        (old_size == 0 and new_size >= 0 and old_root == EMPTY_ROOT and isinstance(new_root, bytes) and len(new_root) == 32)
        or (old_size == new_size >= 0 and old_root == new_root and isinstance(old_root, bytes) and len(old_root) == 32)
    )
    if not trivially_true:
        assert is_rejected(verify_consistency, old_size=old_size, new_size=new_size, proof=proof,
                           old_root=old_root, new_root=new_root)


def test_module_exports():
    assert set(merkle.__all__) >= {"leaf_hash", "root", "inclusion_proof", "verify_inclusion",
                                   "consistency_proof", "verify_consistency"}
