"""The mechanism interface: what a membrane channel (a NEURON density mechanism) must provide.

A mechanism is a small frozen dataclass whose fields are its parameters (NEURON units, NEURON defaults).
It declares its state names and implements three pure functions of JAX arrays, each evaluated on the
nodes where the mechanism is inserted:

* :meth:`Mechanism.init` - the INITIAL block: states at the initial voltage;
* :meth:`Mechanism.current` - the BREAKPOINT currents (mA/cm^2, outward positive) at voltage ``v``;
* :meth:`Mechanism.advance` - the state update over one step ``dt`` (ms) with the new voltage
  (NEURON's ``cnexp``: ``x += (1 - exp(-dt / tau)) (xinf - x)``).

The engine adds the conductance the way NEURON does, ``g = (i(v + 0.001) - i(v)) / 0.001``, so a new
channel is one short file: parameters, states, rates and current. Each node's results must depend on
that node's inputs only (as for every density mechanism): gradients use the per-node derivatives of
these functions (:mod:`neurax.adjoint`). Parameters arrive as a dict of arrays
(one value per node), states likewise; ``ctx`` carries the simulation constants (``celsius``, ``dt``,
and whatever :meth:`Mechanism.prepare` computed once per simulation, such as rate tables).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from neurax._jax import jax, jnp

__all__ = ["Mechanism"]


@dataclasses.dataclass(frozen=True)
class Mechanism:
    """Base class of density mechanisms. Subclasses are frozen dataclasses of their parameters."""

    #: NEURON's name of the mechanism (``insert NAME``).
    name: ClassVar[str] = ""
    #: Names of the state variables.
    states: ClassVar[tuple[str, ...]] = ()
    #: Units of each parameter, for documentation and messages.
    units: ClassVar[dict[str, str]] = {}

    @classmethod
    def parameter_names(cls) -> tuple[str, ...]:
        """The parameters (dataclass fields) of the mechanism."""
        return tuple(f.name for f in dataclasses.fields(cls))

    def parameters(self) -> dict[str, float]:
        """Parameter values of this instance."""
        return {name: getattr(self, name) for name in self.parameter_names()}

    def prepare(self, ctx: dict[str, Any]) -> dict[str, Any]:
        """Per-simulation precomputation (e.g. rate tables at ``ctx['celsius']``); returns extra context."""
        return {}

    def init(self, v, p: dict, ctx: dict) -> dict:
        """States at voltage ``v`` (mV) after ``finitialize``."""
        return {}

    def current(self, v, s: dict, p: dict, ctx: dict):
        """Membrane current density (mA/cm^2) at voltage ``v`` with states ``s``."""
        raise NotImplementedError

    def current_and_conductance(self, v, s: dict, p: dict, ctx: dict):
        """``(i, g)``: the current and NEURON's ``g = (i(v + 0.001) - i(v)) / 0.001`` (mS/cm^2 per mV).

        Mechanisms whose current is linear in ``v`` for fixed states may return the slope directly
        (it equals the difference quotient to rounding).
        """
        i_v = self.current(v, s, p, ctx)
        return i_v, (self.current(v + 0.001, s, p, ctx) - i_v) / 0.001

    def advance(self, v, s: dict, p: dict, ctx: dict) -> dict:
        """States after one step of ``ctx['dt']`` ms, given the new voltage ``v``."""
        return s


def cnexp(x, xinf, tau, dt):
    """NEURON's ``cnexp`` update for ``x' = (xinf - x) / tau``: ``x + (1 - exp(-dt / tau)) (xinf - x)``.

    NMODL writes the target as ``-(xinf / tau) / (-1 / tau)``, which differs from ``xinf`` by an ulp at
    most; two divisions per state are not worth that (the traces still agree to ~1e-10 mV).
    """
    return x + (1.0 - jnp.exp(dt * -_reciprocal(tau))) * (xinf - x)


@jax.custom_jvp
def _reciprocal(x):
    return 1.0 / x


@_reciprocal.defjvp
def _reciprocal_jvp(primals, tangents):  # -t / x^2 from the value: one division per node, not two
    r = 1.0 / primals[0]
    return r, -tangents[0] * r * r
