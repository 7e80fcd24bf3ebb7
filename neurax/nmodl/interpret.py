"""Running NMODL statements on JAX arrays: one value per mechanism instance, traced once per compilation.

An NMODL block is executed the way nocmodl's C executes it, statement by statement and in the same order of
operations, but on arrays (every instance at once). What C does with control flow, this does with data:

* ``if``/``else`` on a per-instance condition runs both branches and merges every variable they assign with
  ``where``. Each branch reads its inputs through ``where(taken, x, stop_gradient(x))``, so a branch that is
  not taken (say ``x / (exp(x / y) - 1)`` at ``x = 0``) cannot put a NaN into a gradient. A condition that
  is a plain number (constants only) picks its branch while tracing.
* ``FROM i = a TO b`` with constant bounds is unrolled; arrays (``x[3]``) are Python lists indexed by
  constants.
* FUNCTION and PROCEDURE calls are inlined; a TABLE'd one is looked up in the table that
  :meth:`Interpreter.build_tables` made, with nocmodl's interpolation.

Names resolve as in NMODL: a block's arguments and LOCALs first, then the mechanism's variables (the *env*,
a dict the caller fills with parameters, states, ion variables and ``v``, ``t``, ``dt``, ``celsius``).
Assignments to names that are not local write the env, as PROCEDUREs such as ``rates()`` do.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np

from neurax._deferred import custom_jvp, jax, jnp, lax
from neurax.mechanisms.ions import ktf
from neurax.nmodl import syntax as S
from neurax.nmodl.errors import NmodlError
from neurax.nmodl.model import MechanismModel

__all__ = ["Interpreter", "Frame", "is_static", "integer_power"]

#: Integer exponents up to this size are computed by repeated multiplication (closer to C's correctly
#: rounded ``pow`` than XLA's ``exp(y log x)``, and faster).
MAX_INTEGER_POWER = 16


def is_static(x) -> bool:
    """Whether ``x`` is a plain Python number (known while tracing)."""
    return isinstance(x, (int, float, bool, np.floating, np.integer, np.bool_))


def integer_power(x, n: int):
    """``x ** n`` for a small integer ``n`` by repeated multiplication, left to right."""
    if n == 0:
        return x * 0.0 + 1.0 if not is_static(x) else 1.0
    base = x
    out = base
    for _ in range(abs(n) - 1):
        out = out * base
    return 1.0 / out if n < 0 else out


def _where(c, a, b, xp=jnp):
    if isinstance(a, list) or isinstance(b, list):
        return [_where(c, u, w, xp) for u, w in zip(a, b, strict=True)]
    return xp.where(c, a, b)


def _mask(x, mask):
    """``x`` read inside a branch taken where ``mask``: its gradient is cut where the branch is not taken."""
    if mask is None or is_static(x) or isinstance(x, np.ndarray):
        return x
    if isinstance(x, list):
        return [_mask(u, mask) for u in x]
    return jnp.where(mask, x, lax.stop_gradient(x))


def _truth(x, xp=jnp):
    """C's truth of a value (nonzero), keeping booleans as they are."""
    if is_static(x):
        return bool(x)
    x = xp.asarray(x)
    return x if x.dtype == bool else x != 0


_BINARY: dict[str, Callable] = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "/": lambda a, b: a / b,
    "%": lambda a, b: math.fmod(a, b) if is_static(a) and is_static(b) else jnp.fmod(a, b),
}
_COMPARE = {"<": (lambda a, b: a < b), ">": (lambda a, b: a > b), "<=": (lambda a, b: a <= b),
            ">=": (lambda a, b: a >= b), "==": (lambda a, b: a == b), "!=": (lambda a, b: a != b)}


def _builtin(name: str, args: list, celsius, xp=jnp):
    if all(is_static(a) for a in args) and name in _MATH:  # constants fold in Python (C's libm)
        return _MATH[name](*args)
    if name == "nrn_ghk":
        return _ghk(*args, celsius, xp)
    return (_NP if xp is np else _jnp_functions())[name](*args)


def _power_value(b, a):
    """``a ** b`` (the exponent first: it is fixed, see :func:`_power_rule`)."""
    return jnp.power(a, b)


def _power_rule(b, primals, tangents):
    """The derivative of ``a ** b`` for a fixed ``b`` as ``b a^b / a``, reusing the value: JAX's own rule evaluates a
    second power, ``b a^(b - 1)`` (a calcium-gated channel's Hill function: two powers per node in every derivative
    kernel). At ``a = 0`` it is JAX's value there.
    """
    (a,), (t,) = primals, tangents
    out = jnp.power(a, b)
    with np.errstate(divide="ignore", invalid="ignore"):
        at_zero = float(b * np.power(0.0, b - 1.0))
    slope = jnp.where(a == 0, at_zero, b * out / jnp.where(a == 0, 1.0, a))
    return out, slope * t


def _traced_power_rule(primals, tangents):
    """The derivative of ``a ** b`` (both traced) reusing the value: ``b a^b / a`` for ``a`` (JAX's rule evaluates a
    second power, ``b a^(b - 1)``, and XLA repeats both in every kernel that needs them: a calcium-gated channel's
    Hill function with its exponent a parameter), ``log(a) a^b`` for ``b``, only where ``b`` carries a tangent. At
    ``a = 0`` the values are JAX's.
    """
    (a, b), (ta, tb) = primals, tangents
    out = jnp.power(a, b)
    zero = jax.custom_derivatives.SymbolicZero
    tangent = jnp.zeros_like(out)
    if not isinstance(ta, zero):
        at_zero = jnp.where(b > 1, 0.0, jnp.where(b == 1, 1.0, b * jnp.inf))  # b 0^(b - 1)
        tangent = tangent + jnp.where(a == 0, at_zero, b * out / jnp.where(a == 0, 1.0, a)) * ta
    if not isinstance(tb, zero):
        tangent = tangent + jnp.log(jnp.where(a == 0, 1.0, a)) * out * tb
    return out, tangent


def _efun(x, xp=jnp):
    small = xp.abs(x) < 1e-4
    safe = xp.where(small, 1.0, x)
    return xp.where(small, 1.0 - x / 2.0, safe / (xp.exp(safe) - 1.0))


def _ghk(v, ci, co, z, celsius, xp=jnp):
    """NEURON's ``nrn_ghk(v, ci, co, z)`` (mA/cm^2 per cm/s of permeability, NEURON's formula)."""
    from neurax.mechanisms.ions import FARADAY

    t = z * v / ktf(celsius)
    return 0.001 * z * FARADAY * (ci * _efun(-t, xp) - co * _efun(t, xp))


def _hoc_exp(x):
    """NEURON's ``hoc_Exp``: 0 below -700, exp(700) above 700 (NEURON also prints a warning), else exp."""
    return jnp.where(x < -700.0, 0.0, jnp.exp(jnp.minimum(x, 700.0)))


def _hoc_exp_np(x):
    with np.errstate(over="ignore"):
        return np.where(x < -700.0, 0.0, np.exp(np.minimum(x, 700.0)))


def _erf_np(x):
    from scipy.special import erf

    return erf(x)


def _erfc_np(x):
    from scipy.special import erfc

    return erfc(x)


def _hoc_exp_float(x: float) -> float:
    return 0.0 if x < -700.0 else math.exp(min(x, 700.0))


class _Return(Exception):  # noqa: N818 - control flow: VERBATIM "return 0;" ends a FUNCTION or PROCEDURE
    pass


_MATH = {"exp": _hoc_exp_float, "log": math.log, "log10": math.log10, "sqrt": math.sqrt, "fabs": math.fabs,
         "pow": math.pow, "sin": math.sin, "cos": math.cos, "tan": math.tan, "asin": math.asin, "acos": math.acos,
         "atan": math.atan, "atan2": math.atan2, "sinh": math.sinh, "cosh": math.cosh, "tanh": math.tanh,
         "floor": math.floor, "ceil": math.ceil, "fmod": math.fmod, "fmin": min, "fmax": max, "expm1": math.expm1,
         "log1p": math.log1p, "erf": math.erf, "erfc": math.erfc}


@functools.cache
def _jnp_functions() -> dict[str, Callable]:
    """The math builtins on traced arrays (JAX is imported when the first is needed)."""
    import jax.scipy.special  # noqa: F401 - jax.scipy is not imported with jax

    return {"exp": _hoc_exp, "log": jnp.log, "log10": jnp.log10, "sqrt": jnp.sqrt, "fabs": jnp.abs, "pow": jnp.power,
            "sin": jnp.sin, "cos": jnp.cos, "tan": jnp.tan, "asin": jnp.arcsin, "acos": jnp.arccos, "atan": jnp.arctan,
            "atan2": jnp.arctan2, "sinh": jnp.sinh, "cosh": jnp.cosh, "tanh": jnp.tanh, "floor": jnp.floor,
            "ceil": jnp.ceil, "fmod": jnp.fmod, "fmin": jnp.minimum, "fmax": jnp.maximum, "expm1": jnp.expm1,
            "log1p": jnp.log1p, "erf": jax.scipy.special.erf, "erfc": jax.scipy.special.erfc}


_NP = {"exp": _hoc_exp_np, "log": np.log, "log10": np.log10, "sqrt": np.sqrt, "fabs": np.abs, "pow": np.power,
       "sin": np.sin, "cos": np.cos, "tan": np.tan, "asin": np.arcsin, "acos": np.arccos, "atan": np.arctan,
       "atan2": np.arctan2, "sinh": np.sinh, "cosh": np.cosh, "tanh": np.tanh, "floor": np.floor, "ceil": np.ceil,
       "fmod": np.fmod, "fmin": np.minimum, "fmax": np.maximum, "expm1": np.expm1, "log1p": np.log1p,
       "erf": _erf_np, "erfc": _erfc_np}


def _last(value, points: int):
    """A value that a TABLE's body assigned while it was built: its value at the grid's last point (a scalar, or
    the last element of an array over the grid).
    """
    if isinstance(value, list):
        return [_last(u, points) for u in value]
    shape = getattr(value, "shape", ())
    return value[..., -1] if shape and shape[-1] == points else value


def _concrete(env: dict) -> dict | None:
    """``env`` with every value as numpy (arrays) or Python numbers, or None if any value is traced."""
    out = {}
    for name, value in env.items():
        if isinstance(value, list):
            items = [_concrete({"x": u}) for u in value]
            if any(i is None for i in items):
                return None
            out[name] = [i["x"] for i in items]
        elif is_static(value) or isinstance(value, np.ndarray):
            out[name] = value
        elif isinstance(value, jax.core.Tracer):
            return None
        else:
            try:
                array = np.asarray(value)
            except Exception:  # noqa: BLE001 - anything that is not a concrete array
                return None
            out[name] = float(array) if array.ndim == 0 else array
    return out


class Frame:
    """Where a block runs: the mechanism's env, the block's locals and the branch mask."""

    __slots__ = ("env", "local", "mask")

    def __init__(self, env: dict, local: dict | None = None, mask=None) -> None:
        self.env = env
        self.local = {} if local is None else local
        self.mask = mask

    def get(self, name: str, line: int, path: str):
        """The value of ``name`` (locals first), read through the branch mask."""
        if name in self.local:
            value = self.local[name]
        elif name in self.env:
            value = self.env[name]
        else:
            raise NmodlError(f"{name} has no value here", path, line)
        return _mask(value, self.mask)

    def set(self, name: str, value) -> None:
        """Assign ``name``: a local if declared here, else the mechanism's variable."""
        if name in self.local:
            self.local[name] = value
        else:
            self.env[name] = value


class Interpreter:
    """Executes the blocks of one mechanism (see the module docstring).

    Args:
        model: the analysed mechanism.
        tables: the TABLEs in use, by FUNCTION/PROCEDURE name (from :meth:`build_tables`), or None.
        on_derivative: called for ``x' = f`` statements as ``on_derivative(stmt, frame)``; by default they
            are an error (only the solvers run DERIVATIVE blocks).
    """

    def __init__(self, model: MechanismModel, tables: dict | None = None,
                 on_derivative: Callable | None = None, xp=jnp) -> None:
        self.model = model
        self.tables = tables or {}
        self.on_derivative = on_derivative
        self.callables = {**model.functions, **model.procedures}
        self.path = model.path
        self.xp = xp  # numpy for tables of constants (C's libm, as NEURON's), else jax.numpy

    def error(self, message: str, line: int) -> NmodlError:
        """An error at ``line`` of the file."""
        return NmodlError(message, self.path, line)

    # -- statements -----------------------------------------------------------------------------------
    def run(self, stmts, frame: Frame) -> None:
        """Execute ``stmts`` in ``frame`` (mutating its env and locals)."""
        for stmt in stmts:
            self.statement(stmt, frame)

    def statement(self, stmt, frame: Frame) -> None:
        """Execute one statement."""
        if isinstance(stmt, S.Assign):
            if stmt.prime:
                if self.on_derivative is None:
                    raise self.error(f"{stmt.target.name}' = ... can only be solved by SOLVE", stmt.line)
                self.on_derivative(stmt, frame)
                return
            self.assign(stmt.target, self.eval(stmt.value, frame), frame)
        elif isinstance(stmt, S.Local):
            for name, size in stmt.names:
                frame.local[name] = [0.0] * size if size else 0.0
        elif isinstance(stmt, S.If):
            self.branch(stmt, frame)
        elif isinstance(stmt, S.Block):
            if stmt.kind is None:
                self.run(stmt.body, frame)
        elif isinstance(stmt, S.FromLoop):
            start, stop, step = (int(self.constant(e, frame)) for e in (stmt.start, stmt.stop, stmt.step))
            if step <= 0 and start <= stop:  # nocmodl's loop is for (i = a; i <= b; i += c)
                raise self.error("this FROM loop never ends in NEURON (a step <= 0 from a start <= its end)", stmt.line)
            i = start
            saved = frame.local.get(stmt.var)
            while i <= stop:
                frame.local[stmt.var] = float(i)
                self.run(stmt.body, frame)
                i += step
            if saved is not None:
                frame.local[stmt.var] = saved
        elif isinstance(stmt, S.CallStmt):
            self.call(stmt.call, frame)
        elif isinstance(stmt, S.Verbatim):
            if "return" in stmt.text:  # the only VERBATIM accepted: "return 0;" (model.py checks)
                if frame.mask is not None:
                    raise self.error("VERBATIM return inside an if is not supported", stmt.line)
                raise _Return
        elif isinstance(stmt, (S.Table, S.Solve, S.Conserve, S.Compartment, S.Conductance)):
            return  # tables are used at calls; SOLVE and kinetic declarations belong to the solvers
        elif isinstance(stmt, S.Reaction):
            raise self.error("a reaction outside a KINETIC block's solver", stmt.line)
        else:
            raise self.error(f"{type(stmt).__name__} statements are not supported here", stmt.line)

    def assign(self, target: S.Var, value, frame: Frame) -> None:
        """Assign a variable or an array element."""
        if target.index is None:
            frame.set(target.name, value)
            return
        k = self.index(target, frame)
        current = frame.get(target.name, target.line, self.path) if frame.mask is None else (
            frame.local.get(target.name, frame.env.get(target.name)))
        if not isinstance(current, list):
            raise self.error(f"{target.name} is not an array", target.line)
        current = list(current)
        current[k] = value
        frame.set(target.name, current)

    def index(self, var: S.Var, frame: Frame) -> int:
        """The constant index of ``var[i]``."""
        k = self.constant(var.index, frame)
        if k != int(k):
            raise self.error(f"{var.name}[{k}]: the index must be a whole number", var.line)
        return int(k)

    def constant(self, expr, frame: Frame) -> float:
        """The value of an expression that must be a number known while tracing."""
        value = self.eval(expr, frame)
        if not is_static(value):
            raise self.error("this must be a constant (loop bounds and array indices cannot depend on "
                             "variables neurax computes per instance)", getattr(expr, "line", 0))
        return float(value)

    def branch(self, stmt: S.If, frame: Frame) -> None:
        """``if``/``else``: a static choice, or both branches merged by ``where`` (see the module docstring)."""
        xp = self.xp
        cond = _truth(self.eval(stmt.cond, frame), xp)
        if is_static(cond):
            self.run(stmt.then if cond else stmt.orelse, frame)
            return
        outer = frame.mask
        env0, local0 = dict(frame.env), dict(frame.local)
        results = []
        for taken, body in ((cond, stmt.then), (xp.logical_not(cond), stmt.orelse)):
            mask = taken if outer is None else xp.logical_and(outer, taken)
            sub = Frame(dict(env0), dict(local0), mask)
            self.run(body, sub)
            results.append(sub)
        then, other = results
        for scope, base in (("env", env0), ("local", local0)):
            target = getattr(frame, scope)
            a, b = getattr(then, scope), getattr(other, scope)
            for name in set(a) | set(b):
                if name not in base:  # declared inside a branch (a LOCAL): not visible afterwards
                    continue
                va, vb = a.get(name, base[name]), b.get(name, base[name])
                if va is base[name] and vb is base[name]:
                    continue
                target[name] = _where(cond, va, vb, xp)

    # -- expressions -----------------------------------------------------------------------------------
    def eval(self, expr, frame: Frame):
        """The value of an expression."""
        if isinstance(expr, S.Num):
            return expr.value
        if isinstance(expr, S.Var):
            value = frame.get(expr.name, expr.line, self.path)
            if expr.index is not None:
                if not isinstance(value, list):
                    raise self.error(f"{expr.name} is not an array", expr.line)
                k = self.index(expr, frame)
                if not 0 <= k < len(value):
                    raise self.error(f"{expr.name}[{k}] is outside its {len(value)} elements", expr.line)
                return value[k]
            if isinstance(value, list):
                raise self.error(f"{expr.name} is an array: index it", expr.line)
            return value
        if isinstance(expr, S.Binary):
            return self.binary(expr, frame)
        if isinstance(expr, S.Unary):
            x = self.eval(expr.operand, frame)
            if expr.op == "-":
                return -x
            if expr.op == "+":
                return x
            t = _truth(x, self.xp)
            return (not t) if is_static(t) else self.xp.logical_not(t)
        if isinstance(expr, S.Call):
            return self.call(expr, frame)
        if isinstance(expr, S.Str):
            raise self.error("a string can only be printed", expr.line)
        raise self.error(f"cannot evaluate {type(expr).__name__}", getattr(expr, "line", 0))

    def binary(self, expr: S.Binary, frame: Frame):
        """A binary operation with C's semantics (``^`` is ``pow``; small integer powers by products)."""
        op = expr.op
        if op in ("&&", "||"):
            a = _truth(self.eval(expr.left, frame), self.xp)
            b = _truth(self.eval(expr.right, frame), self.xp)
            if is_static(a) and is_static(b):
                return (a and b) if op == "&&" else (a or b)
            return self.xp.logical_and(a, b) if op == "&&" else self.xp.logical_or(a, b)
        a = self.eval(expr.left, frame)
        b = self.eval(expr.right, frame)
        if op == "^":
            if is_static(b) and float(b) == int(b) and abs(int(b)) <= MAX_INTEGER_POWER:
                return integer_power(a, int(b)) if not is_static(a) else math.pow(a, b)
            if is_static(a) and is_static(b):
                return math.pow(a, b)
            if is_static(b) and self.xp is not np:
                return custom_jvp(_power_value, _power_rule, (0,))(float(b), a)
            if self.xp is not np:
                a, b = jnp.asarray(a), jnp.asarray(b)  # weakly typed where constant: float32 stays float32
                return custom_jvp(jnp.power, _traced_power_rule, (), True)(a, b)
            return self.xp.power(a, b)
        if op in _COMPARE:
            return _COMPARE[op](a, b)
        if op == "%":
            return math.fmod(a, b) if is_static(a) and is_static(b) else self.xp.fmod(a, b)
        if op == "/" and is_static(a) and is_static(b) and b == 0:
            return math.copysign(math.inf, a) if a != 0 else math.nan
        return _BINARY[op](a, b)

    # -- calls -----------------------------------------------------------------------------------------
    def call(self, call: S.Call, frame: Frame):
        """A call: builtin, FUNCTION_TABLE, TABLE'd or inlined FUNCTION/PROCEDURE."""
        name = call.name
        if name in ("printf", "fprintf"):
            return 0.0
        if name == "at_time":  # only meaningful to variable-step integration: always false here
            return 0.0
        block = self.callables.get(name)
        if block is None:
            if name in self.model.function_tables:
                return self.function_table(call, frame)
            if name in _NP or name == "nrn_ghk":
                args = [self.eval(a, frame) for a in call.args]
                return _builtin(name, args, frame.env["celsius"], self.xp)
            raise self.error(f"{name}() cannot be called here", call.line)
        args = [self.eval(a, frame) for a in call.args]
        if name in self.tables:
            return self.lookup(block, args, frame)
        return self.inline(block, args, frame)

    def inline(self, block: S.NamedBlock, args: list, frame: Frame):
        """Run a FUNCTION or PROCEDURE body with its arguments bound; a FUNCTION returns its value."""
        local = {arg: value for (arg, _), value in zip(block.args, args, strict=True)}
        if block.kind == "FUNCTION":
            local[block.name] = 0.0
        sub = Frame(frame.env, local, frame.mask)
        try:
            self.run(block.body, sub)
        except _Return:  # VERBATIM "return 0;": the FUNCTION returns 0
            return 0.0
        return local.get(block.name, 0.0) if block.kind == "FUNCTION" else 0.0

    # -- tables -----------------------------------------------------------------------------------------
    def table_of(self, block: S.NamedBlock) -> S.Table | None:
        """The TABLE statement of a FUNCTION or PROCEDURE, if any."""
        return next((s for s in block.body if isinstance(s, S.Table)), None)

    def build_tables(self, env: dict) -> dict:
        """Every TABLE of the mechanism, built at the values in ``env`` (globals, ``celsius``, ...).

        nocmodl's grid: ``dx = (hi - lo) / n`` and ``x`` accumulated from ``lo`` by ``+= dx`` (n + 1 points);
        lookups use ``mfac = 1 / dx``. Returns ``{name: (lo, mfac, {variable: (values, diffs)})}`` (n + 1
        values). Where the inputs are known numbers (not traced) the tables are computed with numpy, that
        is with the C library's exp and log that NEURON uses: bit for bit NEURON's tables.
        """
        concrete = _concrete(env)
        xp = np if concrete is not None else jnp
        env = concrete if concrete is not None else env
        builder = Interpreter(self.model, None, xp=xp)
        tables = {}
        for name, block in self.callables.items():
            table = self.table_of(block)
            if table is None:
                continue
            frame = Frame(dict(env))
            lo, hi, n = (builder.eval(e, frame) for e in (table.lo, table.hi, table.n))
            if not is_static(n):
                raise self.error("TABLE ... WITH n: n must be a constant", table.line)
            n = int(n)
            if len(block.args) != 1:
                raise self.error(f"a TABLE'd {block.kind.lower()} must take one argument, {name} takes "
                                 f"{len(block.args)}", table.line)
            dx = (hi - lo) / n
            if is_static(lo) and is_static(dx):
                grid = np.empty(n + 1)
                x = float(lo)
                for k in range(n + 1):  # accumulated as nocmodl does
                    grid[k] = x
                    x += dx
            else:
                grid = lo + jnp.cumsum(jnp.concatenate([jnp.zeros(1), jnp.full(n, dx)]))
            sub_env = dict(env)
            names = table.names if block.kind == "PROCEDURE" else (name,)
            local = {block.args[0][0]: grid}
            if block.kind == "FUNCTION":
                local[name] = 0.0
            builder.tables = tables  # a tabled function may call another one tabled before it
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # untaken if-branches
                builder.run(block.body, Frame(sub_env, local))
            columns = {}
            for var in names:
                values = local[var] if block.kind == "FUNCTION" else sub_env[var]
                # an ASSIGNED array (``inf[4]``) is tabled element by element, as nocmodl does
                columns[var] = [_column(x, grid) for x in values] if isinstance(values, list) else \
                    _column(values, grid)
            # What else the body assigned (Mainen's ca.mod sets the GLOBAL tadj in the procedure it tables): NEURON
            # builds the table by calling the body at every grid point, so such a variable keeps its value from the
            # last point, and the lookups that follow never change it. A variable of each instance is set so in
            # the instance whose call built the table, the first, only (the others keep theirs: NEURON 9.0.2,
            # RANGE tadj, three instances, [0.474, 0, 0] after finitialize).
            side = {var: _last(value, grid.shape[-1]) for var, value in sub_env.items()
                    if var not in names and (var not in env or value is not env[var])}
            tables[name] = (lo, 1.0 / dx, columns, side)
        return tables

    def lookup(self, block: S.NamedBlock, args: list, frame: Frame):
        """A TABLE'd call: nocmodl's interpolation, ``t[i] + theta (t[i+1] - t[i])``, clamped at the ends."""
        lo, mfac, columns, side = self.tables[block.name]
        first = next(iter(columns.values()))
        n = (first[0] if isinstance(first, list) else first)[0].shape[-1] - 1
        xp = self.xp
        xi = mfac * (args[0] - lo)
        xi = xp.where(xi < 0.0, 0.0, xp.where(xi > n, float(n), xi))
        if xp is np:
            i = xi.astype(np.int64)
            theta = xi - i

            def at(column):
                values, diffs = column
                return values[i] + theta * diffs[i]
        else:
            i = xi.astype(jnp.int32)
            theta = xi - i
            dtype = jnp.result_type(theta)  # float32 runs keep float32 tables

            def at(column):
                values, diffs = column
                return (jnp.asarray(values, dtype).at[i].get(mode="promise_in_bounds")
                        + theta * jnp.asarray(diffs, dtype).at[i].get(mode="promise_in_bounds"))
        out = {var: [at(c) for c in column] if isinstance(column, list) else at(column)
               for var, column in columns.items()}
        for var, value in side.items():
            if self.model.per_instance(var):  # NEURON's first instance only (``__first__``, else the first element)
                first = frame.env.get("__first__")
                if first is None:
                    first = xp.arange(xp.shape(args[0])[-1] if xp.ndim(args[0]) else 1) == 0
                value = xp.where(first, value, frame.get(var, block.line, self.path))
            frame.set(var, value)
        if block.kind == "FUNCTION":
            return out[block.name]
        for var, value in out.items():
            frame.set(var, value)
        return 0.0

    def function_table(self, call: S.Call, frame: Frame):
        """A FUNCTION_TABLE call: linear interpolation in the data given for it, clamped at the ends."""
        data = frame.env.get(f"__table_{call.name}")
        if data is None:
            raise self.error(f"FUNCTION_TABLE {call.name} has no data: make the mechanism with it, "
                             f"{self.model.name}.with_function_table({call.name!r}, x, y)", call.line)
        xs, ys = data
        x = self.eval(call.args[0], frame)
        dtype = jnp.result_type(x)  # float32 runs interpolate in float32
        return jnp.interp(x, jnp.asarray(xs, dtype), jnp.asarray(ys, dtype))


def _column(values, grid):
    """One TABLE column on ``grid``: the values and their forward differences (0 after the last)."""
    if isinstance(values, np.ndarray) or is_static(values):
        values = np.broadcast_to(np.asarray(values, dtype=float), grid.shape)
        return values, np.concatenate([values[1:] - values[:-1], np.zeros(1)])
    values = jnp.broadcast_to(values, jnp.shape(grid))
    return values, jnp.concatenate([values[1:] - values[:-1], jnp.zeros(1, values.dtype)])
