"""Regenerate the corpus of releases that verification must reject.

Run from the repository root: ``.venv/bin/python tests/provenance_corpus/make_corpus.py``.

Two valid releases (A and B) are packaged from 60 rows of the bundled CPS1988 table
(US Census Bureau, public domain) with the test-only keys in ``keys/`` (corpus-a
signs; corpus-b is a key verification does not trust). Each ``<name>_fail/``
folder holds ``release/`` (release A with one thing wrong) and a one-line
``README`` saying why it must fail; ``manifest.json`` lists every case with the
exact problem codes :func:`synthgov.provenance.verify` must report, given only
``keys/corpus-a.pub`` as the trusted key.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq

import synthgov as sg
from synthgov.provenance import dsse
from synthgov.provenance.keys import SigningKey, load_signing_key
from synthgov.provenance.package import package

HERE = Path(__file__).resolve().parent
KEYS = HERE / "keys"
ENV = "release.dsse.json"
CREATED = dt.datetime(2025, 1, 15, 12, 0, tzinfo=dt.timezone.utc)


def _key(name: str) -> SigningKey:
    private = KEYS / f"{name}.key"
    if not private.exists():
        fresh = SigningKey.generate(name)
        from cryptography.hazmat.primitives import serialization

        private.write_bytes(fresh.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption()))
        (KEYS / f"{name}.pub").write_text(fresh.public_key().pem())
    os.chmod(private, 0o600)  # git keeps 0644; the loader refuses loose permissions
    return load_signing_key(private)


def _releases(tmp: Path, a: SigningKey) -> tuple[Path, Path]:
    real = sg.datasets.load_cps1988().sample(120, random_state=7).reset_index(drop=True)
    train = real.iloc[:60].reset_index(drop=True)
    syn = sg.CopulaSynthesizer(random_state=0).fit(train)
    common = dict(source=train, synthesizer=syn, purpose="Teach regression on wage data.",
                  creator="Corpus Maker <corpus@example.org>", intended_uses=["teaching"],
                  prohibited_uses=["re-identification"], key=a, created=CREATED)
    rel_a = package(syn.sample(60, random_state=1), tmp / "a", release_id="corpus-release-a", **common)
    rel_b = package(syn.sample(60, random_state=2), tmp / "b", release_id="corpus-release-b", **common)
    return rel_a.path, rel_b.path


# -- helpers that alter a copy of release A --------------------------------------------------------------
def env_doc(d: Path) -> dict:
    return json.loads((d / ENV).read_bytes())


def write_env(d: Path, doc: dict) -> None:
    (d / ENV).write_bytes(dsse.dumps(doc))


def statement_of(d: Path) -> dict:
    return json.loads(base64.b64decode(env_doc(d)["payload"]))


def sign_statement(d: Path, stmt: dict, key: SigningKey, payload_type: str = dsse.PAYLOAD_TYPE) -> None:
    write_env(d, dsse.sign(dsse.canonical_json(stmt), key, payload_type))


def set_digest(stmt: dict, name: str, data: bytes) -> dict:
    """Record ``data`` as file ``name`` in the statement: its sha256 and its signed size."""
    for s in stmt["subject"]:
        if s["name"] == name:
            s["digest"]["sha256"] = hashlib.sha256(data).hexdigest()
    stmt["predicate"][dsse.FILE_SIZES][name] = len(data)
    return stmt


def flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]


def resign_with_data(d: Path, raw: bytes, key: SigningKey) -> None:
    """Put ``raw`` in as data.parquet, record its sha256 in croissant.json and the statement, re-sign."""
    (d / "data.parquet").write_bytes(raw)
    croissant = json.loads((d / "croissant.json").read_text())
    croissant["distribution"][0]["sha256"] = hashlib.sha256(raw).hexdigest()
    text = json.dumps(croissant, indent=1, ensure_ascii=False) + "\n"
    (d / "croissant.json").write_text(text)
    sign_statement(d, set_digest(set_digest(statement_of(d), "data.parquet", raw), "croissant.json", text.encode()), key)


def rewrite_parquet_metadata(path: Path, label: dict | None) -> bytes:
    """data.parquet's bytes with its ``synthgov`` label replaced (or removed)."""
    table = pq.read_table(path)
    meta = dict(table.schema.metadata or {})
    meta.pop(b"synthgov", None)
    if label is not None:
        meta[b"synthgov"] = json.dumps(label).encode()
    buf = io.BytesIO()
    pq.write_table(table.replace_schema_metadata(meta), buf)
    return buf.getvalue()


def cases(a_key: SigningKey, b_key: SigningKey, other: Path) -> dict[str, tuple[list[str], str, Callable[[Path], None]]]:
    """name -> (expected codes, why, how to break a copy of release A)."""
    def c(codes, why):
        def deco(fn):
            out[fn.__name__] = (codes, why, fn)
            return fn
        return deco

    out: dict[str, tuple[list[str], str, Callable[[Path], None]]] = {}
    D, M, U, K, S = "SG-VERIFY-DIGEST", "SG-VERIFY-MISSING", "SG-VERIFY-UNEXPECTED", "SG-VERIFY-UNKNOWN-KEY", "SG-VERIFY-SIGNATURE"
    P, R, X, T, C = "SG-VERIFY-PAYLOAD-TYPE", "SG-VERIFY-RELEASE-ID", "SG-VERIFY-MALFORMED", "SG-VERIFY-PREDICATE-TYPE", "SG-VERIFY-CONTENT"

    @c([D], "one byte in the middle of data.parquet was changed after signing")
    def data_byte_edited(d):
        raw = (d / "data.parquet").read_bytes()
        (d / "data.parquet").write_bytes(flip(raw, len(raw) // 2))

    @c([D], "a byte was appended to data.parquet")
    def data_byte_appended(d):
        (d / "data.parquet").write_bytes((d / "data.parquet").read_bytes() + b"\0")

    @c([D], "data.parquet was truncated by 10 bytes")
    def data_truncated(d):
        (d / "data.parquet").write_bytes((d / "data.parquet").read_bytes()[:-10])

    @c([D], "one word of croissant.json was changed")
    def croissant_edited(d):
        text = (d / "croissant.json").read_text()
        (d / "croissant.json").write_text(text.replace("re-identification", "re-identificatioN", 1))

    @c([D], "a newline was added to the end of croissant.json")
    def croissant_whitespace(d):
        (d / "croissant.json").write_text((d / "croissant.json").read_text() + "\n")

    @c([D], "the purpose in card.md was rewritten")
    def card_edited(d):
        text = (d / "card.md").read_text()
        (d / "card.md").write_text(text.replace("Teach regression", "Train a credit model", 1))

    @c([D], "data.parquet was swapped for the one of another release signed by the same key")
    def data_swapped(d):
        shutil.copy(other / "data.parquet", d / "data.parquet")

    @c([D], "croissant.json was swapped for the one of another release")
    def croissant_swapped(d):
        shutil.copy(other / "croissant.json", d / "croissant.json")

    @c([D], "card.md was swapped for the one of another release")
    def card_swapped(d):
        shutil.copy(other / "card.md", d / "card.md")

    @c([M], "data.parquet was deleted")
    def data_missing(d):
        (d / "data.parquet").unlink()

    @c([M], "croissant.json was deleted")
    def croissant_missing(d):
        (d / "croissant.json").unlink()

    @c([M], "card.md was deleted")
    def card_missing(d):
        (d / "card.md").unlink()

    @c([M, U], "card.md was renamed CARD.md: names are compared exactly, even where the file system ignores case")
    def card_renamed_upper_case(d):
        (d / "card.md").rename(d / "CARD.md")

    @c([M], "release.dsse.json was deleted: the folder is not a release")
    def envelope_missing(d):
        (d / ENV).unlink()

    @c([U], "a file no signature covers (notes.txt) was added")
    def extra_file(d):
        (d / "notes.txt").write_text("added after signing\n")

    @c([U], "a hidden file (.DS_Store) was added")
    def extra_hidden_file(d):
        (d / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")

    @c([U], "a sub-folder was added")
    def extra_folder(d):
        (d / "more").mkdir()
        (d / "more" / "rows.csv").write_text("a,b\n1,2\n")

    @c([U], "data.parquet is a symbolic link to the identical, valid bytes outside the release (links are not followed)")
    def data_symlink(d):
        shutil.move(d / "data.parquet", d.parent / "data.parquet")
        (d / "data.parquet").symlink_to(Path("..") / "data.parquet")

    @c([U], "release.dsse.json is a symbolic link to the valid envelope outside the release")
    def envelope_symlink(d):
        shutil.move(d / ENV, d.parent / ENV)
        (d / ENV).symlink_to(Path("..") / ENV)

    @c([U], "data.parquet was replaced by a folder of that name")
    def data_is_a_folder(d):
        (d / "data.parquet").unlink()
        (d / "data.parquet").mkdir()
        (d / "data.parquet" / "part-0.parquet").write_bytes(b"PAR1")  # git keeps no empty folder

    @c([K], "the statement was re-signed with another key (corpus-b), which is not trusted")
    def resigned_other_key(d):
        sign_statement(d, statement_of(d), b_key)

    @c([K], "the signature's keyid was changed (the signature itself is intact)")
    def keyid_changed(d):
        doc = env_doc(d)
        kid = doc["signatures"][0]["keyid"]
        doc["signatures"][0]["keyid"] = ("0" if kid[0] != "0" else "1") + kid[1:]
        write_env(d, doc)

    @c([K], "a second signature by an untrusted key was added next to the valid one")
    def extra_untrusted_signature(d):
        doc = env_doc(d)
        extra = dsse.sign(base64.b64decode(doc["payload"]), b_key)["signatures"][0]
        doc["signatures"].append(extra)
        write_env(d, doc)

    @c([S], "one bit of the signature was flipped")
    def signature_bit_flipped(d):
        doc = env_doc(d)
        sig = base64.b64decode(doc["signatures"][0]["sig"])
        doc["signatures"][0]["sig"] = base64.b64encode(flip(sig, 5)).decode()
        write_env(d, doc)

    @c([S], "data.parquet was edited and the statement's digest updated, without re-signing")
    def payload_edited_not_resigned(d):
        raw = flip((d / "data.parquet").read_bytes(), 100)
        (d / "data.parquet").write_bytes(raw)
        doc = env_doc(d)
        stmt = set_digest(statement_of(d), "data.parquet", raw)
        doc["payload"] = base64.b64encode(dsse.canonical_json(stmt)).decode()
        write_env(d, doc)

    @c([S], "the signature was copied from another release signed by the same key")
    def signature_from_other_release(d):
        doc = env_doc(d)
        doc["signatures"] = json.loads((other / ENV).read_bytes())["signatures"]
        write_env(d, doc)

    @c([S], "a second, forged signature claiming the trusted key id was added")
    def extra_forged_signature(d):
        doc = env_doc(d)
        doc["signatures"].append({"keyid": doc["signatures"][0]["keyid"], "sig": base64.b64encode(bytes(range(64))).decode()})
        write_env(d, doc)

    @c([S], "the signature was cut to 63 bytes")
    def signature_too_short(d):
        doc = env_doc(d)
        doc["signatures"][0]["sig"] = base64.b64encode(base64.b64decode(doc["signatures"][0]["sig"])[:63]).decode()
        write_env(d, doc)

    @c([P], "payloadType was changed to application/json without re-signing")
    def payload_type_changed(d):
        doc = env_doc(d)
        doc["payloadType"] = "application/json"
        write_env(d, doc)

    @c([P], "the statement was re-signed (trusted key) under payload type application/vnd.dsse+json")
    def payload_type_changed_resigned(d):
        sign_statement(d, statement_of(d), a_key, payload_type="application/vnd.dsse+json")

    @c([R, R], "the statement was re-signed (trusted key) for another release id: the files name corpus-release-a")
    def statement_for_other_release(d):
        stmt = statement_of(d)
        stmt["predicate"]["releaseId"] = "corpus-release-b"
        sign_statement(d, stmt, a_key)

    @c([R], "data.parquet of release B was put in release A and the statement re-signed: the data names release B")
    def data_from_other_release_resigned(d):
        resign_with_data(d, (other / "data.parquet").read_bytes(), a_key)

    @c([R, D], "croissant.json of release B was put in release A and the statement re-signed")
    def croissant_from_other_release_resigned(d):
        raw = (other / "croissant.json").read_bytes()
        (d / "croissant.json").write_bytes(raw)
        sign_statement(d, set_digest(statement_of(d), "croissant.json", raw), a_key)

    @c([R], "a valid release A replayed where release corpus-release-b is expected (manifest release_id)")
    def replayed_under_another_id(d):
        pass

    @c([X], "the envelope was truncated to half its length")
    def envelope_truncated(d):
        raw = (d / ENV).read_bytes()
        (d / ENV).write_bytes(raw[: len(raw) // 2])

    @c([X], "the envelope's signature list is empty")
    def envelope_no_signatures(d):
        doc = env_doc(d)
        doc["signatures"] = []
        write_env(d, doc)

    @c([X], "the envelope's signatures is an object, not a list")
    def envelope_signatures_not_list(d):
        doc = env_doc(d)
        doc["signatures"] = doc["signatures"][0]
        write_env(d, doc)

    @c([X], "the same signature is listed twice")
    def envelope_duplicate_signature(d):
        doc = env_doc(d)
        doc["signatures"] = doc["signatures"] * 2
        write_env(d, doc)

    @c([X], "the envelope is binary garbage")
    def envelope_garbage(d):
        (d / ENV).write_bytes(bytes(range(256)))

    @c([X], "the envelope file is empty")
    def envelope_empty(d):
        (d / ENV).write_bytes(b"")

    @c([X], "the envelope was re-formatted (compact JSON): not the canonical bytes")
    def envelope_reformatted(d):
        (d / ENV).write_bytes(json.dumps(env_doc(d), separators=(",", ":")).encode())

    @c([X], "an unknown field was added to the envelope")
    def envelope_extra_field(d):
        doc = env_doc(d)
        doc["comment"] = "looks harmless"
        write_env(d, doc)

    @c([X], "the envelope repeats the payloadType key (JSON parsers disagree on which wins)")
    def envelope_duplicate_key(d):
        raw = (d / ENV).read_bytes()
        (d / ENV).write_bytes(raw.replace(b'  "payloadType"', b'  "payloadType": "text/plain",\n  "payloadType"', 1))

    @c([X], "the payload is not base64")
    def payload_not_base64(d):
        doc = env_doc(d)
        doc["payload"] = "not*base64!"
        write_env(d, doc)

    @c([X], "the signed payload (trusted key) is not JSON")
    def payload_not_json_signed(d):
        write_env(d, dsse.sign(b"hello, world", a_key))

    @c([X], "the signed statement (trusted key) has in-toto _type v0.1")
    def statement_old_type_signed(d):
        stmt = statement_of(d)
        stmt["_type"] = "https://in-toto.io/Statement/v0.1"
        sign_statement(d, stmt, a_key)

    @c([T], "the signed statement (trusted key) carries a SLSA predicate, not a synthgov release")
    def predicate_type_other_signed(d):
        stmt = statement_of(d)
        stmt["predicateType"] = "https://slsa.dev/provenance/v1"
        sign_statement(d, stmt, a_key)

    @c([X], "a signed subject name escapes the folder (../data.parquet)")
    def subject_path_traversal_signed(d):
        stmt = statement_of(d)
        stmt["subject"][0]["name"] = "../" + stmt["subject"][0]["name"]
        sign_statement(d, stmt, a_key)

    @c([X], "the signed statement lists data.parquet twice")
    def subject_duplicate_signed(d):
        stmt = statement_of(d)
        stmt["subject"].append(next(s for s in stmt["subject"] if s["name"] == "data.parquet"))
        sign_statement(d, stmt, a_key)

    @c([X], "the signed statement does not cover data.parquet")
    def statement_omits_data_signed(d):
        stmt = statement_of(d)
        stmt["subject"] = [s for s in stmt["subject"] if s["name"] != "data.parquet"]
        sign_statement(d, stmt, a_key)

    @c([X], "the signed statement (trusted key) repeats releaseId: JSON parsers disagree on which one wins")
    def statement_duplicate_key_signed(d):
        payload = dsse.canonical_json(statement_of(d))
        payload = payload.replace(b'"releaseId":', b'"releaseId":"corpus-release-b","releaseId":', 1)
        write_env(d, dsse.sign(payload, a_key))

    @c([X], "a signed subject digest is upper-case hex (in-toto digests are lower-case)")
    def subject_uppercase_digest_signed(d):
        stmt = statement_of(d)
        stmt["subject"][0]["digest"]["sha256"] = stmt["subject"][0]["digest"]["sha256"].upper()
        sign_statement(d, stmt, a_key)

    @c([X], "a signed subject is named release.dsse.json: the envelope cannot vouch for itself")
    def subject_is_envelope_signed(d):
        stmt = statement_of(d)
        stmt["subject"].append({"name": ENV, "digest": {"sha256": "0" * 64}})
        stmt["predicate"][dsse.FILE_SIZES][ENV] = 0
        sign_statement(d, stmt, a_key)

    @c([X], "the signed statement (trusted key) gives no file sizes, so files could not be bounded before reading")
    def file_sizes_missing_signed(d):
        stmt = statement_of(d)
        del stmt["predicate"][dsse.FILE_SIZES]
        sign_statement(d, stmt, a_key)

    @c([X], "the signed file sizes omit card.md")
    def file_size_omitted_signed(d):
        stmt = statement_of(d)
        del stmt["predicate"][dsse.FILE_SIZES]["card.md"]
        sign_statement(d, stmt, a_key)

    @c([D], "the signed size of data.parquet is one byte short: the file is refused before it is read")
    def file_size_wrong_signed(d):
        stmt = statement_of(d)
        stmt["predicate"][dsse.FILE_SIZES]["data.parquet"] -= 1
        sign_statement(d, stmt, a_key)

    @c([M], "the signed statement (trusted key) covers a notes.txt that is not in the release")
    def subject_extra_missing_signed(d):
        stmt = statement_of(d)
        stmt["subject"].append({"name": "notes.txt", "digest": {"sha256": hashlib.sha256(b"notes").hexdigest()}})
        stmt["predicate"][dsse.FILE_SIZES]["notes.txt"] = 5
        sign_statement(d, stmt, a_key)

    @c([C], "croissant.json repeats its identifier key, naming release B first (statement re-signed)")
    def croissant_duplicate_key_signed(d):
        raw = (d / "croissant.json").read_bytes()
        raw = raw.replace(b' "identifier":', b' "identifier": "corpus-release-b",\n "identifier":', 1)
        (d / "croissant.json").write_bytes(raw)
        sign_statement(d, set_digest(statement_of(d), "croissant.json", raw), a_key)

    @c([C], "data.parquet lost its synthetic label (metadata removed, statement re-signed)")
    def data_unlabelled_signed(d):
        resign_with_data(d, rewrite_parquet_metadata(d / "data.parquet", None), a_key)

    @c([C], "data.parquet is labelled synthetic: false (statement re-signed)")
    def data_labelled_real_signed(d):
        resign_with_data(d, rewrite_parquet_metadata(d / "data.parquet", {"synthetic": False,
                                                                          "release_id": "corpus-release-a"}), a_key)

    @c([D], "croissant.json records a wrong sha256 for data.parquet (statement re-signed)")
    def croissant_wrong_data_digest_signed(d):
        croissant = json.loads((d / "croissant.json").read_text())
        croissant["distribution"][0]["sha256"] = "0" * 64
        text = json.dumps(croissant, indent=1, ensure_ascii=False) + "\n"
        (d / "croissant.json").write_text(text)
        sign_statement(d, set_digest(statement_of(d), "croissant.json", text.encode()), a_key)

    return out


def main() -> None:
    KEYS.mkdir(exist_ok=True)
    a_key, b_key = _key("corpus-a"), _key("corpus-b")
    for old in HERE.glob("*_fail"):
        shutil.rmtree(old)
    tmp = HERE / ".build"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        base, other = _releases(tmp, a_key)
        manifest = {}
        for name, (codes, why, breaker) in cases(a_key, b_key, other).items():
            folder = HERE / f"{name}_fail"
            shutil.copytree(base, folder / "release")
            breaker(folder / "release")
            (folder / "README").write_text(f"{codes[0]}: {why}\n")
            manifest[name] = {"codes": codes, "why": why,
                              "release_id": "corpus-release-b" if name == "replayed_under_another_id" else None}
        (HERE / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
        print(f"{len(manifest)} failing releases written to {HERE}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
