"""Ions as NEURON keeps them (``src/nrnoc/eion.cpp``): defaults, styles, Nernst potentials.

Every node where a mechanism uses an ion holds that ion's reversal potential ``eX`` (mV), its inside and
outside concentrations ``Xi``, ``Xo`` (mM) and its current ``iX`` (mA/cm^2, the sum over the mechanisms
that write it). What is a parameter and what is computed follows NEURON's *ion style*, derived from what the
mechanisms at the node read and write (``nrn_promote``):

* a mechanism reading ``Xi``/``Xo`` makes the concentrations matter (style 1); one writing them makes them
  states (style 3), reset to the globals ``Xi0_X_ion``/``Xo0_X_ion`` at ``finitialize`` (*cinit*);
* reading ``eX`` makes the reversal potential a parameter (style 1); writing it, a value of that mechanism
  (style 3); where concentrations matter and no mechanism writes ``eX``, it is computed by Nernst (style 2):
  once at ``finitialize`` (*einit*) and, where the concentrations are states, before every step's currents
  (*eadvance*).

So ``hh`` alone keeps ``ena = 50``; adding a mechanism that reads ``nai`` makes ``ena`` the Nernst value of
``nai``/``nao`` (63.55 mV at 6.3 degC), as in NEURON. New ion instances start from fixed defaults
(:data:`DEFAULTS`), not from the ``*0`` globals, which only cinit uses.

Units: mV, mM, degC.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["DEFAULTS", "CHARGE", "IonStyle", "ion_variables", "ion_of", "style_of", "nernst", "ktf", "FARADAY",
           "GAS_CONSTANT"]

#: Faraday's constant (C/mol) and the gas constant (J/(K mol)), as NEURON 9 computes them (2019 SI values).
FARADAY = 1.602176634e-19 * 6.02214076e23
GAS_CONSTANT = 1.380649e-23 * 6.02214076e23

#: (erev mV, inside mM, outside mM) of a new ion instance. ``eca`` is 12.5 ln(2 / 5e-5), not a Nernst value.
DEFAULTS = {"na": (50.0, 10.0, 140.0), "k": (-77.0, 54.4, 2.5), "ca": (132.4579341637009, 5e-5, 2.0)}
#: The default of any other ion.
OTHER_DEFAULT = (0.0, 1.0, 1.0)
#: Charges NEURON fixes by name; other ions take their VALENCE.
CHARGE = {"na": 1.0, "k": 1.0, "ca": 2.0}


def ion_variables(ion: str) -> dict[str, str]:
    """The variable names of an ion: ``{"e": "eca", "i": "cai", "o": "cao", "cur": "ica"}``."""
    return {"e": f"e{ion}", "i": f"{ion}i", "o": f"{ion}o", "cur": f"i{ion}"}


def ion_of(variable: str, ions: tuple[str, ...]) -> tuple[str, str] | None:
    """``(ion, role)`` of an ion variable name among ``ions`` (role ``e``, ``i``, ``o`` or ``cur``), or None."""
    for ion in ions:
        for role, name in ion_variables(ion).items():
            if name == variable:
                return ion, role
    return None


@dataclass(frozen=True)
class IonStyle:
    """NEURON's ion style at a node (``ion_style``).

    Attributes:
        conc: 0 unused, 1 parameter, 3 state (written).
        erev: 0 unused, 1 parameter, 2 computed (Nernst), 3 written by a mechanism.
        cinit: concentrations reset to the ``*0`` globals at finitialize.
        einit: reversal potential computed by Nernst at finitialize.
        eadvance: reversal potential computed by Nernst before every step's currents.
    """

    conc: int
    erev: int

    @property
    def cinit(self) -> bool:
        """Concentrations reset at finitialize."""
        return self.conc == 3

    @property
    def einit(self) -> bool:
        """Nernst at finitialize."""
        return self.conc > 0 and self.erev == 2

    @property
    def eadvance(self) -> bool:
        """Nernst before every step."""
        return self.conc == 3 and self.erev == 2

    @property
    def code(self) -> int:
        """The integer ``h.ion_style`` reports (without the which-concentration-is-written bits)."""
        return self.conc + 4 * self.cinit + 8 * self.erev + 32 * self.einit + 64 * self.eadvance


def style_of(uses: list[tuple[tuple[str, ...], tuple[str, ...]]], ion: str) -> IonStyle:
    """The style of ``ion`` at a node from the ``(read, write)`` variables of each mechanism there.

    NEURON's ``nrn_promote``: each mechanism contributes (conc, erev) = (1 if it reads a concentration, 3 if
    it writes one; 1 if it reads eX, 3 if it writes it); the node takes the maximum of each; then a used
    concentration makes an unwritten erev computed (2). A mechanism that only writes the current promotes
    nothing.
    """
    names = ion_variables(ion)
    conc = erev = 0
    for read, write in uses:
        if names["i"] in write or names["o"] in write:
            conc = max(conc, 3)
        elif names["i"] in read or names["o"] in read:
            conc = max(conc, 1)
        if names["e"] in write:
            erev = max(erev, 3)
        elif names["e"] in read:
            erev = max(erev, 1)
    if conc > 0 and erev < 2:
        erev = 2
    return IonStyle(conc, erev)


def ktf(celsius):
    """``R T / F`` in mV at ``celsius`` degC, in NEURON's order of operations (bit for bit)."""
    return 1000.0 * GAS_CONSTANT * (celsius + 273.15) / FARADAY


def nernst(ci, co, charge: float, celsius, xp=np):
    """NEURON's Nernst potential (mV): ``ktf / z ln(co / ci)``; 1e6 where ``ci <= 0``, -1e6 where ``co <= 0``.

    Works on numpy or JAX arrays (``xp``); the guarded logarithm keeps gradients finite.
    """
    if charge == 0:
        return xp.zeros_like(ci * co)
    bad = (ci <= 0.0) | (co <= 0.0)
    ratio = xp.where(bad, 1.0, co) / xp.where(bad, 1.0, ci)
    value = ktf(celsius) / charge * xp.log(ratio)
    return xp.where(ci <= 0.0, 1e6, xp.where(co <= 0.0, -1e6, value))
