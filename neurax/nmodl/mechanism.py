"""Mechanisms from NMODL files: :func:`load_mod` and the :class:`NmodlMechanism` classes it makes.

A ``.mod`` file becomes a class like :class:`~neurax.mechanisms.HH`: a frozen dataclass whose fields are the
RANGE parameters (with the file's defaults), inserted with ``cell.insert(Kv(gbar=0.01), on="somatic")``,
its parameters set and trained by their NEURON names (``"Kv.gbar"``), under ``jit``, ``vmap`` and ``grad``.

NEURON's passes map onto the mechanism interface (:mod:`neurax.mechanisms.base`):

* :meth:`~NmodlMechanism.init`: INITIAL (after the engine has initialised the ions), including
  ``SOLVE ... STEADYSTATE``;
* :meth:`~NmodlMechanism.current`: BREAKPOINT without its SOLVE statements (nrn_cur), returning each
  current (the engine forms NEURON's ``g`` from ``v + 0.001`` and ``v``);
* :meth:`~NmodlMechanism.advance`: the SOLVE statements of BREAKPOINT (nrn_state) by their METHOD; a
  mechanism without currents (a calcium pool) runs its whole BREAKPOINT here, as nocmodl arranges it;
* :meth:`~NmodlMechanism.refresh`: values that BREAKPOINT assigns and a later pass reads before assigning
  them itself (*carried* values: NEURON keeps them in the mechanism's memory between passes; here they
  are states, recomputed by the current pass at the end of each step).

Tables (TABLE) are built once per simulation in :meth:`~NmodlMechanism.prepare`, at the simulation's
``celsius`` and global parameters (traced, so gradients reach them).
"""

from __future__ import annotations

import difflib
import keyword
import os
import re
from collections.abc import Iterable
from typing import ClassVar

from neurax._deferred import jnp
from neurax.mechanisms.base import Mechanism
from neurax.mechanisms.ions import ion_variables
from neurax.nmodl import syntax as S
from neurax.nmodl.errors import NmodlError
from neurax.nmodl.interpret import Frame, Interpreter, _Return
from neurax.nmodl.lexer import read_source
from neurax.nmodl.model import MechanismModel, analyze, has_tables
from neurax.nmodl.parser import parse
from neurax.nmodl.solvers import degrees, solve_block, steady_state

__all__ = ["NmodlMechanism", "build", "load_mod", "load_mods", "receive_problem", "FIRST_USER_TYPE"]

#: NEURON's type number of the first mechanism nrnivmodl loads (after the built-ins).
FIRST_USER_TYPE = 24


class NmodlMechanism(Mechanism):
    """Base of the classes made from ``.mod`` files (see the module docstring)."""

    #: The analysed file.
    model: ClassVar[MechanismModel]
    #: Whether TABLEs are used (NEURON's ``usetable_<name>``).
    usetable: ClassVar[bool] = True
    #: The source text of the file (a model file embeds it).
    source: ClassVar[str] = ""
    #: RANGE parameters and their defaults, in declaration order.
    defaults: ClassVar[dict[str, float]] = {}
    #: The CONDUCTANCE hints of BREAKPOINT (NEURON then uses their sum as the slope).
    hints: ClassVar[tuple[str, ...]] = ()
    #: FUNCTION_TABLE data (see :meth:`with_function_table`): name -> (x, y).
    function_table_data: ClassVar[dict] = {}

    def __init__(self, **values: float) -> None:
        unknown = [k for k in values if k not in self.defaults]
        if unknown:
            raise NmodlError(f"{self.name} has no RANGE parameter {unknown[0]!r}{_suggest(unknown[0], self.defaults)}"
                             f" (its parameters: {', '.join(self.defaults) or 'none'})")
        object.__setattr__(self, "_values", {**self.defaults, **{k: float(v) for k, v in values.items()}})

    @classmethod
    def with_function_table(cls, name: str, x, y) -> type[NmodlMechanism]:
        """The mechanism with the data of its FUNCTION_TABLE ``name`` (what NEURON's
        ``table_NAME_SUFFIX(x_vec, y_vec)`` gives): values ``y`` at the increasing arguments ``x``,
        interpolated linearly and held at the end values beyond them. Returns a new mechanism class.

        Raises:
            NmodlError: no such FUNCTION_TABLE, or data that is not two equally long finite 1-D arrays
                with ``x`` increasing.
        """
        import numpy as np

        tables = cls.model.function_tables
        if name not in tables:
            raise NmodlError(f"{cls.name} has no FUNCTION_TABLE {name!r}{_suggest(name, tables)}; it has "
                             f"{', '.join(tables) or 'none'}")
        xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        if xs.ndim != 1 or xs.shape != ys.shape or xs.size == 0:
            raise NmodlError(f"FUNCTION_TABLE {name} of {cls.name}: x and y must be 1-D and of the same length, "
                             f"got shapes {xs.shape} and {ys.shape}")
        if not (np.all(np.isfinite(xs)) and np.all(np.isfinite(ys)) and np.all(np.diff(xs) > 0)):
            raise NmodlError(f"FUNCTION_TABLE {name} of {cls.name}: the values must be finite and x increasing")
        data = {**cls.function_table_data, name: (tuple(xs.tolist()), tuple(ys.tolist()))}
        return type(cls.__name__, (cls,), {"function_table_data": data, "__module__": cls.__module__})

    @classmethod
    def parameter_names(cls) -> tuple[str, ...]:
        """The RANGE parameters."""
        return tuple(cls.defaults)

    def parameters(self) -> dict[str, float]:
        """RANGE parameter values of this instance."""
        return dict(self._values)

    def __getattr__(self, name: str):
        values = self.__dict__.get("_values", {})
        if name in values:
            return values[name]
        raise AttributeError(name)

    def __repr__(self) -> str:
        changed = {k: v for k, v in self._values.items() if v != self.defaults[k]}
        return f"{type(self).__name__}({', '.join(f'{k}={v:g}' for k, v in changed.items())})"

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self._values == other._values

    def __hash__(self) -> int:
        return hash((type(self), tuple(self._values.items())))

    # -- environment ------------------------------------------------------------------------------------
    def _env(self, v, s: dict, p: dict, ctx: dict) -> dict:
        model = self.model
        env: dict = dict(model.constants)
        for name, var in model.variables.items():
            if var.kind in ("assigned", "local", "ion") and name not in env:
                env[name] = [0.0] * var.size if var.size else 0.0
        env.update(p)
        env.update(s)
        env["v"] = v
        env["dt"] = ctx["dt"]
        env["celsius"] = ctx["celsius"]
        env["t"] = ctx.get("t", 0.0)
        env["secondorder"] = 0.0
        if "usetable" in model.variables:  # 1 where the TABLEs are used (NEURON's usetable_<name>)
            env["usetable"] = 1.0 if self._tables_on(ctx) else 0.0
        for name, data in self.function_table_data.items():
            env[f"__table_{name}"] = data
        return env

    def _tables_on(self, ctx: dict) -> bool:
        """Whether this run looks rates up in the TABLEs (NEURON's usetable_<name> and ``--rates table``)."""
        return bool(self.usetable) and ctx.get("rates", "table") == "table"

    def _interpreter(self, ctx: dict) -> Interpreter:
        tables = ctx.get("tables", {}).get(self.name) if self._tables_on(ctx) else None
        return Interpreter(self.model, tables)

    def _outputs(self) -> tuple[str, ...]:
        """What INITIAL and the state pass give back: the states, the carried values and every concentration
        the mechanism WRITEs (a STATE, or a plain assignment such as ``cai = ca``; one never assigned keeps
        the value it was read with).
        """
        model = self.model
        written = tuple(w for use in model.ions for w in use.write if w in (f"{use.ion}i", f"{use.ion}o")
                        and w not in model.ion_states)
        return model.states + self.carried + model.ion_states + written

    def _out(self, env: dict, names: Iterable[str], like) -> dict:
        """The values of ``names``, one per instance like ``like`` (a block may assign a plain number, e.g.
        ``m = 0`` in INITIAL, or leave a value the same for all instances).
        """
        def one(x):
            return jnp.broadcast_to(jnp.asarray(x, dtype=like.dtype), like.shape)

        return {name: [one(x) for x in env[name]] if isinstance(env[name], list) else one(env[name]) for name in names}

    # -- the passes -------------------------------------------------------------------------------------
    def prepare(self, p: dict, ctx: dict) -> dict:
        """The TABLEs at this simulation's ``celsius`` and global parameters."""
        if not self._tables_on(ctx) or not has_tables(self.model.functions, self.model.procedures):
            return {}
        env = self._env(0.0, {}, {k: (x[0] if getattr(x, "ndim", 0) else x) for k, x in p.items()}, ctx)
        tables = Interpreter(self.model).build_tables(env)
        return {"tables": {**ctx.get("tables", {}), self.name: tables}}

    def init(self, v, p, ctx):
        """States after INITIAL (nocmodl starts every state at 0 unless INITIAL sets it)."""
        model = self.model
        zeros = jnp.zeros_like(v)
        s = {name: zeros + (model.variables[name].default or 0.0) for name in model.states}  # 0 or START
        for name in self.carried:  # an ASSIGNED array carried over (RANGE inf[2]) is one array per element
            size = model.variables[name].size
            start = zeros + p[name] if name in p else zeros  # a PARAMETER starts at its value
            s[name] = [zeros] * size if size else start
        env = self._env(v, s, p, ctx)
        interp = self._interpreter(ctx)
        if model.initial is not None:
            self._block(interp, model.initial.body, Frame(env), self._initial_solve)
        return self._out(env, self._outputs(), zeros)

    @staticmethod
    def _block(interp: Interpreter, stmts, frame: Frame, solve=None) -> None:
        """A block's statements in order: SOLVEs through ``solve`` (skipped without one); a VERBATIM
        ``return 0;`` ends the block, as it ends the C function nocmodl makes of it.
        """
        try:
            for stmt in stmts:
                if not isinstance(stmt, S.Solve):
                    interp.statement(stmt, frame)
                elif solve is not None:
                    solve(interp, stmt, frame)
        except _Return:
            pass

    def _initial_solve(self, interp: Interpreter, stmt: S.Solve, frame: Frame) -> None:
        model = self.model
        if stmt.block in model.procedures:
            interp.inline(model.procedures[stmt.block], [], frame)
            return
        block = model.derivatives.get(stmt.block) or model.kinetics[stmt.block]
        steady_state(interp, block, frame)

    def current(self, v, s, p, ctx):
        """The currents of BREAKPOINT at ``v`` (ELECTRODE_CURRENTs with the sign of a membrane current)."""
        model = self.model
        env = self._env(v, s, p, ctx)
        interp = self._interpreter(ctx)
        self._block(interp, model.breakpoint.body, Frame(env))
        return {cur: -env[cur] if cur in model.electrode else env[cur] for cur in model.currents}

    def current_and_conductance(self, v, s, p, ctx):
        """The currents and NEURON's slope: ``(i(v + 0.001) - i(v)) / 0.001``; with CONDUCTANCE hints, one
        evaluation and the sum of the hinted conductances, as nocmodl generates it.
        """
        if not self.hints:
            return super().current_and_conductance(v, s, p, ctx)
        model = self.model
        env = self._env(v, s, p, ctx)
        self._block(self._interpreter(ctx), model.breakpoint.body, Frame(env))
        g = env[self.hints[0]]
        for name in self.hints[1:]:
            g = g + env[name]
        currents = {cur: -env[cur] if cur in model.electrode else env[cur] for cur in model.currents}
        return currents, g

    def advance(self, v, s, p, ctx):
        """The SOLVE statements of BREAKPOINT by their methods (the whole BREAKPOINT for a pool)."""
        model = self.model
        env = self._env(v, s, p, ctx)
        interp = self._interpreter(ctx)
        frame = Frame(env)
        if model.breakpoint is not None:
            body = model.breakpoint.body
            self._block(interp, [stmt for stmt in body if isinstance(stmt, S.Solve)], frame, self._solve)
            if not model.has_current_pass:  # nocmodl runs the rest after the SOLVEs, in the state pass
                self._block(interp, body, frame)
        return self._out(env, self._outputs(), jnp.zeros_like(v))

    def _solve(self, interp: Interpreter, stmt: S.Solve, frame: Frame) -> None:
        model = self.model
        if stmt.block in model.procedures:
            interp.inline(model.procedures[stmt.block], [], frame)
            return
        block = model.derivatives.get(stmt.block) or model.kinetics[stmt.block]
        solve_block(interp, block, stmt.method, frame, _linearity(model, block))

    def receive(self, v, s, p, w, ctx):
        """NET_RECEIVE with its arguments bound to ``w`` (``flag`` 0: an event from a NetCon)."""
        return self.receive_connection(v, s, p, w, ctx)[0]

    def receive_connection(self, v, s, p, w, ctx):
        """NET_RECEIVE (its INITIAL block aside): the states and the arguments as the block leaves them."""
        return self._net_receive(v, s, p, w, ctx, initial=False)

    def connection_initial(self, v, s, p, w, ctx):
        """NET_RECEIVE's INITIAL block: the connection's arguments after ``finitialize``."""
        return self._net_receive(v, s, p, w, ctx, initial=True)[1]

    def _net_receive(self, v, s, p, w, ctx, initial: bool):
        """NET_RECEIVE without its INITIAL block, or that block alone: ``(states, arguments)`` after it."""
        model = self.model
        if model.net_receive is None:
            return super().receive(v, s, p, w, ctx), w
        env = self._env(v, s, p, ctx)
        args = [name for name, _ in model.net_receive.args]
        local = dict(zip(args, w, strict=True))
        local["flag"] = 0.0
        body = [stmt for stmt in model.net_receive.body if _is_initial(stmt) == initial]
        if initial:
            body = [inner for stmt in body for inner in stmt.body]
        self._block(self._interpreter(ctx), body, Frame(env, local))
        zeros = jnp.zeros_like(v)
        out = tuple(jnp.broadcast_to(jnp.asarray(local[name], dtype=zeros.dtype), zeros.shape) for name in args)
        return self._out(env, self.states, zeros), out

    def refresh(self, v, s, p, ctx):
        """The carried values after the current pass at ``v``."""
        if not self.carried:
            return {}
        model = self.model
        env = self._env(v, s, p, ctx)
        interp = self._interpreter(ctx)
        self._block(interp, model.breakpoint.body, Frame(env))
        return self._out(env, self.carried, jnp.zeros_like(v))


def _suggest(name: str, names) -> str:
    near = difflib.get_close_matches(name, list(names), n=1)
    return f" (did you mean {near[0]!r}?)" if near else ""


_LINEARITY: dict[int, dict] = {}


def _linearity(model: MechanismModel, block: S.NamedBlock) -> dict:
    key = id(block)
    if key not in _LINEARITY:
        _LINEARITY[key] = degrees(model, block.body, model.states + model.ion_states)
    return _LINEARITY[key]


def _tables_set_instance_values(model: MechanismModel) -> bool:
    """Whether a TABLE'd FUNCTION or PROCEDURE also assigns a value of each instance (which NEURON then sets in
    the instance that built the table only: see :meth:`~neurax.nmodl.interpret.Interpreter.build_tables`).
    """
    cache: dict = {}
    for block in (*model.functions.values(), *model.procedures.values()):
        table = next((s for s in block.body if isinstance(s, S.Table)), None)
        if table is None:
            continue
        maybe = _flow(model, block.body, {a for a, _ in block.args}, set(), cache)[2]
        if any(model.per_instance(name) for name in maybe - set(table.names) - {block.name}):
            return True
    return False


# -- which assigned values must be carried between passes ---------------------------------------------------


def _flow(model: MechanismModel, stmts, local: set, written: set, cache: dict) -> tuple[set, set, set]:
    """``(read before written, definitely written, possibly written)`` of non-local names in ``stmts``."""
    reads: set = set()
    maybe: set = set()
    written = set(written)
    callables = {**model.functions, **model.procedures}
    local = set(local)

    def expr_reads(e) -> set:
        out: set = set()
        if isinstance(e, S.Var):
            if e.name not in local and e.name not in written:
                out.add(e.name)
            if e.index is not None:
                out |= expr_reads(e.index)
        elif isinstance(e, S.Call):
            for a in e.args:
                out |= expr_reads(a)
            if e.name in callables:
                r, w, m = _callee(e.name)
                out |= r - written
                written.update(w)
                maybe.update(m)
        elif isinstance(e, S.Unary):
            out |= expr_reads(e.operand)
        elif isinstance(e, S.Binary):
            out |= expr_reads(e.left) | expr_reads(e.right)
        return out

    def _callee(name: str):
        if name not in cache:
            cache[name] = (set(), set(), set())  # recursion guard
            block = callables[name]
            own = {a for a, _ in block.args} | ({name} if block.kind == "FUNCTION" else set())
            cache[name] = _flow(model, block.body, own, set(), cache)
        return cache[name]

    for stmt in stmts:
        if isinstance(stmt, S.Local):
            local.update(n for n, _ in stmt.names)
        elif isinstance(stmt, S.Assign):
            reads |= expr_reads(stmt.value)
            if stmt.target.index is not None:
                reads |= expr_reads(stmt.target.index)
            if stmt.prime:
                reads |= {stmt.target.name} - local - written
            if stmt.target.name not in local:
                written.add(stmt.target.name)
                maybe.add(stmt.target.name)
        elif isinstance(stmt, S.If):
            reads |= expr_reads(stmt.cond)
            r1, w1, m1 = _flow(model, stmt.then, local, written, cache)
            r2, w2, m2 = _flow(model, stmt.orelse, local, written, cache)
            reads |= r1 | r2
            written |= w1 & w2
            maybe |= m1 | m2
        elif isinstance(stmt, (S.Block, S.FromLoop)):
            inner = local | ({stmt.var} if isinstance(stmt, S.FromLoop) else set())
            r, w, m = _flow(model, stmt.body, inner, written, cache)
            reads |= r
            maybe |= m
            if isinstance(stmt, S.Block):
                written |= w
        elif isinstance(stmt, S.CallStmt):
            reads |= expr_reads(stmt.call)
        elif isinstance(stmt, S.Reaction):
            for e in [*(sp for _, sp in stmt.lhs + stmt.rhs), *(r for r in stmt.rates if r is not None)]:
                reads |= expr_reads(e)
        elif isinstance(stmt, S.Solve):
            target = model.derivatives.get(stmt.block) or model.kinetics.get(stmt.block)
            if target is not None:
                r, w, m = _flow(model, target.body, local, written, cache)
                reads |= r
                written |= w
                maybe |= m
            elif stmt.block in callables:
                reads |= expr_reads(S.Call(stmt.block, (), stmt.line))
    return reads, written, maybe


def _passes(model: MechanismModel) -> tuple[tuple, tuple, tuple]:
    """The statements of the current pass, the state pass and INITIAL."""
    bp = model.breakpoint.body if model.breakpoint else ()
    if model.has_current_pass:
        return (tuple(s for s in bp if not isinstance(s, S.Solve)), tuple(s for s in bp if isinstance(s, S.Solve)),
                model.initial.body if model.initial else ())
    return (), bp, model.initial.body if model.initial else ()


def current_reads(model: MechanismModel) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The ion currents read ``(in the current pass, in INITIAL or the state pass)``."""
    names = {f"i{u.ion}" for u in model.ions if f"i{u.ion}" in u.read}
    if not names:
        return (), ()
    cache: dict = {}
    current, state, initial = _passes(model)
    r_cur = _flow(model, current, set(), set(), cache)[0]
    r_other = _flow(model, state, set(), set(), cache)[0] | _flow(model, initial, set(), set(), cache)[0]
    return tuple(sorted(names & r_cur)), tuple(sorted(names & r_other))


def _reads_time(model: MechanismModel) -> bool:
    """Whether the current pass reads ``t``.

    Raises:
        NmodlError: INITIAL or the state pass reads ``t`` (not supported yet).
    """
    cache: dict = {}
    current, state, _ = _passes(model)
    if "t" in _flow(model, state, set(), set(), cache)[0]:  # INITIAL may read t: it is 0 there
        raise NmodlError("the state pass (a SOLVE'd block) reads t: neurax supports t in INITIAL and in BREAKPOINT's "
                         "currents only", model.path, _first_read(model, state, "t"))
    return "t" in _flow(model, current, set(), set(), cache)[0]


def _first_read(model: MechanismModel, stmts, name: str) -> int | None:
    """The line of the first statement (in ``stmts`` or the blocks they SOLVE or call) that reads ``name``."""
    blocks = {**model.functions, **model.procedures, **model.derivatives, **model.kinetics}
    seen: set = set()

    def reads(e) -> bool:
        if isinstance(e, S.Var):
            return e.name == name or (e.index is not None and reads(e.index))
        if isinstance(e, S.Call):
            return any(reads(a) for a in e.args) or (e.name in blocks and visit(blocks[e.name].body) is not None)
        if isinstance(e, S.Unary):
            return reads(e.operand)
        if isinstance(e, S.Binary):
            return reads(e.left) or reads(e.right)
        return False

    def visit(body):
        for stmt in S.walk(body):
            if isinstance(stmt, S.Solve) and stmt.block in blocks and stmt.block not in seen:
                seen.add(stmt.block)
                line = visit(blocks[stmt.block].body)
                if line is not None:
                    return line
            values = [v for v in stmt.__dict__.values() if not isinstance(v, (str, int, float, type(None)))]
            for value in values:
                for e in value if isinstance(value, tuple) else (value,):
                    if reads(e):
                        return stmt.line
        return None

    return visit(stmts)


def carried_values(model: MechanismModel) -> tuple[str, ...]:
    """Assigned values that a pass reads before assigning them and that some pass assigns.

    Raises:
        NmodlError: BREAKPOINT reads a value before assigning it that only BREAKPOINT assigns (it would
            depend on NEURON evaluating BREAKPOINT twice per step).
    """
    cache: dict = {}
    # PARAMETERs that blocks assign (a rate procedure storing RANGE o_rate, c_rate; an INITIAL setting a GLOBAL)
    # keep the value too, per instance
    assigned = {n for n, v in model.variables.items() if v.kind in ("assigned", "local", "range", "global")}
    current, state, initial = _passes(model)
    r_cur, _, m_cur = _flow(model, current, set(), set(), cache)
    r_state, _, m_state = _flow(model, state, set(), set(), cache)
    _, _, m_init = _flow(model, initial, set(), set(), cache)
    r_recv, m_recv = set(), set()
    if model.net_receive is not None:  # what an event reads (Exp2Syn's factor) or sets for later passes
        args = {a for a, _ in model.net_receive.args} | {"flag"}
        r_recv, _, m_recv = _flow(model, model.net_receive.body, args, set(), cache)
    written = m_cur | m_state | m_init | m_recv
    carried = ((r_cur | r_state | r_recv) & written & assigned)
    # A current the mechanism WRITEs and its own state pass reads (a calcium channel that integrates its own
    # ``ica`` into a private pool, ModelDB 116740): NEURON's state pass reads the mechanism's own value from the
    # current pass, not the ion's total, so it is carried like an assigned value.
    own = {cur for u in model.ions if (cur := ion_variables(u.ion)["cur"]) in u.write and cur not in u.read}
    carried |= (r_state | r_recv) & m_cur & own
    self_fed = (r_cur & m_cur & assigned) - m_state - m_init
    if self_fed:
        name = sorted(self_fed)[0]
        raise NmodlError(f"BREAKPOINT reads {name} before assigning it, and only BREAKPOINT assigns it: the "
                         "result would depend on NEURON evaluating BREAKPOINT twice per step, which neurax "
                         "does not reproduce", model.path, _first_read(model, current, name) or model.breakpoint.line)
    return tuple(sorted(carried))


def _is_initial(stmt) -> bool:
    """Whether a statement of NET_RECEIVE is its INITIAL block."""
    return isinstance(stmt, S.Block) and stmt.kind == "INITIAL"


def receive_state(model: MechanismModel) -> tuple[str, ...]:
    """The arguments of NET_RECEIVE that it or its INITIAL block assign (state of each connection)."""
    block = model.net_receive
    if block is None:
        return ()
    assigned = {stmt.target.name for stmt in S.walk(block.body) if isinstance(stmt, S.Assign)}
    return tuple(a for a, _ in block.args if a in assigned)


def receive_problem(model: MechanismModel) -> tuple[str, int] | None:
    """Why neurax cannot deliver events to this mechanism, with the line (None if it can).

    Supported: NET_RECEIVE blocks that compute with their arguments, ``t``, ``v`` and the mechanism's
    variables and assign states, other variables and their arguments (state of each connection, which an
    INITIAL block inside NET_RECEIVE may set at ``finitialize``). Not supported: self-events (``net_send``,
    ``net_move``), a point process that emits spikes (``net_event``) and WATCH.
    """
    block = model.net_receive
    if block is None:
        return (f"{model.name} has no NET_RECEIVE block, so it cannot receive events", None)
    for stmt in S.walk(block.body):
        if isinstance(stmt, S.Watch):
            return ("WATCH is not supported", stmt.line)
        for expr in S.expressions(stmt):
            for call in S.calls(expr):
                if call.name in ("net_send", "net_move"):
                    return (f"{call.name}() (a self-event) is not supported", call.line)
                if call.name == "net_event":
                    return ("net_event() (a point process that emits spikes) is not supported", call.line)
    return None


def receive_is_additive(model: MechanismModel, states: set) -> bool:
    """Whether every statement of NET_RECEIVE is ``x = x + term`` (or ``x = term + x``) for a state ``x``, with
    ``term`` linear in the arguments and free of what the block changes: events arriving at one step then add
    up (the sum of their arguments in one event gives the same states, to rounding).
    """
    block = model.net_receive
    if block is None or not block.body:
        return False
    args = {a for a, _ in block.args}
    assigned = {stmt.target.name for stmt in S.walk(block.body) if isinstance(stmt, S.Assign)}

    def free(e) -> bool:  # reads no argument and nothing the block changes
        return not any(isinstance(x, S.Var) and (x.name in args or x.name in assigned or x.name == "flag")
                       for x in S.subexpressions(e))

    def linear(e) -> bool:  # linear in the arguments, zero where they are
        if isinstance(e, S.Var):
            return e.name in args and e.index is None
        if isinstance(e, S.Unary) and e.op in "+-":
            return linear(e.operand)
        if isinstance(e, S.Binary):
            if e.op in "+-":
                return linear(e.left) and linear(e.right)
            if e.op == "*":
                return (linear(e.left) and free(e.right)) or (free(e.left) and linear(e.right))
            if e.op == "/":
                return linear(e.left) and free(e.right)
        return False

    targets = set()
    for stmt in block.body:
        if not isinstance(stmt, S.Assign) or stmt.prime or stmt.target.index is not None:
            return False
        x, value = stmt.target.name, stmt.value
        if x not in states or x in targets or not (isinstance(value, S.Binary) and value.op == "+"):
            return False
        left, right = value.left, value.right
        term = right if isinstance(left, S.Var) and left.name == x else left if (
            isinstance(right, S.Var) and right.name == x) else None
        if term is None or not linear(term):
            return False
        targets.add(x)
    return True


# -- building classes -------------------------------------------------------------------------------------


def build(model: MechanismModel, order: float = FIRST_USER_TYPE, source: str = "") -> type[NmodlMechanism]:
    """The mechanism class of an analysed file; ``order`` is its NEURON type number (execution order)."""
    for name in model.states:
        if model.variables[name].size:
            raise NmodlError(f"STATE arrays ({name}[{model.variables[name].size}]) are not supported", model.path,
                             model.variables[name].line)
    carried = carried_values(model)
    class_name = re.sub(r"\W", "_", model.name)
    if not class_name.isidentifier() or keyword.iskeyword(class_name):
        class_name = f"M_{class_name}"
    cls = type(class_name, (NmodlMechanism,), {"__module__": __name__})
    cls.defaults = {name: float(model.variables[name].default or 0.0) for name in model.range_params}
    cls.name = model.name
    cls.kind = model.kind
    cls.states = tuple(model.states) + carried
    cls.carried = carried
    cls.ions = model.ions
    cls.global_params = {name: float(model.variables[name].default or 0.0) for name in model.global_params}
    cls.fixed = dict(model.fixed)
    cls.uses = model.uses
    cls.units = {name: var.unit for name, var in model.variables.items()
                 if var.unit and (name in model.range_params or name in model.global_params)}
    cls.order = float(order)
    cls.has_current = model.has_current_pass
    cls.reads_time = _reads_time(model)
    cls.current_reads, cls.state_current_reads = current_reads(model)
    cls.receive_args = tuple(a for a, _ in model.net_receive.args) if model.net_receive is not None else ()
    cls.receive_additive = receive_is_additive(model, set(model.states) | set(carried))
    cls.receive_state = receive_state(model)
    cls.first_instance = _tables_set_instance_values(model)
    cls.hints = tuple(st.name for st in (model.breakpoint.body if model.breakpoint else ())
                      if isinstance(st, S.Conductance))
    cls.model = model
    cls.source = source
    cls.__doc__ = (f"The NMODL mechanism {model.name} ({model.kind}) from {model.path}"
                   + (f": {model.title}" if model.title else "") + ".")
    return cls


def load_mod(path: str, order: float = FIRST_USER_TYPE) -> type[NmodlMechanism]:
    """Read, check and build the mechanism of one ``.mod`` file.

    Raises:
        NmodlError: the file cannot be read, does not parse, or uses what neurax does not support
            (``FILE:LINE: ...``).
    """
    if not os.path.isfile(path):
        raise NmodlError("no such file", path)
    text = read_source(path)
    return build(analyze(parse(text, path)), order, text)


def load_mods(paths: Iterable[str]) -> dict[str, type[NmodlMechanism]]:
    """The mechanisms of ``.mod`` files and folders (every ``*.mod`` in a folder, in nrnivmodl's order: byte
    order of the names), by NEURON name. Type numbers follow that order, as nrnivmodl assigns them.

    Raises:
        NmodlError: a bad file, or two files defining the same mechanism name.
    """
    files: list[str] = []
    for path in paths:
        if os.path.isdir(path):
            found = sorted(f for f in os.listdir(path) if f.endswith(".mod"))
            if not found:
                raise NmodlError("the folder holds no .mod files", path)
            files.extend(os.path.join(path, f) for f in found)
        else:
            files.append(path)
    out: dict[str, type[NmodlMechanism]] = {}
    where: dict[str, str] = {}
    for k, path in enumerate(files):
        cls = load_mod(path, order=FIRST_USER_TYPE + k)
        if cls.name in out:
            raise NmodlError(f"mechanism {cls.name} is defined twice (also in {where[cls.name]})", path)
        out[cls.name] = cls
        where[cls.name] = path
    return out
