"""Generators: the synthesizer contract, the registry and the built-in families."""

from .base import (
    PrivacyAccount,
    Synthesizer,
    available_synthesizers,
    load_synthesizer,
    register_synthesizer,
    synthesizer,
)
from .bayesnet import BayesNetSynthesizer
from .copula import CopulaSynthesizer
from .neural import NeuralSynthesizer  # torch is imported only when one is made

__all__ = [
    "Synthesizer", "PrivacyAccount", "CopulaSynthesizer", "NeuralSynthesizer", "BayesNetSynthesizer",
    "available_synthesizers", "load_synthesizer", "register_synthesizer", "synthesizer",
]
