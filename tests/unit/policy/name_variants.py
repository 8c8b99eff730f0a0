"""Generated name variants for the screening tests (fixed seed; nothing here is a real name).

Every variant is made programmatically from a listed name: spelling slips, case, punctuation and
diacritics, legal forms in many languages, word order, renderings in Cyrillic and Greek letters made
with the letter maps below, and Chinese/Japanese renderings of the listed native-script aliases
(simplified/traditional characters, legal forms before or after, abbreviated forms).
"""

from __future__ import annotations

import random
import re

from synthgov.policy.names import normalise_name

SUFFIXES = ["Ltd", "Limited", "LLC", "Inc.", "Corp.", "GmbH", "S.A.", "S.p.A.", "AG", "B.V.", "N.V.", "Sp. z o.o.", "A/S",
            "Oy", "AB", "Pty Ltd", "Co., Ltd.", "S.A.R.L.", "S.r.l.", "K.K.", "PLC", "Kft.", "s.r.o.", "Ltda.", "Sdn. Bhd.",
            "GmbH & Co. KG", "LLP", "SAS", "A.E.", "Holdings"]
PREFIXES = ["OOO", "ZAO", "PAO", "ООО", "АО", "PT"]
NATIVE_SUFFIXES = ["有限公司", "股份有限公司", "有限责任公司", "株式会社"]
ACCENTS = {"a": "áàâäå", "e": "éèêë", "i": "íìîï", "o": "óòôöø", "u": "úùûü", "c": "çč", "n": "ñń", "s": "šś", "z": "žź"}

CYRILLIC = [("sh", ["ш"]), ("ch", ["ч", "х"]), ("zh", ["ж"]), ("kh", ["х"]), ("th", ["т"]), ("ph", ["ф"]), ("ts", ["ц"]),
            ("ya", ["я"]), ("yu", ["ю"]), ("oo", ["у"]), ("ee", ["и"]), ("a", ["а"]), ("b", ["б"]), ("c", ["к"]),
            ("d", ["д"]), ("e", ["е", "э"]), ("f", ["ф"]), ("g", ["г"]), ("h", ["х", "г"]), ("i", ["и"]), ("j", ["дж"]),
            ("k", ["к"]), ("l", ["л"]), ("m", ["м"]), ("n", ["н"]), ("o", ["о"]), ("p", ["п"]), ("q", ["к"]),
            ("r", ["р"]), ("s", ["с"]), ("t", ["т"]), ("u", ["у", "ю"]), ("v", ["в"]), ("w", ["в", "у"]), ("x", ["кс"]),
            ("y", ["и", "й"]), ("z", ["з"])]
GREEK = [("th", ["θ"]), ("ch", ["χ"]), ("ph", ["φ"]), ("ps", ["ψ"]), ("ks", ["ξ"]), ("a", ["α"]), ("b", ["μπ", "β"]),
         ("c", ["κ"]), ("d", ["ντ", "δ"]), ("e", ["ε", "η"]), ("f", ["φ"]), ("g", ["γκ", "γ"]), ("h", [""]), ("i", ["ι"]),
         ("j", ["τζ"]), ("k", ["κ"]), ("l", ["λ"]), ("m", ["μ"]), ("n", ["ν"]), ("o", ["ο", "ω"]), ("p", ["π"]),
         ("q", ["κ"]), ("r", ["ρ"]), ("s", ["σ"]), ("t", ["τ"]), ("u", ["ου"]), ("v", ["β"]), ("w", ["ου"]),
         ("x", ["ξ"]), ("y", ["ι", "υ"]), ("z", ["ζ"])]
#: Simplified → traditional for the characters in the fictitious list's Chinese aliases.
TRADITIONAL = str.maketrans({"岚": "嵐", "电": "電", "鸾": "鸞", "韵": "韻", "贸": "貿", "涟": "漣", "桥": "橋", "遥": "遙",
                             "息": "息", "责": "責", "任": "任"})


def core_words(name: str) -> list[str]:
    """The name's words without a trailing or leading legal form, as written (for re-suffixing)."""
    words = name.split()
    target = normalise_name(name)
    for k in range(min(4, len(words) - 1), 0, -1):
        if normalise_name(" ".join(words[:-k])) == target:
            return words[:-k]
        if normalise_name(" ".join(words[k:])) == target:
            return words[k:]
    return words


def typo(rng: random.Random, text: str) -> str:
    positions = [m.start() + i for m in re.finditer(r"[A-Za-z]{5,}", text) for i in range(1, len(m.group()) - 1)]
    i = rng.choice(positions)
    op = rng.choice(["delete", "insert", "substitute", "transpose"])
    letter = rng.choice("abcdefghijklmnopqrstuvwxyz")
    if op == "delete":
        return text[:i] + text[i + 1:]
    if op == "insert":
        return text[:i] + letter + text[i:]
    if op == "substitute":
        return text[:i] + letter + text[i + 1:]
    return text[:i] + text[i + 1] + text[i] + text[i + 2:]


def transliterate(rng: random.Random, text: str, table: list[tuple[str, list[str]]]) -> str:
    out, i, low = [], 0, text.lower()
    while i < len(low):
        for latin, options in table:
            if low.startswith(latin, i):
                out.append(rng.choice(options))
                i += len(latin)
                break
        else:
            out.append(low[i])
            i += 1
    rendered = "".join(out)
    return re.sub(r"σ\b", "ς", rendered)


def decorate(rng: random.Random, text: str) -> str:
    """Case, diacritics and punctuation."""
    chars = []
    for ch in text:
        if ch.lower() in ACCENTS and rng.random() < 0.3:
            ch = rng.choice(ACCENTS[ch.lower()])
        chars.append(ch)
    text = "".join(chars)
    text = rng.choice([str.upper, str.lower, str.title, lambda s: s])(text)
    sep = rng.choice([" ", " - ", ", ", ". ", "  "])
    return sep.join(text.split()) + rng.choice(["", ".", ",", " (the)", " *"])


def variants(rng: random.Random, name: str, aliases: tuple[str, ...]) -> list[tuple[str, str]]:
    """``(kind, variant)`` pairs for one listed party."""
    words = core_words(name)
    core = " ".join(words)
    out = [("spelling", typo(rng, name)) for _ in range(4)]
    out += [("case-punctuation-diacritics", decorate(rng, name)) for _ in range(3)]
    out += [("legal-form", f"{core} {rng.choice(SUFFIXES)}") for _ in range(3)]
    out += [("legal-form", f"{rng.choice(PREFIXES)} {core}"), ("legal-form", f"{core}{rng.choice(NATIVE_SUFFIXES)}")]
    if len(words) > 1:
        for _ in range(2):
            shuffled = words[:]
            while shuffled == words:
                rng.shuffle(shuffled)
            out.append(("word-order", " ".join(shuffled) + " " + rng.choice(SUFFIXES)))
    out += [("cyrillic", transliterate(rng, core, CYRILLIC)) for _ in range(3)]
    out += [("greek", transliterate(rng, core, GREEK)) for _ in range(3)]
    out.append(("combined", decorate(rng, typo(rng, " ".join(rng.sample(words, len(words))))) + " " + rng.choice(SUFFIXES)))
    out.append(("combined", transliterate(rng, " ".join(reversed(words)), CYRILLIC) + " " + rng.choice(PREFIXES)))
    for alias in aliases:
        if re.search(r"[\u4e00-\u9fff]", alias):
            stem = alias
            for suffix in sorted(NATIVE_SUFFIXES, key=len, reverse=True):
                if stem.endswith(suffix):
                    stem = stem[: -len(suffix)]
                    break
                if stem.startswith(suffix):
                    stem = stem[len(suffix):]
                    break
            out += [("cjk", stem), ("cjk", stem.translate(TRADITIONAL) + rng.choice(NATIVE_SUFFIXES)),
                    ("cjk", rng.choice(NATIVE_SUFFIXES) + stem), ("cjk", "（株）" + stem if "株式会社" in alias else stem + "公司")]
    return out


UNRELATED_WORDS = ["Bakery", "Dental", "Clinic", "Primary School", "Library", "Football Club", "Garden Centre", "Brewery",
                   "Dynamics", "Logistics", "Systems", "Technologies", "Trading", "Shipping", "Research", "Analytics",
                   "Precision", "Instruments", "Photonics", "Consulting", "Data", "Mapping", "Chemical", "Aviation",
                   "Partners", "Foods", "Textiles", "Insurance", "Credit Union", "Housing Association", "Architects",
                   "Veterinary", "Printing", "Solar", "Water Board", "Orchestra", "Museum", "Software", "Labs", "Media"]
SYLLABLES = ["ar", "bel", "cor", "dan", "el", "fen", "gar", "hol", "is", "jor", "kel", "lun", "mar", "nor", "ol", "pen",
             "quin", "ros", "sel", "tor", "ul", "val", "wes", "yar", "zen", "bri", "cal", "dor", "est", "fal", "gri", "ha",
             "lin", "mo", "ra", "sta", "tre", "vi", "wyn", "ox", "ley", "ton", "ford", "wick", "dale", "mere", "by"]


def unrelated_names(rng: random.Random, n: int) -> list[str]:
    """Invented organisation names built from syllables and common business words."""
    out: set[str] = set()
    while len(out) < n:
        coined = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()
        extra = rng.choice(["", "", "North ", "Saint ", "New ", "Blue ", "Old "])
        words = " ".join(rng.sample(UNRELATED_WORDS, rng.randint(1, 2)))
        out.add(f"{extra}{coined} {words} {rng.choice(SUFFIXES)}".strip())
    return sorted(out)
