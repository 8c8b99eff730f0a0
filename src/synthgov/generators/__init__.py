"""Generators: the synthesizer contract, the registry and the built-in families."""

from .base import (
    PrivacyAccount,
    Synthesizer,
    available_synthesizers,
    load_synthesizer,
    register_synthesizer,
    synthesizer,
)
from .copula import CopulaSynthesizer

__all__ = [
    "Synthesizer", "PrivacyAccount", "CopulaSynthesizer",
    "available_synthesizers", "load_synthesizer", "register_synthesizer", "synthesizer",
]
