"""Membrane mechanisms (NEURON density mechanisms) and point processes."""

from neurax.mechanisms.base import Mechanism
from neurax.mechanisms.hh import HH
from neurax.mechanisms.pas import Pas

__all__ = ["Mechanism", "HH", "Pas"]
