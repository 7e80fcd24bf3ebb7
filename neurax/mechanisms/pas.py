"""NEURON's passive leak ``pas``: ``i = g (v - e)``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from neurax.mechanisms.base import Mechanism

__all__ = ["Pas"]


@dataclass(frozen=True)
class Pas(Mechanism):
    """Passive leak.

    Attributes:
        g: leak conductance density (S/cm^2), NEURON default 0.001.
        e: reversal potential (mV), NEURON default -70.
    """

    g: float = 0.001
    e: float = -70.0

    name: ClassVar[str] = "pas"
    units: ClassVar[dict[str, str]] = {"g": "S/cm2", "e": "mV"}
    order: ClassVar[float] = 4.0  # NEURON's type number of pas (before the ions)

    def current(self, v, s, p, ctx):
        """``g (v - e)`` in mA/cm^2."""
        return p["g"] * (v - p["e"])

    def current_and_conductance(self, v, s, p, ctx):
        """The current and its slope ``g``."""
        return p["g"] * (v - p["e"]), p["g"]
