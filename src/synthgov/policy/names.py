"""Name normalisation for denied-party screening.

:func:`normalise_name` turns an organisation or person name into a comparable form:

* Unicode compatibility forms folded (full-width letters, ligatures);
* legal forms written in their own script removed first (有限公司, 株式会社, 주식회사,
  Общество с ограниченной ответственностью ...), since they do not survive transliteration;
* every script transliterated to ASCII with ``anyascii`` (Cyrillic, Greek, CJK, Arabic ...),
  which also drops diacritics; Chinese characters become one syllable each;
* case folded, ``&`` read as "and", dots and apostrophes joined (``S.p.A.`` → ``spa``),
  other punctuation turned into spaces;
* legal forms in many languages removed from either end (Ltd, LLC, Inc, GmbH, AG, S.A.,
  S.p.A., B.V., OOO, ZAO, Sp. z o.o., A/S, Oy, Pty Ltd, Co. Ltd, Group, Holdings ...) and the
  words "the", "and", "of".

:func:`skeleton` goes one step further for fuzzy matching across transliteration schemes
(``kh``/``h``/``ch``, ``c``/``k``/``q``, ``y``/``i``, ``w``/``v``, ``ou``/``u``, doubled letters ...).
Word order is handled by the matcher, which compares sorted words.

>>> normalise_name("Société Générale d'Études S.A.")
'societe generale detudes'
>>> normalise_name("ООО «Ромашка»")
'romashka'
>>> normalise_name("华兴精密仪器有限公司")
'hua xing jing mi yi qi'
>>> normalise_name("The Müller & Söhne GmbH & Co. KG")
'muller sohne'
>>> skeleton("Novatekh") == skeleton("Novatech")
True
"""

from __future__ import annotations

import re
import unicodedata

from anyascii import anyascii

__all__ = ["normalise_name", "skeleton", "consonants", "compact", "LEGAL_FORMS"]

#: Legal forms written in a non-Latin script, removed (at either end) before transliteration.
NATIVE_FORMS = tuple(
    sorted(
        {
            # Chinese (simplified and traditional)
            "股份有限公司", "有限责任公司", "有限責任公司", "有限公司", "股份公司", "集团公司", "集團公司", "公司",
            # Japanese
            "株式会社", "有限会社", "合同会社", "合資会社", "合名会社", "(株)", "（株）", "㈱",
            # Korean
            "주식회사", "유한회사", "(주)", "（주）", "㈜",
            # Russian / Ukrainian / Bulgarian
            "Общество с ограниченной ответственностью", "Публичное акционерное общество",
            "Закрытое акционерное общество", "Открытое акционерное общество", "Акционерное общество",
            "Товариство з обмеженою відповідальністю",
            # Greek
            "Ανώνυμη Εταιρεία", "Ανώνυμη Εταιρία",
            # Arabic
            "شركة ذات مسؤولية محدودة", "ش.م.م", "ذ.م.م",
        },
        key=len,
        reverse=True,
    )
)

#: Legal forms after transliteration, as word sequences; removed from either end of a name.
LEGAL_FORMS: tuple[tuple[str, ...], ...] = tuple(
    sorted(
        {
            tuple(form.split())
            for form in (
                # English
                "ltd", "limited", "llc", "llp", "lp", "plc", "inc", "incorporated", "corp", "corporation", "co",
                "company", "pty", "pty ltd", "pvt", "pvt ltd", "private limited", "public limited company",
                "co ltd", "limited liability company", "group", "holding", "holdings",
                # German, Austrian, Swiss, Dutch, Belgian
                "gmbh", "gmbh co kg", "ag", "kg", "kgaa", "ohg", "ug", "ev", "bv", "nv", "vof", "bvba", "sprl",
                # French, Spanish, Portuguese, Italian
                "sa", "sas", "sasu", "sarl", "eurl", "sca", "scs", "snc", "sl", "slu", "sau", "srl", "spa",
                "sapa", "scarl", "ltda", "cia", "cia ltda", "sa de cv", "sab de cv", "sociedad anonima",
                "societe anonyme", "societa per azioni",
                # Nordic, Baltic, Polish, Czech, Hungarian, Romanian, Turkish
                "ab", "publ", "ab publ", "as", "asa", "aps", "oy", "oyj", "hf", "ehf", "sia", "uab", "ou",
                "sp z oo", "spzoo", "sp k", "sro", "as", "kft", "zrt", "nyrt", "sc", "as", "ltd sti", "as",
                # Russian, Ukrainian, Central Asian (after transliteration)
                "ooo", "oao", "zao", "pao", "ao", "ip", "tov", "pat", "too",
                # Greek (after transliteration)
                "ae", "epe", "ike", "oe", "ee",
                # Japanese, Chinese, Korean in Latin script
                "kk", "kabushiki kaisha", "kabushikigaisha", "gk", "yk", "youxian gongsi", "you xian gong si",
                "gufen youxian gongsi", "jituan", "co ltd", "jusikhoesa",
                # South and South-East Asia, Middle East
                "bhd", "sdn bhd", "tbk", "pt", "wll", "fzco", "fze", "fzc",
            )
        },
        key=len,
        reverse=True,
    )
)

#: Words dropped wherever they appear.
STOP_WORDS = frozenset({"the", "and", "of", "und", "et"})

_JOIN = re.compile(r"[.'\u2019`´/]")
_SPLIT = re.compile(r"[^a-z0-9]+")
_HAN = re.compile(r"([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff])")


def _strip_native(text: str) -> str:
    changed = True
    while changed:
        changed = False
        stripped = text.strip(" \t,.;:-–—()[]「」『』«»\"'")
        for form in NATIVE_FORMS:
            low, f = stripped.casefold(), form.casefold()
            if low.endswith(f) and len(stripped) > len(form):
                stripped, changed = stripped[: -len(form)], True
                break
            if low.startswith(f) and len(stripped) > len(form):
                stripped, changed = stripped[len(form):], True
                break
        text = stripped
    return text


def _strip_forms(words: list[str]) -> list[str]:
    changed = True
    while changed and len(words) > 1:
        changed = False
        for form in LEGAL_FORMS:
            n = len(form)
            if len(words) > n and tuple(words[-n:]) == form:
                words, changed = words[:-n], True
                break
            if len(words) > n and tuple(words[:n]) == form:
                words, changed = words[n:], True
                break
    return words


def normalise_name(name: str, *, legal_forms: bool = False) -> str:
    """A name reduced to lower-case ASCII words, without punctuation, accents or (unless ``legal_forms``) legal forms.

    Word order is kept. ``legal_forms=True`` keeps the legal-form words written in Latin script,
    for comparing names whose legal form is misspelled.
    """
    text = unicodedata.normalize("NFKC", str(name))
    text = text if legal_forms else _strip_native(text)
    text = _HAN.sub(r" \1 ", text)  # one word per Chinese character, so syllables stay apart
    text = anyascii(text).casefold().replace("&", " and ")
    text = _JOIN.sub("", text)
    words = [w for w in _SPLIT.split(text) if w and w not in STOP_WORDS]
    return " ".join(words if legal_forms else _strip_forms(words))


_SKELETON_STEPS = (
    ("tsch", "ch"), ("sch", "sh"), ("tch", "ch"), ("dzh", "j"), ("dj", "j"), ("zh", "z"),
    ("ph", "f"), ("ck", "k"), ("ou", "u"), ("oy", "u"), ("yu", "u"), ("iu", "u"), ("mp", "b"), ("mb", "b"),
    ("nt", "d"), ("nd", "d"), ("gk", "g"), ("x", "ks"), ("q", "k"), ("c", "k"), ("w", "v"), ("b", "v"), ("y", "i"),
    ("h", ""),
)
_DOUBLE = re.compile(r"(.)\1+")


def skeleton(name: str) -> str:
    """A coarse phonetic key of a name: transliteration variants of one name share it more often than not."""
    words = []
    for word in normalise_name(name).split():
        for old, new in _SKELETON_STEPS:
            word = word.replace(old, new)
        word = _DOUBLE.sub(r"\1", word)
        if word:
            words.append(word)
    return " ".join(words)


_VOWELS = re.compile(r"(?<=[a-z])[aeiou]")


def consonants(skeleton_text: str) -> str:
    """A skeleton without its vowels after each word's first letter (``tilemitri`` and ``telemetri`` agree)."""
    return " ".join(w for w in (_VOWELS.sub("", word) for word in skeleton_text.split()) if w)


def compact(normalised: str) -> str:
    """Words joined without spaces (``"hua xing"`` and ``"huaxing"`` agree)."""
    return normalised.replace(" ", "")
