"""Small helpers shared by the unit tests."""


def flat(text: str) -> str:
    """Collapse whitespace (rich wraps and pads its output)."""
    return " ".join(text.split())
