"""JAX imported on first use, for the modules that read and describe mechanisms.

Reading ``.mod`` files (``nx.load_mods``, ``neurax mod``) and defining mechanisms needs no JAX; only running
them does. Importing JAX takes most of a second, more than parsing a folder of ``.mod`` files, so these
modules use the stand-ins below: ``jnp.exp`` imports JAX (through :mod:`neurax._jax`, with float64 on) the
first time it is looked up and is an ordinary attribute after that.
"""

from __future__ import annotations

import functools
from collections.abc import Callable


class _Deferred:
    """A stand-in for one of :mod:`neurax._jax`'s modules (``jax``, ``jnp`` or ``lax``)."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str):
        from neurax import _jax

        value = getattr(getattr(_jax, self._name), attr)
        setattr(self, attr, value)  # found directly from now on
        return value

    def __repr__(self) -> str:
        return f"<neurax: JAX's {self._name}, imported on first use>"


jax = _Deferred("jax")
jnp = _Deferred("jnp")
lax = _Deferred("lax")


@functools.cache
def custom_jvp(value: Callable, rule: Callable, nondiff_argnums: tuple[int, ...] = (),
               symbolic_zeros: bool = False) -> Callable:
    """``jax.custom_jvp(value, nondiff_argnums)`` with the derivative rule ``rule``, made on first use (at module
    level the decorator would import JAX). Call it where the function is needed: the same one comes back.
    With ``symbolic_zeros`` the rule gets :class:`jax.custom_derivatives.SymbolicZero` for the inputs that carry no
    tangent (so that it can skip their terms).
    """
    fn = jax.custom_jvp(value, nondiff_argnums=nondiff_argnums)
    fn.defjvp(rule, symbolic_zeros=symbolic_zeros)
    return fn


__all__ = ["jax", "jnp", "lax", "custom_jvp"]
