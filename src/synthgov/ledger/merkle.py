"""Merkle tree hashing, inclusion and consistency proofs (RFC 9162, section 2.1).

The ledger commits to its events with the Merkle Tree Hash of Certificate
Transparency v2 (RFC 9162 section 2.1, the same hashing as RFC 6962). Hashes are
domain-separated so that a leaf can never be passed off as an inner node:

* leaf hash: ``SHA-256(0x00 || data)`` (:func:`leaf_hash`);
* node hash: ``SHA-256(0x01 || left || right)`` (:func:`node_hash`);
* the hash of an empty tree is ``SHA-256()`` of nothing (:data:`EMPTY_ROOT`);
* a tree of ``n > 1`` leaves splits at ``k``, the largest power of two smaller
  than ``n``: ``MTH(D[n]) = node_hash(MTH(D[0:k]), MTH(D[k:n]))`` (:func:`root`).

An *inclusion proof* (:func:`inclusion_proof`, :func:`verify_inclusion`) shows
that one leaf sits at a given index of a tree with a given root; a *consistency
proof* (:func:`consistency_proof`, :func:`verify_consistency`) shows that the tree
of ``old_size`` leaves is a prefix of the tree of ``new_size`` leaves, i.e. the log
only grew. Proofs are lists of 32-byte hashes in the order the RFC defines.

Functions take and return raw 32-byte hashes, never hex. Errors:

* :class:`~synthgov.errors.ParameterError` for a malformed call: a value of the
  wrong type, a negative size or index, a caller-supplied hash (leaf hash, root)
  that is not 32 bytes, or a proof request outside the given leaves;
* :class:`~synthgov.errors.IntegrityError` when a claim does not verify: the proof
  does not reproduce the root, has too many or too few elements, holds an element
  that is not 32 bytes, the index lies outside the claimed tree, or the "old" tree
  is larger than the "new" one. ``details`` names what failed.

Tree sizes are not bound by the proofs themselves (RFC 9162 binds them in the
signed tree head), so callers must take ``size`` and ``root`` from the same
trusted checkpoint.

>>> leaves = [leaf_hash(e) for e in (b"read source", b"fit", b"sample")]
>>> head = root(leaves)
>>> head == node_hash(node_hash(leaves[0], leaves[1]), leaves[2])
True
>>> proof = inclusion_proof(leaves, index=2)
>>> verify_inclusion(leaves[2], index=2, size=3, proof=proof, root=head) is None
True
>>> verify_inclusion(leaves[1], index=2, size=3, proof=proof, root=head)  # doctest: +ELLIPSIS
Traceback (most recent call last):
    ...
synthgov.errors.IntegrityError: inclusion proof for leaf 2 of 3 does not reproduce the root...
>>> grown = leaves + [leaf_hash(b"evaluate")]
>>> proof = consistency_proof(grown, old_size=3)
>>> verify_consistency(old_size=3, new_size=4, proof=proof, old_root=head, new_root=root(grown)) is None
True
>>> root([]) == EMPTY_ROOT == hashlib.sha256(b"").digest()
True
"""

from __future__ import annotations

import hashlib
import operator
from collections.abc import Sequence

from ..errors import IntegrityError, ParameterError

__all__ = [
    "HASH_SIZE",
    "EMPTY_ROOT",
    "leaf_hash",
    "node_hash",
    "root",
    "inclusion_proof",
    "verify_inclusion",
    "consistency_proof",
    "verify_consistency",
]

#: Length in bytes of every hash (SHA-256).
HASH_SIZE = 32
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
#: The Merkle Tree Hash of the empty tree: SHA-256 of the empty string.
EMPTY_ROOT = hashlib.sha256(b"").digest()

_BYTES_LIKE = (bytes, bytearray, memoryview)


# ----------------------------------------------------------------------------- validation


def _short(h: bytes) -> str:
    return h.hex()[:16] + "…"


def _as_int(value: object, name: str, *, minimum: int) -> int:
    if isinstance(value, bool):
        raise ParameterError(f"{name} must be an integer, got a bool", details={"parameter": name})
    try:
        number = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise ParameterError(
            f"{name} must be an integer, got {type(value).__name__}", details={"parameter": name}
        ) from None
    if number < minimum:
        raise ParameterError(f"{name} must be >= {minimum}, got {number}", details={"parameter": name, "value": number})
    return number


def _as_hash(value: object, name: str) -> bytes:
    """A caller-supplied hash: bytes-like of exactly HASH_SIZE bytes, else ParameterError."""
    if not isinstance(value, _BYTES_LIKE):
        raise ParameterError(
            f"{name} must be {HASH_SIZE} raw bytes, got {type(value).__name__}",
            hint="pass the digest as bytes (bytes.fromhex(...) for hex strings)",
            details={"parameter": name},
        )
    raw = bytes(value)
    if len(raw) != HASH_SIZE:
        raise ParameterError(
            f"{name} must be {HASH_SIZE} bytes, got {len(raw)}",
            hint="pass the raw SHA-256 digest, not its hex form",
            details={"parameter": name, "length": len(raw)},
        )
    return raw


def _as_leaves(leaf_hashes: object) -> list[bytes]:
    if isinstance(leaf_hashes, (*_BYTES_LIKE, str)) or not isinstance(leaf_hashes, Sequence):
        raise ParameterError(
            f"leaf_hashes must be a sequence of {HASH_SIZE}-byte hashes, got {type(leaf_hashes).__name__}",
            hint="hash each entry with leaf_hash() and pass the list",
            details={"parameter": "leaf_hashes"},
        )
    return [_as_hash(h, f"leaf_hashes[{i}]") for i, h in enumerate(leaf_hashes)]


def _as_proof(proof: object, what: str) -> list[bytes]:
    """Proof elements come from the prover: a wrong type is a ParameterError, a wrong length an IntegrityError."""
    if isinstance(proof, (*_BYTES_LIKE, str)) or not isinstance(proof, Sequence):
        raise ParameterError(
            f"proof must be a sequence of {HASH_SIZE}-byte hashes, got {type(proof).__name__}",
            details={"parameter": "proof"},
        )
    out: list[bytes] = []
    for i, element in enumerate(proof):
        if not isinstance(element, _BYTES_LIKE):
            raise ParameterError(
                f"proof[{i}] must be {HASH_SIZE} raw bytes, got {type(element).__name__}",
                details={"parameter": "proof", "position": i},
            )
        raw = bytes(element)
        if len(raw) != HASH_SIZE:
            raise IntegrityError(
                f"{what} element {i} is {len(raw)} bytes, expected {HASH_SIZE}",
                hint="the proof was truncated or altered",
                details={"position": i, "length": len(raw)},
            )
        out.append(raw)
    return out


# ----------------------------------------------------------------------------- hashing


def leaf_hash(data: bytes | bytearray | memoryview) -> bytes:
    """The RFC 9162 leaf hash ``SHA-256(0x00 || data)`` of one entry.

    >>> leaf_hash(b"") == hashlib.sha256(b"\\x00").digest()
    True
    """
    if not isinstance(data, _BYTES_LIKE):
        raise ParameterError(
            f"leaf data must be bytes, got {type(data).__name__}",
            hint="encode text first, e.g. text.encode('utf-8')",
            details={"parameter": "data"},
        )
    return hashlib.sha256(_LEAF_PREFIX + bytes(data)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The RFC 9162 inner-node hash ``SHA-256(0x01 || left || right)`` of two 32-byte hashes."""
    return _node(_as_hash(left, "left"), _as_hash(right, "right"))


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """k: the largest power of two strictly smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def _mth(hashes: list[bytes], lo: int, hi: int) -> bytes:
    """MTH(D[lo:hi]) over already-hashed leaves (RFC 9162 2.1.1); hi > lo."""
    n = hi - lo
    if n == 1:
        return hashes[lo]
    k = _split(n)
    return _node(_mth(hashes, lo, lo + k), _mth(hashes, lo + k, hi))


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """The Merkle Tree Hash of a list of leaf hashes (:data:`EMPTY_ROOT` for none).

    >>> a, b = leaf_hash(b"a"), leaf_hash(b"b")
    >>> root([a]) == a and root([a, b]) == node_hash(a, b)
    True
    """
    hashes = _as_leaves(leaf_hashes)
    return _mth(hashes, 0, len(hashes)) if hashes else EMPTY_ROOT


# ----------------------------------------------------------------------------- inclusion


def inclusion_proof(leaf_hashes: Sequence[bytes], *, index: int) -> list[bytes]:
    """The audit path PATH(index, D[n]) of RFC 9162 2.1.3.1, leaf side first.

    ``leaf_hashes`` is the whole tree (slice it to prove against an older size).
    """
    hashes = _as_leaves(leaf_hashes)
    index = _as_int(index, "index", minimum=0)
    if index >= len(hashes):
        raise ParameterError(
            f"index {index} is outside a tree of {len(hashes)} leaves",
            details={"index": index, "size": len(hashes)},
        )
    # Walk from the root down to the leaf, collecting the sibling subtree at each split;
    # the RFC lists them bottom-up, so reverse at the end.
    path: list[bytes] = []
    lo, hi = 0, len(hashes)
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            path.append(_mth(hashes, lo + k, hi))
            hi = lo + k
        else:
            path.append(_mth(hashes, lo, lo + k))
            lo += k
    path.reverse()
    return path


def verify_inclusion(
    leaf_hash: bytes, *, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` sits at ``index`` of the ``size``-leaf tree whose head is ``root``.

    Follows RFC 9162 2.1.3.2. Returns None; raises IntegrityError naming the failed check.
    """
    leaf = _as_hash(leaf_hash, "leaf_hash")
    expected = _as_hash(root, "root")
    index = _as_int(index, "index", minimum=0)
    size = _as_int(size, "size", minimum=0)
    path = _as_proof(proof, "inclusion proof")
    where = f"leaf {index} of {size}"
    details = {"index": index, "size": size, "proof_length": len(path)}
    if index >= size:
        raise IntegrityError(f"inclusion proof names leaf {index}, outside a tree of {size} leaves", details=details)

    fn, sn = index, size - 1
    r = leaf
    for p in path:
        if sn == 0:
            raise IntegrityError(f"inclusion proof for {where} has too many elements", details=details)
        if fn & 1 or fn == sn:
            r = _node(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = _node(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise IntegrityError(f"inclusion proof for {where} has too few elements", details=details)
    if r != expected:
        raise IntegrityError(
            f"inclusion proof for {where} does not reproduce the root: computed {_short(r)}, expected {_short(expected)}",
            hint="the leaf, the proof, the index, the size or the root was altered",
            details={**details, "computed": r.hex(), "expected": expected.hex()},
        )


# ----------------------------------------------------------------------------- consistency


def consistency_proof(leaf_hashes: Sequence[bytes], *, old_size: int) -> list[bytes]:
    """PROOF(old_size, D[n]) of RFC 9162 2.1.4.1: the tree of ``old_size`` leaves is a prefix of this one.

    Empty when ``old_size`` is 0 or equals the number of leaves (nothing to prove).
    """
    hashes = _as_leaves(leaf_hashes)
    m = _as_int(old_size, "old_size", minimum=0)
    if m > len(hashes):
        raise ParameterError(
            f"old_size {m} is larger than the tree of {len(hashes)} leaves",
            details={"old_size": m, "size": len(hashes)},
        )
    if m == 0 or m == len(hashes):
        return []
    # SUBPROOF(m, D[lo:hi], complete), unrolled top-down; the RFC lists the
    # elements bottom-up, so reverse at the end.
    proof: list[bytes] = []
    lo, hi, complete = 0, len(hashes), True
    while True:
        n = hi - lo
        if m == n:
            if not complete:
                proof.append(_mth(hashes, lo, hi))
            break
        k = _split(n)
        if m <= k:
            proof.append(_mth(hashes, lo + k, hi))
            hi = lo + k
        else:
            proof.append(_mth(hashes, lo, lo + k))
            lo += k
            m -= k
            complete = False
    proof.reverse()
    return proof


def verify_consistency(
    *, old_size: int, new_size: int, proof: Sequence[bytes], old_root: bytes, new_root: bytes
) -> None:
    """Check that the ``old_size`` tree with head ``old_root`` is a prefix of the ``new_size`` tree with head ``new_root``.

    Follows RFC 9162 2.1.4.2 for ``0 < old_size < new_size``; equal sizes need an
    empty proof and equal roots, and an empty old tree (``old_root`` =
    :data:`EMPTY_ROOT`) is a prefix of every tree. Raises IntegrityError naming the failed check.
    """
    m = _as_int(old_size, "old_size", minimum=0)
    n = _as_int(new_size, "new_size", minimum=0)
    first = _as_hash(old_root, "old_root")
    second = _as_hash(new_root, "new_root")
    path = _as_proof(proof, "consistency proof")
    what = f"consistency proof from {m} to {n} leaves"
    details = {"old_size": m, "new_size": n, "proof_length": len(path)}
    if m > n:
        raise IntegrityError(f"{what}: the old tree is larger than the new one (a log cannot shrink)", details=details)
    if m == 0 or m == n:
        if path:
            raise IntegrityError(f"{what} must be empty, got {len(path)} elements", details=details)
        if m == 0 and first != EMPTY_ROOT:
            raise IntegrityError(f"{what}: old_root is not the empty-tree hash", details=details)
        if m == n and first != second:
            raise IntegrityError(
                f"{what}: trees of the same size have different roots {_short(first)} and {_short(second)}",
                details={**details, "old_root": first.hex(), "new_root": second.hex()},
            )
        return
    if not path:
        raise IntegrityError(f"{what} is empty", details=details)

    if m & (m - 1) == 0:  # old tree is a complete subtree: its root is the first node
        path = [first, *path]
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise IntegrityError(f"{what} has too many elements", details=details)
        if fn & 1 or fn == sn:
            fr = _node(c, fr)
            sr = _node(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = _node(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise IntegrityError(f"{what} has too few elements", details=details)
    if fr != first:
        raise IntegrityError(
            f"{what} does not reproduce the old root: computed {_short(fr)}, expected {_short(first)}",
            hint="the proof, a size or old_root was altered",
            details={**details, "computed": fr.hex(), "expected": first.hex()},
        )
    if sr != second:
        raise IntegrityError(
            f"{what} does not reproduce the new root: computed {_short(sr)}, expected {_short(second)}",
            hint="the log was rewritten, or the proof, a size or new_root was altered",
            details={**details, "computed": sr.hex(), "expected": second.hex()},
        )
