"""NEURON's Hodgkin-Huxley channels ``hh`` (``src/nrnoc/hh.mod``), with its rate table.

By default the rates come from NEURON's TABLE: 201 entries at v = -100 .. 100 mV (1 mV apart) of
minf, mtau, hinf, htau, ninf and ntau, built at the simulation's temperature, looked up with linear
interpolation and clamped outside the range. ``rates="exact"`` evaluates the formulas instead (NEURON's
``usetable_hh = 0``). Over 100 ms of spiking the two differ by a shifted spike or so, so parity with
NEURON needs the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from neurax._deferred import jax, jnp
from neurax.mechanisms.base import IonUse, Mechanism, cnexp

__all__ = ["HH"]

_TABLE_MIN, _TABLE_MAX, _TABLE_N = -100.0, 100.0, 200


def _vtrap(x, y, xp=jnp):
    """``x / (exp(x/y) - 1)``, with hh.mod's series near x = 0."""
    ratio = x / y
    small = xp.abs(ratio) < 1e-6
    safe = xp.where(small, 1.0, x)
    return xp.where(small, y * (1.0 - ratio / 2.0), safe / (xp.exp(safe / y) - 1.0))


def _rates(v, celsius, xp=jnp):
    """minf, mtau, hinf, htau, ninf, ntau at voltage ``v`` (mV) and temperature ``celsius`` (degC).

    ``xp`` is numpy for tables at a known temperature (the C library's exp, as NEURON's) or jax.numpy.
    """
    q10 = 3.0 ** ((celsius - 6.3) / 10.0)
    alpha = 0.1 * _vtrap(-(v + 40.0), 10.0, xp)
    beta = 4.0 * xp.exp(-(v + 65.0) / 18.0)
    total = alpha + beta
    mtau, minf = 1.0 / (q10 * total), alpha / total
    alpha = 0.07 * xp.exp(-(v + 65.0) / 20.0)
    beta = 1.0 / (xp.exp(-(v + 35.0) / 10.0) + 1.0)
    total = alpha + beta
    htau, hinf = 1.0 / (q10 * total), alpha / total
    alpha = 0.01 * _vtrap(-(v + 55.0), 10.0, xp)
    beta = 0.125 * xp.exp(-(v + 65.0) / 80.0)
    total = alpha + beta
    ntau, ninf = 1.0 / (q10 * total), alpha / total
    return minf, mtau, hinf, htau, ninf, ntau


def _table_lookup(table, v):
    """NEURON's TABLE interpolation, ``t[i] + theta (t[i+1] - t[i])``, clamped outside -100..100 mV.

    ``table`` is a tuple of six value columns and six difference columns (201 entries each, the last
    difference 0): twelve 1-D gathers are three times faster on CPU than one row gather. Clamping the
    table coordinate to [0, 200] gives NEURON's end values with theta = 0.
    """
    # A clamp by selects: jnp.clip's derivative splits ties with two divisions per node (max and min).
    xi = (v - _TABLE_MIN) * (_TABLE_N / (_TABLE_MAX - _TABLE_MIN))
    xi = jnp.where(xi < 0.0, 0.0, jnp.where(xi > _TABLE_N, float(_TABLE_N), xi))
    i = xi.astype(jnp.int32)
    theta = xi - i
    values, diffs = table
    # i is in [0, 200] by construction: promising that spares XLA its bounds handling in every gather.
    return tuple(t.at[i].get(mode="promise_in_bounds") + theta * dt.at[i].get(mode="promise_in_bounds")
                 for t, dt in zip(values, diffs, strict=True))


def _build_table(values, xp=jnp):
    """Six value and six difference columns from the rates at the 201 grid voltages."""
    diffs = tuple(xp.concatenate([t[1:] - t[:-1], xp.zeros(1, t.dtype)]) for t in values)
    return tuple(values), diffs


@dataclass(frozen=True)
class HH(Mechanism):
    """Hodgkin-Huxley sodium, potassium and leak channels, as NEURON's ``hh``.

    The sodium and potassium currents use the ``na`` and ``k`` ions: their reversal potentials are the
    ions' ``ena`` (50 mV) and ``ek`` (-77 mV), set with ``cell.set("ena", ...)`` as in NEURON.

    Attributes:
        gnabar: sodium conductance density (S/cm^2), default 0.12.
        gkbar: potassium conductance density (S/cm^2), default 0.036.
        gl: leak conductance density (S/cm^2), default 0.0003.
        el: leak reversal potential (mV), default -54.3.
    """

    gnabar: float = 0.12
    gkbar: float = 0.036
    gl: float = 0.0003
    el: float = -54.3

    name: ClassVar[str] = "hh"
    states: ClassVar[tuple[str, ...]] = ("m", "h", "n")
    ions: ClassVar[tuple[IonUse, ...]] = (IonUse("na", ("ena",), ("ina",)), IonUse("k", ("ek",), ("ik",)))
    units: ClassVar[dict[str, str]] = {"gnabar": "S/cm2", "gkbar": "S/cm2", "gl": "S/cm2", "el": "mV"}
    order: ClassVar[float] = 17.0  # NEURON's type number of hh

    def prepare(self, p, ctx):
        """Build the rate table at the simulation temperature (when rates are tabulated)."""
        if ctx.get("rates", "table") != "table":
            return {}
        # nocmodl's grid, x accumulated from -100 by += dx; at a known temperature the table is computed with
        # numpy (the C library's exp, as NEURON's: the same table bit for bit), else traced
        v = np.empty(_TABLE_N + 1)
        x, dx = _TABLE_MIN, (_TABLE_MAX - _TABLE_MIN) / _TABLE_N
        for k in range(_TABLE_N + 1):
            v[k] = x
            x += dx
        try:
            celsius = float(ctx["celsius"])
        except (TypeError, jax.errors.ConcretizationTypeError):
            return {"hh_table": _build_table(_rates(jnp.asarray(v, ctx["dtype"]), ctx["celsius"]))}
        table = _build_table(_rates(v, celsius, np), np)
        return {"hh_table": jax.tree_util.tree_map(lambda t: jnp.asarray(t, ctx["dtype"]), table)}

    def _rates(self, v, ctx):
        if "hh_table" in ctx:
            return _table_lookup(ctx["hh_table"], v)
        return _rates(v, ctx["celsius"])

    def init(self, v, p, ctx):
        """m, h, n at their steady state for ``v``."""
        minf, _, hinf, _, ninf, _ = self._rates(v, ctx)
        return {"m": minf, "h": hinf, "n": ninf}

    def current(self, v, s, p, ctx):
        """Ina, ik and il (mA/cm^2). NEURON's slope is the difference quotient of their sum between
        ``v + 0.001`` and ``v`` (the base class's), which agrees with the analytic one only to rounding.
        """
        m, h, n = s["m"], s["h"], s["n"]
        return {"ina": p["gnabar"] * m * m * m * h * (v - p["ena"]), "ik": p["gkbar"] * n * n * n * n * (v - p["ek"]),
                "il": p["gl"] * (v - p["el"])}

    def advance(self, v, s, p, ctx):
        """Cnexp step of m, h, n with the rates at the new voltage."""
        minf, mtau, hinf, htau, ninf, ntau = self._rates(v, ctx)
        dt = ctx["dt"]
        return {"m": cnexp(s["m"], minf, mtau, dt), "h": cnexp(s["h"], hinf, htau, dt),
                "n": cnexp(s["n"], ninf, ntau, dt)}
