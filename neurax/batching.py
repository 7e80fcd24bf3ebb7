"""Batches of simulations under ``jax.vmap`` on CPU: tiles of simulations, run side by side on the cores.

A vmapped simulation keeps the batch as the minor axis of every state array, so each step's tree solve
handles a column of simulations per node. Two things limit that on CPU:

* once a batch's state arrays no longer fit the L2 cache, every step waits on memory; tiles of
  :data:`TILE_ROWS` simulations keep them in cache;
* XLA:CPU runs one computation's time loop on one thread for much of each step (the tree solve is a
  chain of dependent nodes), and its thread pool falls asleep there and must be woken for the next
  split kernel (~41 us of a 285 us step, 16 simulations of 1,405 nodes).

So the tiles run as separate executions of one compiled tile, at the same time, one per core
(:func:`threads`), from a host callback. Each execution still splits its large kernels over the pool.
Measured on the 2-core Xeon, 100 ms of hh on the CA1 cell (1,248 compartments, 1,405 nodes), simulations
per second against the tiles run one after another in one computation: batch 8 from 12.1 to 22.8, batch 32
from 13.8 to 22.8, batch 128 from 13.8 to 23.1; with 312 compartments (469 nodes) batch 32 from 37.0 to
70.6. Running more tiles at once than there are cores gained nothing. Results are bit for bit those of
the tiles run in order.

A host callback cannot be serialised, so exporting a vmapped simulation (``jax.export``) needs
``NEURAX_THREADS=1``, which turns this off: the tiles then run one after another in the one computation
(``lax.map``), and only where a tile's state array reaches :data:`TILE_BYTES` (below that, one tile of
the whole batch was faster). GPUs always run the whole batch at once.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import numpy as np

from neurax._jax import jax, jnp, lax
from neurax.errors import NeuraxError

__all__ = ["cpu_batched", "knows_batch", "threads", "tile_size"]

#: Simulations per tile, at most.
TILE_ROWS = 16
#: Run one after another (``NEURAX_THREADS=1``), tiles are used only where one state array of a tile of
#: :data:`TILE_ROWS` holds at least this many bytes.
TILE_BYTES = -(-512 * 1024 // 3)
#: Tiles run side by side only while one tile's carry (v and every state, all its simulations) takes at most
#: this many bytes. Beyond it the side-by-side executions often ran one after another: the pyramidal model with the
#: whole channel library (16 x 256 kB carried per tile) took 102 or 203 ms per simulation from call to call (in
#: the same process), against 126 ms with the tiles in order; the CA1 cell with hh (16 x 45 kB) ran side by side
#: at about twice the speed of the tiles in order, with an occasional call at half speed.
SIDE_BY_SIDE_BYTES = 2 * 2**20
#: The environment variable that sets how many tiles run at once.
THREADS_ENV = "NEURAX_THREADS"


def threads() -> int:
    """How many tiles run at once: ``NEURAX_THREADS`` if set, else the number of cores this process may use."""
    value = os.environ.get(THREADS_ENV, "").strip()
    if value:
        if not value.isdigit() or int(value) < 1:
            raise NeuraxError(f"{THREADS_ENV}={value!r} is not a positive whole number of threads "
                              f"(set it to 1 to run the tiles of a batch one after another)")
        return int(value)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def tile_size(batch: int, nodes: int, itemsize: int, workers: int) -> int:
    """Simulations per tile for a vmapped batch of ``batch`` on ``workers`` threads (``batch``: no tiles).

    With several workers: at most :data:`TILE_ROWS` per tile and a multiple of ``workers`` tiles (as few
    as that allows), so that every core has a tile and the last tile is padded as little as possible.
    With one: tiles of about :data:`TILE_ROWS` only where such a tile's state array (``nodes`` values of
    ``itemsize`` bytes each) reaches :data:`TILE_BYTES`.
    """
    if workers > 1:
        tiles = -(-batch // TILE_ROWS)
        tiles = min(batch, -(-tiles // workers) * workers)
        return -(-batch // tiles)
    if TILE_ROWS * nodes * itemsize < TILE_BYTES:
        return batch
    return -(-batch // max(1, batch // TILE_ROWS))


def cpu_batched(plain: Callable, carry_of: Callable) -> Callable:
    """``plain(*inputs)`` with a vmap rule that runs the batch in tiles (see the module docstring).

    ``carry_of(*inputs)`` gives one simulation's carry, a pytree whose first leaf is a per-node array (its
    size and dtype set the tile size; the whole carry's bytes decide whether tiles run side by side). The
    tiles' results are those of ``jax.vmap(plain)``; the last tile is padded with copies of the last
    simulation.
    """

    @jax.custom_batching.custom_vmap
    def batched_plain(*inputs):
        return plain(*inputs)

    @batched_plain.def_vmap
    def rule(axis_size, in_batched, *inputs):
        batched = jax.vmap(plain, in_axes=_axes(in_batched))
        carry = jax.tree_util.tree_leaves(carry_of(*inputs))
        state = carry[0]
        workers = threads()
        carry_bytes = sum(x.size * x.dtype.itemsize for x in carry)
        if not os.environ.get(THREADS_ENV, "").strip() and TILE_ROWS * carry_bytes > SIDE_BY_SIDE_BYTES:
            workers = 1
        size = tile_size(axis_size, state.shape[-1], state.dtype.itemsize, workers)
        if size >= axis_size:
            out = batched(*inputs)
            return out, jax.tree_util.tree_map(lambda _: True, out)
        tiles = -(-axis_size // size)

        def split(x):  # (tiles, size, ...), the last tile padded with copies of the last simulation
            x = jnp.concatenate([x, jnp.repeat(x[-1:], tiles * size - axis_size, axis=0)])
            return x.reshape((tiles, size) + x.shape[1:])

        leaves, tree = jax.tree_util.tree_flatten(inputs)
        flags = jax.tree_util.tree_leaves(in_batched)
        parts = [split(x) if f else x for x, f in zip(leaves, flags, strict=True)]

        def one_tile(*tile_leaves):  # every leaf, the batched ones cut to one tile
            return batched(*jax.tree_util.tree_unflatten(tree, list(tile_leaves)))

        if workers > 1:
            out = _side_by_side(one_tile, parts, flags, tiles, workers)
        else:
            rest = [x for x, f in zip(leaves, flags, strict=True) if not f]
            tiled = [x for x, f in zip(parts, flags, strict=True) if f]
            out = lax.map(lambda tile: one_tile(*_merge(tile, rest, flags)), tiled)
        out = jax.tree_util.tree_map(lambda x: x.reshape((tiles * size,) + x.shape[2:])[:axis_size], out)
        return out, jax.tree_util.tree_map(lambda _: True, out)

    return batched_plain


def _merge(batched: list, unbatched: list, flags: list) -> list:
    """The leaves in order, taken from ``batched`` where ``flags`` is set and from ``unbatched`` elsewhere."""
    b, u = iter(batched), iter(unbatched)
    return [next(b) if f else next(u) for f in flags]


def _side_by_side(one_tile: Callable, parts: list, flags: list, tiles: int, workers: int):
    """``one_tile`` on every tile of ``parts`` (batched leaves shaped ``(tiles, size, ...)``), the tiles as
    separate executions of one compiled function on ``workers`` threads; every output leaf stacked as
    ``(tiles, ...)``.

    The tile is compiled on the first call (once per trace of the caller).
    """
    tile_avals = [jax.ShapeDtypeStruct(x.shape[1:] if f else x.shape, x.dtype)
                  for x, f in zip(parts, flags, strict=True)]
    out = jax.eval_shape(one_tile, *tile_avals)
    out_leaves, out_tree = jax.tree_util.tree_flatten(out)
    compiled, lock = [], threading.Lock()

    def host(*arrays):
        with lock:
            if not compiled:
                compiled.append(jax.jit(one_tile).lower(*tile_avals).compile())
        run = compiled[0]
        arrays = [np.asarray(x) for x in arrays]

        def tile(k):
            result = run(*[x[k] if f else x for x, f in zip(arrays, flags, strict=True)])
            return [np.asarray(leaf) for leaf in jax.tree_util.tree_leaves(result)]

        with ThreadPoolExecutor(min(workers, tiles)) as pool:
            results = list(pool.map(tile, range(tiles)))
        return tuple(np.stack([r[j] for r in results]) for j in range(len(out_leaves)))

    result = tuple(jax.ShapeDtypeStruct((tiles,) + leaf.shape, leaf.dtype) for leaf in out_leaves)
    return jax.tree_util.tree_unflatten(out_tree, list(jax.pure_callback(host, result, *parts,
                                                                         vmap_method="sequential")))


def knows_batch(fn: Callable) -> Callable:
    """``fn(*inputs, batch=1)``; under ``jax.vmap``, ``jax.vmap(fn(..., batch=axis_size))``.

    For work whose layout depends on how many simulations share it (the adjoint sizes its chunks for the
    whole batch, :data:`neurax.adjoint.CHUNK_BYTES`).
    """

    @jax.custom_batching.custom_vmap
    def one(*inputs):
        return fn(*inputs, batch=1)

    @one.def_vmap
    def rule(axis_size, in_batched, *inputs):
        out = jax.vmap(partial(fn, batch=axis_size), in_axes=_axes(in_batched))(*inputs)
        return out, jax.tree_util.tree_map(lambda _: True, out)

    return one


def _axes(in_batched) -> tuple:
    """The ``in_axes`` of ``jax.vmap`` from a custom_vmap rule's ``in_batched`` flags."""
    return jax.tree_util.tree_map(lambda batched: 0 if batched else None, tuple(in_batched))
