"""Unit expressions of NMODL's UNITS block, and the conversion factors nocmodl computes from them.

A UNITS entry ``FARADAY = (faraday) (coulomb)`` defines a constant: the size of the first unit expressed in
the second (here 96485.33212331001). ``R = (k-mole) (joule/degC)`` is Boltzmann's constant times
Avogadro's number in J/K (8.31446261815324). NEURON 9 uses the 2019 SI values of the defining constants,
and these products reproduce its ``FARADAY`` and ``R`` to the last bit.

The syntax is that of the UNIX ``units`` program, which nocmodl's unit library follows: names are
multiplied by juxtaposition or ``-`` (``k-mole``), a trailing integer is a power (``cm2``), everything
after ``/`` is in the denominator (``mA/cm2``, ``1/mM-ms``), a plural ``s`` may be dropped
(``coulombs``), and a name may carry an SI prefix (``milli``, ``m``, ``kilo``, ...). ``k`` alone is
Boltzmann's constant and ``e`` the elementary charge, as in that library; ``mole`` is Avogadro's number
(a count).

Values are SI factors; dimensions are exponents of (m, kg, s, A, K).
"""

from __future__ import annotations

import math
import re

__all__ = ["UnitError", "unit_value", "conversion_factor", "Units"]

_E = 1.602176634e-19  # C
_NA = 6.02214076e23  # 1/mol, as a count
_K = 1.380649e-23  # J/K

# name: (factor, (m, kg, s, A, K))
_BASE: dict[str, tuple[float, tuple[int, ...]]] = {}


def _define(names: str, factor: float, dims: tuple[int, ...]) -> None:
    for name in names.split():
        _BASE[name] = (factor, dims)


_define("m meter metre", 1.0, (1, 0, 0, 0, 0))
_define("micron", 1e-6, (1, 0, 0, 0, 0))
_define("angstrom", 1e-10, (1, 0, 0, 0, 0))
_define("g gram", 1e-3, (0, 1, 0, 0, 0))
_define("s sec second", 1.0, (0, 0, 1, 0, 0))
_define("min minute", 60.0, (0, 0, 1, 0, 0))
_define("hr hour", 3600.0, (0, 0, 1, 0, 0))
_define("A amp ampere", 1.0, (0, 0, 0, 1, 0))
_define("K kelvin degK degC celsius", 1.0, (0, 0, 0, 0, 1))
_define("mole mol", _NA, (0, 0, 0, 0, 0))
_LITER = 1000.0 * (0.01 * 0.01 * 0.01)  # kilo-cc, as the units library computes it (0.0010000000000000002)
_define("liter litre l L", _LITER, (3, 0, 0, 0, 0))
_define("molar M", _NA / _LITER, (-3, 0, 0, 0, 0))
_define("V volt", 1.0, (2, 1, -3, -1, 0))
_define("ohm", 1.0, (2, 1, -3, -2, 0))
_define("S siemens mho", 1.0, (-2, -1, 3, 2, 0))
_define("C coul coulomb", 1.0, (0, 0, 1, 1, 0))
_define("F farad", 1.0, (-2, -1, 4, 2, 0))
_define("J joule", 1.0, (2, 1, -2, 0, 0))
_define("erg", 1e-7, (2, 1, -2, 0, 0))
_define("cal calorie", 4.184, (2, 1, -2, 0, 0))
_define("N newton", 1.0, (1, 1, -2, 0, 0))
_define("W watt", 1.0, (2, 1, -3, 0, 0))
_define("Hz hertz", 1.0, (0, 0, -1, 0, 0))
_define("e", _E, (0, 0, 1, 1, 0))
_define("faraday", _E * _NA, (0, 0, 1, 1, 0))
_define("k boltzmann", _K, (2, 1, -2, 0, -1))
_define("R", _K * _NA, (2, 1, -2, 0, -1))
_define("pi PI", math.pi, (0, 0, 0, 0, 0))
_define("percent", 0.01, (0, 0, 0, 0, 0))
_define("1", 1.0, (0, 0, 0, 0, 0))

_PREFIXES = {
    "yotta": 1e24, "zetta": 1e21, "exa": 1e18, "peta": 1e15, "tera": 1e12, "giga": 1e9, "mega": 1e6,
    "myria": 1e4, "kilo": 1e3, "hecto": 1e2, "deka": 1e1, "deci": 1e-1, "centi": 1e-2, "milli": 1e-3,
    "micro": 1e-6, "nano": 1e-9, "pico": 1e-12, "femto": 1e-15, "atto": 1e-18, "zepto": 1e-21, "yocto": 1e-24,
    "Y": 1e24, "Z": 1e21, "E": 1e18, "P": 1e15, "T": 1e12, "G": 1e9, "M": 1e6, "k": 1e3, "h": 1e2,
    "da": 1e1, "d": 1e-1, "c": 1e-2, "m": 1e-3, "u": 1e-6, "n": 1e-9, "p": 1e-12, "f": 1e-15, "a": 1e-18,
}
_ZERO = (0, 0, 0, 0, 0)
_TOKEN = re.compile(r"\s*(?:(?P<num>\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)"
                    r"|(?P<name>[A-Za-z_]+)(?P<pow>\d*)|(?P<op>[/*\-^]))")


class UnitError(ValueError):
    """A unit expression that cannot be evaluated."""


class Units:
    """A unit table: the built-in units plus a file's own ``(name) = (definition)`` aliases."""

    def __init__(self) -> None:
        self.table: dict[str, tuple[float, tuple[int, ...]]] = dict(_BASE)

    def define(self, name: str, definition: str) -> None:
        """Add ``(name) = (definition)`` (a UNITS alias)."""
        self.table[name.strip()] = self.value(definition)

    def lookup(self, name: str) -> tuple[float, tuple[int, ...]]:
        """The value of one unit name (with an optional prefix and plural ``s``)."""
        for candidate in (name, name[:-1] if name.endswith("s") and len(name) > 1 else None):
            if candidate is None:
                continue
            if candidate in self.table:
                return self.table[candidate]
            for prefix in sorted(_PREFIXES, key=len, reverse=True):
                rest = candidate[len(prefix):]
                if candidate.startswith(prefix) and rest in self.table:
                    factor, dims = self.table[rest]
                    return _PREFIXES[prefix] * factor, dims
            if candidate in _PREFIXES:  # a bare prefix is a number (``milli/liter``)
                return _PREFIXES[candidate], _ZERO
        raise UnitError(f"unknown unit {name!r}")

    def value(self, text: str) -> tuple[float, tuple[int, ...]]:
        """``(factor, dims)`` of a unit expression such as ``mA/cm2`` or ``k-mole``."""
        factor, dims = 1.0, [0] * 5
        sign = 1
        pos = 0
        text = text.strip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m or m.end() == pos:
                if text[pos:].strip() == "":
                    break
                raise UnitError(f"cannot read unit {text!r}")
            pos = m.end()
            if m.group("op"):
                if m.group("op") == "/":
                    sign = -1
                continue
            if m.group("num"):
                f, d, power = float(m.group("num")), _ZERO, 1
            else:
                f, d = self.lookup(m.group("name"))
                power = int(m.group("pow")) if m.group("pow") else 1
            factor = factor * f ** power if sign > 0 else factor / f ** power
            for k in range(5):
                dims[k] += sign * power * d[k]
        return factor, tuple(dims)


def unit_value(text: str, units: Units | None = None) -> float:
    """The SI factor of a unit expression."""
    return (units or Units()).value(text)[0]


def conversion_factor(first: str, second: str, units: Units | None = None) -> float:
    """The size of unit ``first`` expressed in unit ``second`` (``(faraday) (coulomb)`` -> 96485.33...).

    Raises:
        UnitError: an unknown unit, or units of different dimensions.
    """
    units = units or Units()
    a, da = units.value(first)
    b, db = units.value(second)
    if da != db:
        raise UnitError(f"({first}) and ({second}) have different dimensions")
    return a / b
