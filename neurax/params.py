"""Trainable parameters: which values a fit may change, how they are shared, and their valid range.

A :class:`Trainable` picks parameters of a :class:`~neurax.cell.Cell` and says how each is shared::

    tr = cell.trainable({
        "hh.gnabar@soma": nx.Shared("somatic"),        # one value for the whole section list
        "hh.gkbar": nx.PerSection("apical"),          # one value per section
        "pas.g": nx.PerCompartment("basal"),          # one value per compartment
        "Ra": "all",                                  # a bare region means Shared(region)
        "hh.gl@apic": nx.ByDistance("apical", lambda d, th: th[0] * (1 + th[1] * d), init=[3e-4, 0.0]),
    }, transforms={"hh.gnabar@soma": nx.Bounded(0.0, 1.0)})   # others: Log() by default
    p = tr.init()                   # a dict of JAX arrays (unconstrained), from the cell's current values
    cell_p = tr.apply(p)            # a Cell with those values placed; traceable, differentiable
    jax.grad(lambda p: loss(nx.simulate(tr.apply(p), ...)))(p)

Keys are parameter names as :meth:`Cell.set` takes them (``cm``, ``Ra``, ``radius_scale``,
``MECHANISM.PARAM``), optionally followed by ``@label`` so the same parameter can be trained separately on
different regions. Entries apply in the order given (a later one overrides an earlier one where they
overlap). Transforms keep values valid: :class:`Log` (``exp``), :class:`Positive` (softplus),
:class:`Bounded` (sigmoid between bounds), :class:`LogBounded` (sigmoid between bounds on a log scale) or
:class:`Identity`; by default every parameter is :class:`Log`
except reversal potentials (``e``, ``el``, ``ena``, ``ek``), which are :class:`Identity`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from neurax._jax import jax, jnp
from neurax.errors import NeuraxError

__all__ = ["Shared", "PerSection", "PerCompartment", "ByDistance", "Identity", "Log", "Positive", "Bounded",
           "LogBounded", "Trainable"]


@dataclass(frozen=True)
class Shared:
    """One value for the whole region."""

    region: str | tuple[str, ...] = "all"


@dataclass(frozen=True)
class PerSection:
    """One value per section of the region."""

    region: str | tuple[str, ...] = "all"


@dataclass(frozen=True)
class PerCompartment:
    """One value per element of the region: per node (cm, mechanisms) or per 3-D point (radius_scale)."""

    region: str | tuple[str, ...] = "all"


@dataclass(frozen=True)
class ByDistance:
    """Values given by a function of path distance from the soma with trainable coefficients.

    ``fn(d, theta)`` maps distances ``d`` (um, a JAX array) and the coefficient vector ``theta`` to values;
    ``init`` is the starting ``theta``. Example, a linear gradient along the apical tree::

        nx.ByDistance("apical", lambda d, th: th[0] * (1 + th[1] * d), init=[1e-4, 1 / 300])
    """

    region: str | tuple[str, ...]
    fn: object
    init: tuple[float, ...] | list[float]


@dataclass(frozen=True)
class Identity:
    """No constraint."""

    def forward(self, u):
        """Value from the unconstrained parameter."""
        return u

    def inverse(self, x):
        """Unconstrained parameter from the value."""
        return x


@dataclass(frozen=True)
class Positive:
    """Values above ``floor``: ``x = floor + scale * softplus(u)``; ``scale`` sets the step size per unit of u."""

    scale: float = 1.0
    floor: float = 0.0

    def forward(self, u):
        """Value from the unconstrained parameter."""
        return self.floor + self.scale * jax.nn.softplus(u)

    def inverse(self, x):
        """Unconstrained parameter from the value (which must exceed ``floor``)."""
        y = (np.asarray(x, dtype=float) - self.floor) / self.scale
        if np.any(y <= 0):
            raise NeuraxError(f"value {x} is not above the floor {self.floor} of Positive()")
        return np.where(y > 30, y, np.log(np.expm1(np.minimum(y, 30))))


@dataclass(frozen=True)
class Log:
    """Positive values on a log scale, ``x = exp(u)``: parameters of very different magnitudes then move
    by similar relative steps (the default for conductances, Ra, cm and radius scales).
    """

    def forward(self, u):
        """Value from the unconstrained parameter."""
        return jnp.exp(u)

    def inverse(self, x):
        """Unconstrained parameter from the (positive) value."""
        x = np.asarray(x, dtype=float)
        if np.any(x <= 0):
            raise NeuraxError(f"value {x} is not positive, as Log() needs")
        return np.log(x)


@dataclass(frozen=True)
class Bounded:
    """Values strictly between ``lower`` and ``upper``: ``x = lower + (upper - lower) sigmoid(u)``.

    The bounds are numbers, or tuples with one bound per element of the key's values (e.g. the coefficients
    of a :class:`ByDistance`).
    """

    lower: float | tuple[float, ...]
    upper: float | tuple[float, ...]

    def __post_init__(self) -> None:
        if not np.all(np.asarray(self.lower, float) < np.asarray(self.upper, float)):
            raise NeuraxError(f"Bounded({self.lower}, {self.upper}) needs lower < upper")

    def forward(self, u):
        """Value from the unconstrained parameter."""
        lower, upper = np.asarray(self.lower, float), np.asarray(self.upper, float)
        return lower + (upper - lower) * jax.nn.sigmoid(u)

    def inverse(self, x):
        """Unconstrained parameter from the value (which must lie strictly inside the bounds)."""
        lower, upper = np.asarray(self.lower, float), np.asarray(self.upper, float)
        y = (np.asarray(x, dtype=float) - lower) / (upper - lower)
        if np.any((y <= 0) | (y >= 1)):
            raise NeuraxError(f"value {x} is outside Bounded({self.lower}, {self.upper})")
        return np.log(y) - np.log1p(-y)


@dataclass(frozen=True)
class LogBounded:
    """Positive values strictly between ``lower`` and ``upper`` on a log scale: ``x = exp(a + (b - a) sigmoid(u))``
    with ``a = log(lower)``, ``b = log(upper)``. Relative steps are alike for every parameter (as with
    :class:`Log`), and no value can leave its physical range: a fit cannot drive a conductance to 1e-10.
    Bounds are numbers or tuples (one per element), as for :class:`Bounded`.
    """

    lower: float | tuple[float, ...]
    upper: float | tuple[float, ...]

    def __post_init__(self) -> None:
        lower, upper = np.asarray(self.lower, float), np.asarray(self.upper, float)
        if not np.all((0 < lower) & (lower < upper)):
            raise NeuraxError(f"LogBounded({self.lower}, {self.upper}) needs 0 < lower < upper")

    def forward(self, u):
        """Value from the unconstrained parameter."""
        a, b = np.log(np.asarray(self.lower, float)), np.log(np.asarray(self.upper, float))
        return jnp.exp(a + (b - a) * jax.nn.sigmoid(u))

    def inverse(self, x):
        """Unconstrained parameter from the value (which must lie strictly inside the bounds)."""
        x = np.asarray(x, dtype=float)
        a, b = np.log(np.asarray(self.lower, float)), np.log(np.asarray(self.upper, float))
        y = (np.log(np.maximum(x, 1e-300)) - a) / (b - a)
        if np.any((x <= 0) | (y <= 0) | (y >= 1)):
            raise NeuraxError(f"value {x} is outside LogBounded({self.lower}, {self.upper})")
        return np.log(y) - np.log1p(-y)


_REVERSALS = {"e", "el", "ena", "ek"}

#: :meth:`Trainable.bounded`'s physical ranges: membrane capacitance (uF/cm^2), axial resistivity (Ohm cm) and
#: reversal potentials (mV).
CM_BOUNDS = (0.2, 10.0)
RA_BOUNDS = (5.0, 5000.0)
REVERSAL_BOUNDS = (-150.0, 150.0)


@dataclass(frozen=True)
class _Entry:
    key: str
    path: tuple[str, ...]
    index: np.ndarray | None  # elements of the parameter array (None: a GLOBAL scalar)
    slot: np.ndarray  # which trainable value each element takes
    n: int
    transform: object
    fn: object = None  # for ByDistance: fn(distance, theta)
    distance: np.ndarray | None = None
    init: np.ndarray | None = None


class Trainable:
    """A set of trainable parameters of a cell (see the module docstring).

    Args:
        cell: the cell whose current values are the starting point and the fixed rest.
        spec: ``{name or name@label: region or Shared/PerSection/PerCompartment}``.
        transforms: per key, a :class:`Positive`, :class:`Bounded` or :class:`Identity`.
    """

    def __init__(self, cell, spec: Mapping[str, object], transforms: Mapping[str, object] | None = None) -> None:
        self.cell = cell
        transforms = dict(transforms or {})
        unknown = set(transforms) - set(spec)
        if unknown:
            raise NeuraxError(f"transforms for parameters not in spec: {', '.join(sorted(unknown))}")
        entries = []
        for key, sharing in spec.items():
            name = key.split("@", 1)[0]
            if isinstance(sharing, (str, list, tuple)):
                sharing = Shared(sharing if isinstance(sharing, str) else tuple(sharing))
            if not isinstance(sharing, (Shared, PerSection, PerCompartment, ByDistance)):
                raise NeuraxError(f"{key}: sharing must be a region, Shared, PerSection, PerCompartment or ByDistance")
            region = sharing.region if isinstance(sharing.region, str) else list(sharing.region)
            path, index = cell.locate(name, region)
            if index is None:  # a GLOBAL parameter: one value
                if not isinstance(sharing, Shared):
                    raise NeuraxError(f"{key}: {name} is GLOBAL (one value for the cell); train it as Shared")
                entries.append(_Entry(key, path, None, np.zeros(1, np.int64), 1, transforms.get(key, Log())))
                continue
            if index.size == 0:
                raise NeuraxError(f"{key}: region {sharing.region!r} holds no elements")
            if isinstance(sharing, ByDistance):
                theta = np.asarray(sharing.init, dtype=float).ravel()
                entries.append(_Entry(key, path, index, np.zeros(index.size, np.int64), theta.size,
                                      transforms.get(key, Identity()), fn=sharing.fn,
                                      distance=cell._where(path)[index], init=theta))
                continue
            if isinstance(sharing, Shared):
                slot = np.zeros(index.size, np.int64)
            elif isinstance(sharing, PerCompartment) or path == ("Ra",):
                slot = np.arange(index.size)
            else:
                slot = np.unique(self._element_sections(path, index), return_inverse=True)[1]
            default = Identity() if name.rsplit(".", 1)[-1] in _REVERSALS else Log()
            entries.append(_Entry(key, path, index, slot, int(slot.max()) + 1, transforms.get(key, default)))
        self._entries = tuple(entries)

    def _element_sections(self, path: tuple[str, ...], index: np.ndarray) -> np.ndarray:
        cell = self.cell
        if path == ("radius_scale",):
            return np.searchsorted(cell.morphology.offsets, index, side="right") - 1
        return cell.tree.node_section[cell.element_nodes(path)[index]]

    @property
    def keys(self) -> tuple[str, ...]:
        """The trainable parameters' names."""
        return tuple(e.key for e in self._entries)

    @property
    def transforms(self) -> dict:
        """Each key's transform."""
        return {e.key: e.transform for e in self._entries}

    @property
    def size(self) -> int:
        """Total number of trainable values."""
        return sum(e.n for e in self._entries)

    def init(self) -> dict:
        """Unconstrained starting values: each slot's mean current value, inverse-transformed."""
        out = {}
        for e in self._entries:
            if e.fn is not None:
                out[e.key] = jnp.asarray(e.transform.inverse(e.init))
                continue
            current = _get(self.cell.params, e.path)
            current = current.reshape(1) if e.index is None else current[e.index]
            mean = np.bincount(e.slot, weights=current, minlength=e.n) / np.bincount(e.slot, minlength=e.n)
            out[e.key] = jnp.asarray(e.transform.inverse(mean))
        return out

    def values(self, params: Mapping) -> dict:
        """The constrained values of ``params`` (physical units), per key."""
        return {e.key: e.transform.forward(params[e.key]) for e in self._entries}

    def unconstrained(self, values: Mapping) -> dict:
        """``params`` whose :meth:`values` are ``values`` (the inverse of :meth:`values`)."""
        return {e.key: jnp.asarray(e.transform.inverse(np.broadcast_to(values[e.key], (e.n,))))
                for e in self._entries}

    def apply(self, params: Mapping):
        """The cell with the trainable values placed (works on traced values)."""
        new = jax.tree_util.tree_map(lambda x: x, self.cell.params)
        for e in self._entries:
            values = e.transform.forward(jnp.asarray(params[e.key]))
            if e.fn is not None:
                element = jnp.asarray(e.fn(jnp.asarray(e.distance), values), dtype=values.dtype)
            else:
                element = values[e.slot]
            container = new
            for k in e.path[:-1]:
                container = container[k]
            if e.index is None:
                container[e.path[-1]] = element[0]
                continue
            base = jnp.asarray(container[e.path[-1]], dtype=values.dtype)
            container[e.path[-1]] = base.at[e.index].set(element)
        return self.cell.with_params(new)

    def bounded(self, factor: float = 100.0) -> Trainable:
        """The same trainable with every unbounded scale replaced by physical bounds (what a fit of many starts
        needs, :func:`neurax.fit.recipe`): ``cm`` within :data:`CM_BOUNDS` uF/cm^2, ``Ra`` within
        :data:`RA_BOUNDS` Ohm cm, reversal potentials within :data:`REVERSAL_BOUNDS` mV, other positive values
        (conductances, time constants, ...) within ``factor`` of their current values on a log scale.
        Bounded scales are kept.

        Raises:
            NeuraxError: a current value outside those bounds, or a key on an unbounded linear scale that is
                not a reversal potential (e.g. a :class:`ByDistance` coefficient): give it a :class:`Bounded`.
        """
        transforms = {}
        init = self.init()
        for e in self._entries:
            if isinstance(e.transform, (Bounded, LogBounded)):
                transforms[e.key] = e.transform
                continue
            name = e.key.split("@", 1)[0].rsplit(".", 1)[-1]
            values = np.asarray(e.transform.forward(init[e.key]), float).ravel()
            if name in _REVERSALS and isinstance(e.transform, Identity):
                bound = Bounded(*REVERSAL_BOUNDS)
            elif isinstance(e.transform, Identity):
                raise NeuraxError(f"{e.key}: a fit of many starts needs bounds for every parameter, and this one is "
                                  f"on an unbounded linear scale; give transforms={{{e.key!r}: nx.Bounded(lo, hi)}}")
            elif name == "cm":
                bound = LogBounded(*CM_BOUNDS)
            elif name == "Ra":
                bound = LogBounded(*RA_BOUNDS)
            else:
                bound = LogBounded(float(values.min()) / factor, float(values.max()) * factor)
            lower, upper = bound.lower, bound.upper
            if np.any((values <= lower) | (values >= upper)):
                raise NeuraxError(f"{e.key}: current value {values.min():g} .. {values.max():g} lies outside the "
                                  f"default bounds ({lower:g}, {upper:g}); give its transform explicitly")
            transforms[e.key] = bound
        out = object.__new__(Trainable)
        out.cell = self.cell
        out._entries = tuple(
            _Entry(e.key, e.path, e.index, e.slot, e.n, transforms[e.key], e.fn, e.distance, e.init)
            for e in self._entries)
        return out

    def __repr__(self) -> str:
        parts = ", ".join(f"{e.key}[{e.n}]" for e in self._entries)
        return f"<Trainable {self.size} values: {parts}>"


def _get(params: Mapping, path: tuple[str, ...]) -> np.ndarray:
    node = params
    for k in path:
        node = node[k]
    return np.asarray(node, dtype=float)
