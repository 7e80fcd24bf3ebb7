"""The mechanism interface: what a membrane mechanism (NEURON density mechanism or point process) provides.

Built-in mechanisms (:class:`~neurax.mechanisms.HH`, :class:`~neurax.mechanisms.Pas`) and mechanisms
imported from NMODL (:mod:`neurax.nmodl`) are the same kind of object: a frozen dataclass whose fields are
its RANGE parameters (NEURON units and defaults), with class attributes that say what it is:

* :attr:`Mechanism.name` - NEURON's name (``insert NAME`` / ``h.NAME(seg)``);
* :attr:`Mechanism.kind` - ``"density"`` (currents in mA/cm^2), ``"point"`` (a point process: nA at one
  location) or ``"artificial"`` (an ARTIFICIAL_CELL, no membrane);
* :attr:`Mechanism.states` - its own state variables;
* :attr:`Mechanism.ions` - the ions it uses (:class:`IonUse`: which ion variables it reads and writes);
* :attr:`Mechanism.global_params` - GLOBAL parameters with their defaults (one value per cell);
* :attr:`Mechanism.uses` - geometry it reads per instance: ``"diam"`` (um) or ``"area"`` (um^2).

It implements pure functions of JAX arrays, evaluated on its instances (the nodes where it is inserted,
one value per instance; globals are scalars):

* :meth:`Mechanism.init` - the INITIAL block: states at the initial voltage (and the ion concentrations it
  writes, e.g. ``cai``);
* :meth:`Mechanism.current` - the BREAKPOINT currents at voltage ``v``: one array (a current that is no
  ion's) or a dict naming each current (``{"ina": ..., "ik": ..., "il": ...}``; ion currents by the
  names in :attr:`IonUse.write`), outward positive, mA/cm^2 (density) or nA (point process);
* :meth:`Mechanism.advance` - the SOLVE blocks: states after one step ``ctx["dt"]`` (ms) with the new
  voltage ``v`` (and the concentrations it writes);
* :meth:`Mechanism.receive` - a point process's NET_RECEIVE block: its states after an event arrives with the
  connection's arguments (:attr:`receive_args`: the weight first; uS for a conductance synapse).

``p`` holds the parameters (range parameters per instance, globals as scalars) together with the ion
variables the mechanism reads (``p["ena"]``, ``p["cai"]``, ``p["ica"]``) and the geometry in
:attr:`uses`. ``ctx`` carries the simulation constants (``celsius`` degC, ``dt`` ms, ``t`` ms where
needed, and what :meth:`Mechanism.prepare` computed once per simulation, such as rate tables).

The engine adds the conductance the way NEURON does, ``g = (i(v + 0.001) - i(v)) / 0.001``, sums ion
currents over the mechanisms that write them, and keeps each ion's concentrations and reversal potential
by NEURON's rules (:mod:`neurax.mechanisms.ions`). Each instance's results must depend on that instance's
inputs only (as for every NEURON mechanism): gradients use the per-instance derivatives of these
functions (:mod:`neurax.adjoint`).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from neurax._deferred import custom_jvp, jax, jnp

__all__ = ["Mechanism", "IonUse", "cnexp", "cnexp_step", "conductance_parameters"]


@dataclasses.dataclass(frozen=True)
class IonUse:
    """How a mechanism uses one ion (NMODL's ``USEION ion READ ... WRITE ... VALENCE z``).

    Attributes:
        ion: the ion's name, e.g. ``"na"``, ``"k"``, ``"ca"``.
        read: the ion variables read: ``"ena"`` (reversal potential, mV), ``"nai"``/``"nao"``
            (concentrations inside/outside, mM), ``"ina"`` (the ion's total current, mA/cm^2).
        write: the ion variables written: its current ``"ina"`` and/or a concentration ``"nai"``/``"nao"``.
        valence: the ion's charge, if the mechanism declares it.
    """

    ion: str
    read: tuple[str, ...] = ()
    write: tuple[str, ...] = ()
    valence: float | None = None

    @property
    def variables(self) -> tuple[str, ...]:
        """Every variable named, read or written."""
        return tuple(dict.fromkeys(self.read + self.write))


@dataclasses.dataclass(frozen=True)
class Mechanism:
    """Base class of mechanisms. Subclasses are frozen dataclasses of their RANGE parameters."""

    #: NEURON's name of the mechanism (SUFFIX or POINT_PROCESS name).
    name: ClassVar[str] = ""
    #: ``"density"``, ``"point"`` or ``"artificial"``.
    kind: ClassVar[str] = "density"
    #: Names of the mechanism's own state variables (not the ion concentrations it writes).
    states: ClassVar[tuple[str, ...]] = ()
    #: The ions used.
    ions: ClassVar[tuple[IonUse, ...]] = ()
    #: GLOBAL parameters and their defaults (one value per cell, NEURON hoc name ``NAME_<mechanism>``).
    global_params: ClassVar[dict[str, float]] = {}
    #: GLOBAL parameters fixed when the mechanism is built (they bound a loop), with their values.
    fixed: ClassVar[dict[str, float]] = {}
    #: Geometry read per instance: ``"diam"`` (um), ``"area"`` (um^2).
    uses: ClassVar[tuple[str, ...]] = ()
    #: Units of each parameter, for documentation, messages and checks.
    units: ClassVar[dict[str, str]] = {}
    #: Whether the current pass reads the time ``ctx["t"]`` (ms; NEURON's t_n + dt/2 there).
    reads_time: ClassVar[bool] = False
    #: Whether the mechanism has currents (a calcium pool has none: NEURON runs it in the state pass only).
    has_current: ClassVar[bool] = True
    #: Ion currents (``"ica"``, ...) read in the current pass (BREAKPOINT), and in INITIAL or the state pass.
    current_reads: ClassVar[tuple[str, ...]] = ()
    state_current_reads: ClassVar[tuple[str, ...]] = ()
    #: Values the mechanism keeps between passes (part of :attr:`states`, recomputed by :meth:`refresh`).
    carried: ClassVar[tuple[str, ...]] = ()
    #: The arguments of NET_RECEIVE (the weight first); empty for a mechanism that takes no events.
    receive_args: ClassVar[tuple[str, ...]] = ()
    #: Whether NET_RECEIVE only adds to states a term linear in the arguments (``g = g + weight``): events that
    #: arrive together then act as one event with the sum of their arguments.
    receive_additive: ClassVar[bool] = False
    #: The arguments that NET_RECEIVE or its INITIAL block assign: state of the connection (``tlast``, the
    #: resources of a depressing synapse), which NEURON keeps in the NetCon's weight vector between events.
    receive_state: ClassVar[tuple[str, ...]] = ()
    #: Whether the mechanism needs to know which of its instances NEURON takes first (``p["__first__"]``): a
    #: TABLE whose function also sets a value of each instance sets it in that instance only.
    first_instance: ClassVar[bool] = False
    #: Where NEURON evaluates the mechanism among the others (its mechanism type): currents are summed and
    #: states advanced in this order, which matters where mechanisms share an ion's concentration.
    order: ClassVar[float] = 1000.0

    @classmethod
    def parameter_names(cls) -> tuple[str, ...]:
        """The RANGE parameters (dataclass fields) of the mechanism."""
        return tuple(f.name for f in dataclasses.fields(cls))

    def parameters(self) -> dict[str, float]:
        """RANGE parameter values of this instance."""
        return {name: getattr(self, name) for name in self.parameter_names()}

    @classmethod
    def ion_reads(cls) -> tuple[str, ...]:
        """Every ion variable read (``"ena"``, ``"cai"``, ...)."""
        return tuple(var for use in cls.ions for var in use.read)

    @classmethod
    def ion_writes(cls) -> tuple[str, ...]:
        """Every ion variable written (``"ina"``, ``"cai"``, ...)."""
        return tuple(var for use in cls.ions for var in use.write)

    @classmethod
    def writes_concentration(cls) -> bool:
        """Whether the mechanism writes an ion concentration (NEURON then runs it before the others)."""
        return any(var in (f"{u.ion}i", f"{u.ion}o") for u in cls.ions for var in u.write)

    def prepare(self, p: dict, ctx: dict[str, Any]) -> dict[str, Any]:
        """Per-simulation precomputation (e.g. rate tables at ``ctx['celsius']``); returns extra context.

        ``p`` holds the global parameters (scalars).
        """
        return {}

    def init(self, v, p: dict, ctx: dict) -> dict:
        """States (and written concentrations) at voltage ``v`` (mV) after ``finitialize``."""
        return {}

    def current(self, v, s: dict, p: dict, ctx: dict):
        """Membrane current at voltage ``v``: an array, or a dict of named currents (see the module docstring)."""
        raise NotImplementedError

    def current_and_conductance(self, v, s: dict, p: dict, ctx: dict):
        """``(currents, g)``: the currents at ``v`` (as :meth:`current` returns them) and NEURON's
        ``g = (i(v + 0.001) - i(v)) / 0.001`` of their sum.

        Mechanisms whose current is linear in ``v`` for fixed states may return the slope directly (it
        equals the difference quotient to rounding).
        """
        shifted = total_current(self.current(v + 0.001, s, p, ctx))
        i_v = self.current(v, s, p, ctx)
        return i_v, (shifted - total_current(i_v)) / 0.001

    def advance(self, v, s: dict, p: dict, ctx: dict) -> dict:
        """States (and written concentrations) after one step of ``ctx['dt']`` ms, given the new voltage ``v``."""
        return s

    def refresh(self, v, s: dict, p: dict, ctx: dict) -> dict:
        """The :attr:`carried` values after the current pass at ``v`` (none for most mechanisms)."""
        return {}

    def receive(self, v, s: dict, p: dict, w: tuple, ctx: dict) -> dict:
        """States after an event with arguments ``w`` (one array per :attr:`receive_args`, per instance) at
        ``ctx["t"]`` (ms) and voltage ``v`` (mV).
        """
        raise NotImplementedError(f"{self.name} has no NET_RECEIVE block")

    def receive_connection(self, v, s: dict, p: dict, w: tuple, ctx: dict) -> tuple[dict, tuple]:
        """:meth:`receive`, and the connection's arguments as the event leaves them (see :attr:`receive_state`)."""
        return self.receive(v, s, p, w, ctx), w

    def connection_initial(self, v, s: dict, p: dict, w: tuple, ctx: dict) -> tuple:
        """A connection's arguments after ``finitialize`` (NET_RECEIVE's INITIAL block, at ``t`` = 0 and the
        states after INITIAL), from ``w``, those it was given.
        """
        return w


def conductance_parameters(mech: type[Mechanism]) -> tuple[str, ...]:
    """The parameters of a mechanism that are conductances, by their units (S/cm2, mho/cm2, uS, nS, ...): these
    must not be negative.
    """
    from neurax.nmodl.units import UnitError, Units

    units = Units()
    out = []
    for name, unit in mech.units.items():
        if not unit or name not in (*mech.parameter_names(), *mech.global_params):
            continue
        try:
            dims = units.value(unit)[1]
        except UnitError:
            continue
        if dims in ((-2, -1, 3, 2, 0), (-4, -1, 3, 2, 0)):  # siemens, siemens per area
            out.append(name)
    return tuple(out)


def total_current(currents):
    """The sum of a mechanism's currents (an array, or a dict of named arrays summed in order)."""
    if isinstance(currents, dict):
        values = list(currents.values())
        total = values[0]
        for value in values[1:]:
            total = total + value
        return total
    return currents


def cnexp(x, xinf, tau, dt):
    """NEURON's ``cnexp`` update for ``x' = (xinf - x) / tau``: ``x + (1 - exp(-dt / tau)) (xinf - x)``.

    nocmodl writes the target as ``-(xinf / tau) / (-1 / tau)``, which differs from ``xinf`` by an ulp at
    most; two divisions per state are not worth that (the traces still agree to ~1e-10 mV). The NMODL
    importer steps equations of this form with this same function.
    """
    return x + (1.0 - jnp.exp(dt * -_reciprocal(tau))) * (xinf - x)


def cnexp_step(f, x, dt):
    """Nocmodl's ``cnexp`` step of ``x' = f(x)`` for ``f`` linear in ``x``: ``x + (1 - exp(dt a)) (-b / a - x)``
    with ``a = df/dx`` (nocmodl's symbolic derivative; here a JVP, the same expression) and ``b = f(0)``.

    The NMODL importer steps equations of other forms than ``(xinf - x) / tau`` (:func:`cnexp`) with it.
    """
    a = jax.jvp(f, (x,), (jnp.ones_like(x),))[1]
    b = f(jnp.zeros_like(x))
    return _cnexp_ab(x, a, b, dt)


def _cnexp_ab_value(x, a, b, dt):
    """``x + (1 - exp(dt a)) (-b / a - x)``."""
    return x + (1.0 - jnp.exp(dt * a)) * (-b / a - x)


def _cnexp_ab_jvp(primals, tangents):
    """The derivative of :func:`_cnexp_ab_value` in a few products per node."""
    x, a, b, dt = primals
    tx, ta, tb, tdt = tangents
    e = jnp.exp(dt * a)
    c = -b / a
    y = x + (1.0 - e) * (c - x)
    # y = e x + (1 - e) c: dy = e dx + (1 - e) dc + (x - c) de, dc = -(db + c da) / a, de = e (dt da + a ddt)
    dc = -(tb + c * ta) / a
    de = e * (dt * ta + a * tdt)
    return y, e * tx + (1.0 - e) * dc + (x - c) * de


def _reciprocal_value(x):
    return 1.0 / x


def _reciprocal_jvp(primals, tangents):  # -t / x^2 from the value: one division per node, not two
    r = 1.0 / primals[0]
    return r, -tangents[0] * r * r


def _cnexp_ab(x, a, b, dt):
    """``x + (1 - exp(dt a)) (-b / a - x)``, with a derivative rule that costs a few products per node."""
    return custom_jvp(_cnexp_ab_value, _cnexp_ab_jvp)(x, a, b, dt)


def _reciprocal(x):
    """``1 / x``, whose derivative reuses the value."""
    return custom_jvp(_reciprocal_value, _reciprocal_jvp)(x)
