"""SOLVE methods: NEURON's integration of DERIVATIVE and KINETIC blocks over one step, on arrays.

* ``cnexp`` (nocmodl): each ``x' = f`` is replaced where it stands by the exact step of a linear equation,
  ``x += (1 - exp(dt A)) (-B / A - x)`` with ``A = df/dx`` (nocmodl differentiates symbolically; here by a
  JVP, which yields the same expression for an ``f`` linear in ``x``) and ``B = f`` at ``x = 0``; an
  equation that does not contain its state is ``x -= dt (-f)``. Later equations see the states updated
  by earlier ones, as in the generated C. An equation not linear in its own state makes nocmodl solve the
  whole block by ``derivimplicit``, and so does this.
* ``derivimplicit``: backward Euler, ``x_new = x_old + dt f(x_new)`` for all states of the block together.
  NEURON iterates Newton's method with a finite-difference Jacobian to convergence; where ``f`` is linear in
  the states (calcium pools, gates) one exact linear solve gives the same root, otherwise Newton's method
  with the exact Jacobian runs to convergence (differentiated by the implicit function theorem).
* ``euler``: ``x_new = x_old + dt f(x_old)``.
* ``sparse`` (KINETIC): backward Euler of the reaction scheme, ``vol_i (x_i - x_old_i) / dt = sum of
  fluxes``; mass action ``kf prod(lhs) - kb prod(rhs)``, ``<<`` fluxes, COMPARTMENT volumes. CONSERVE,
  which NEURON uses to replace one equation, is implied by the exact solution and matters only for
  ``STEADYSTATE``, where it makes the singular system regular.

Per-instance Jacobians are assembled column by column with JVPs (one per state) and solved by Gaussian
elimination unrolled over the (few) states; the instances are the vectorised axis. The solve's derivative is
taken from its solution (one more substitution with the same factors), not through the elimination's steps.
"""

from __future__ import annotations

from dataclasses import dataclass

from neurax._deferred import custom_jvp, jax, jnp, lax
from neurax.mechanisms.base import cnexp, cnexp_step
from neurax.nmodl import syntax as S
from neurax.nmodl.interpret import Frame, Interpreter, is_static
from neurax.nmodl.model import MechanismModel

__all__ = ["solve_block", "steady_state", "degrees"]

#: Newton's method stops when every state changes by less than this (relative to max(1, |x|)).
NEWTON_TOLERANCE = 1e-13
#: and gives up after this many iterations.
NEWTON_ITERATIONS = 50
#: NEURON computes STEADYSTATE as backward-Euler steps this long (ms).
STEADY_DT = 1e9
#: NEURON's sparse Newton: at most this many iterations, until the summed absolute change is this small.
KINETIC_ITERATIONS = 22
KINETIC_TOLERANCE = 1e-6


# -- symbolic dependence -------------------------------------------------------------------------------


def _merge(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, d in b.items():
        out[k] = max(out.get(k, 0), d)
    return out


def degrees(model: MechanismModel, stmts, states: tuple[str, ...]) -> dict:
    """For every derivative equation / reaction, its degree in each state (1 linear, 2 non-linear).

    Returns ``{"eq": {state: {state2: degree}}, "rates": max degree of any reaction rate in any state,
    "total": whether the block is linear in all states jointly}``.
    """
    known: dict[str, dict] = {s: {s: 1} for s in states}
    callables = {**model.functions, **model.procedures}
    reads_states_cache: dict[str, set] = {}

    def callee_states(name: str, seen=()) -> set:
        if name in reads_states_cache:
            return reads_states_cache[name]
        block = callables[name]
        found: set = set()
        for stmt in S.walk(block.body):
            for value in stmt.__dict__.values():
                for e in value if isinstance(value, tuple) else (value,):
                    found |= _names(e) & set(states)
                    for call in _calls(e):
                        if call in callables and call not in seen:
                            found |= callee_states(call, seen + (name,))
        reads_states_cache[name] = found
        return found

    def deg(e) -> dict:
        if isinstance(e, (S.Num, S.Str)) or e is None:
            return {}
        if isinstance(e, S.Var):
            return dict(known.get(e.name, {}))
        if isinstance(e, S.Unary):
            d = deg(e.operand)
            return d if e.op in "-+" else {k: 2 for k in d}
        if isinstance(e, S.Binary):
            a, b = deg(e.left), deg(e.right)
            if e.op in "+-":
                return _merge(a, b)
            if e.op == "*":
                out = {k: min(2, a.get(k, 0) + b.get(k, 0)) for k in set(a) | set(b)}
                if a and b:  # a product of two state-dependent factors: not jointly linear
                    out["__joint__"] = 2
                return out
            if e.op == "/":
                return _merge(a, {k: 2 for k in b}) if b else a
            return {k: 2 for k in set(a) | set(b)}
        if isinstance(e, S.Call):
            out: dict = {}
            for arg in e.args:
                out = _merge(out, {k: 2 for k in deg(arg)})
            if e.name in callables:
                out = _merge(out, {k: 2 for k in callee_states(e.name)})
            return out
        return {}

    equations: dict[str, dict] = {}
    rates = 0
    joint = True

    def walk(body, cond: dict) -> None:
        nonlocal rates, joint
        for stmt in body:
            if isinstance(stmt, S.Assign):
                d = _merge(deg(stmt.value), {k: 2 for k in cond})
                if stmt.prime:
                    equations[stmt.target.name] = d
                    joint = joint and max(d.values(), default=0) <= 1 and "__joint__" not in d
                else:
                    known[stmt.target.name] = _merge(known.get(stmt.target.name, {}), d) if cond else d
            elif isinstance(stmt, S.If):
                c = _merge(cond, deg(stmt.cond))
                walk(stmt.then, c)
                walk(stmt.orelse, c)
            elif isinstance(stmt, (S.Block, S.FromLoop)):
                walk(stmt.body, cond)
            elif isinstance(stmt, S.CallStmt):
                if stmt.call.name in callables and callee_states(stmt.call.name):
                    for target in _assigned(callables[stmt.call.name].body):
                        known[target] = {k: 2 for k in callee_states(stmt.call.name)}
            elif isinstance(stmt, S.Reaction):
                for rate in stmt.rates:
                    d = deg(rate) if rate is not None else {}
                    rates = max(rates, max(d.values(), default=0))
                sides = [stmt.lhs, stmt.rhs]
                if any(sum(c for c, sp in side if sp.name in states) > 1 for side in sides):
                    rates = 2  # mass action of two state species (B + B, A + B): non-linear
    walk(stmts, {})
    return {"eq": equations, "rates": rates, "total": joint and rates <= 0}


def _names(e) -> set:
    if isinstance(e, S.Var):
        return {e.name} | (_names(e.index) if e.index is not None else set())
    if isinstance(e, S.Call):
        return set().union(*(_names(a) for a in e.args)) if e.args else set()
    if isinstance(e, S.Unary):
        return _names(e.operand)
    if isinstance(e, S.Binary):
        return _names(e.left) | _names(e.right)
    return set()


def _calls(e) -> set:
    if isinstance(e, S.Call):
        return {e.name}.union(*(_calls(a) for a in e.args)) if e.args else {e.name}
    if isinstance(e, S.Unary):
        return _calls(e.operand)
    if isinstance(e, S.Binary):
        return _calls(e.left) | _calls(e.right)
    return set()


def _assigned(body) -> set:
    return {s.target.name for s in S.walk(body) if isinstance(s, S.Assign) and not s.prime}


# -- small dense solves, vectorised over instances ------------------------------------------------------


def solve_small(matrix: list[list], rhs: list, pivot: bool = False) -> list:
    """Solve ``matrix x = rhs`` for every instance: ``matrix[i][j]`` and ``rhs[i]`` are arrays over instances.

    Gaussian elimination unrolled over the rows. Without pivoting the derivative is that of the solution,
    ``dx = matrix^-1 (d rhs - d matrix x)``, through the same elimination (:func:`_solve_rule`); JAX's own would
    differentiate every step of the elimination. With ``pivot`` (steady states, where the matrix may need row
    exchanges), one LU factorisation with partial pivoting per instance (:func:`jax.numpy.linalg.solve`). Partial
    pivoting written out by selects, as the elimination is, gave XLA a graph of ~k^3 selects to fuse: a 13-state
    KINETIC scheme (Kv4, ModelDB 145672) took minutes and gigabytes to compile.
    """
    if pivot:
        return _solve_pivoted(matrix, rhs)
    if all(is_static(x) for row in matrix for x in row):
        u, fs = _factor(matrix)
        return _substitute(u, fs, rhs)
    pattern = tuple(tuple(float(x) if is_static(x) else None for x in row) for row in matrix)
    entries = [jnp.asarray(x) for row in matrix for x in row if not is_static(x)]
    rhs = [jnp.asarray(x) for x in rhs]
    return list(custom_jvp(_solve_value, _solve_rule, (0,), True)(pattern, entries, rhs))


def _solve_pivoted(matrix: list[list], rhs: list) -> list:
    """:func:`solve_small` with partial pivoting: the entries stacked into ``(..., k, k)`` and solved by LU."""
    values = [x for row in matrix for x in row] + list(rhs)
    shape = jnp.broadcast_shapes(*(jnp.shape(x) for x in values))
    dtype = jnp.result_type(*values)
    full = lambda x: jnp.broadcast_to(jnp.asarray(x, dtype), shape)  # noqa: E731
    a = jnp.stack([jnp.stack([full(x) for x in row], axis=-1) for row in matrix], axis=-2)
    b = jnp.stack([full(x) for x in rhs], axis=-1)
    x = jnp.linalg.solve(a, b[..., None])[..., 0]
    return [x[..., i] for i in range(len(rhs))]


def _rebuild(pattern, entries):
    """The matrix from its constant entries (``pattern``, None where traced) and the traced ones, row by row."""
    it = iter(entries)
    return [[next(it) if x is None else x for x in row] for row in pattern]


def _factor(a):
    """Forward elimination of ``a``: the upper triangle and the multipliers ``{(row, col): f}`` (a constant zero
    below the diagonal is skipped, as in :func:`solve_small`).
    """
    k = len(a)
    a = [list(row) for row in a]
    fs = {}
    for col in range(k):
        for row in range(col + 1, k):
            if is_static(a[row][col]) and a[row][col] == 0:
                continue
            f = a[row][col] / a[col][col]
            fs[row, col] = f
            for j in range(col + 1, k):
                a[row][j] = a[row][j] - f * a[col][j]
    return a, fs


def _substitute(u, fs, b):
    """``x`` with ``a x = b`` from :func:`_factor`'s ``(u, fs)``: the same operations, in the same order, as the
    elimination of :func:`solve_small` applies to its right-hand side.
    """
    k = len(b)
    b = list(b)
    for col in range(k):
        for row in range(col + 1, k):
            if (row, col) in fs:
                b[row] = b[row] - fs[row, col] * b[col]
    x = [0.0] * k
    for row in reversed(range(k)):
        acc = b[row]
        for j in range(row + 1, k):
            acc = acc - u[row][j] * x[j]
        x[row] = acc / u[row][row]
    return x


def _full(x, entries, rhs):
    """Each unknown as an array of the instances' shape."""
    shape = jnp.broadcast_shapes(*(jnp.shape(e) for e in entries), *(jnp.shape(r) for r in rhs))
    return [jnp.broadcast_to(jnp.asarray(xi), shape) for xi in x]


def _solve_value(pattern, entries, rhs):
    u, fs = _factor(_rebuild(pattern, entries))
    return _full(_substitute(u, fs, rhs), entries, rhs)


def _solve_rule(pattern, primals, tangents):
    """The derivative of :func:`_solve_value`: ``dx = a^-1 (db - da x)``, one more substitution with the factors
    of the value's own elimination. JAX's rule would differentiate each multiplier and each division of the
    elimination, and XLA:CPU computes each division that several derivatives read in a kernel of its own: Ih's
    two-state kinetic scheme, the gradient's costliest state update, took ~90 such kernels per chunk. Pyramidal port
    model with the full channel library, value_and_grad at 400 ms (alternating in one process, 5 rounds):
    12.74-14.25 s against 14.13-15.52 s best three, CPU time 22.0-25.2 against 24.6-27.3 s; gradients equal to
    4e-15 (the values are the same operations, bit for bit).
    """
    entries, rhs = primals
    t_entries, t_rhs = tangents
    u, fs = _factor(_rebuild(pattern, entries))
    x = _full(_substitute(u, fs, rhs), entries, rhs)
    zero = jax.custom_derivatives.SymbolicZero
    k = len(rhs)
    r = [None if isinstance(t, zero) else t for t in t_rhs]
    it = iter(t_entries)
    for i, row in enumerate(pattern):
        for j, static in enumerate(row):
            if static is not None:
                continue
            t = next(it)
            if isinstance(t, zero):
                continue
            term = t * x[j]
            r[i] = -term if r[i] is None else r[i] - term
    if all(t is None for t in r):
        return x, [jnp.zeros_like(xi) for xi in x]
    r = [jnp.zeros_like(x[i]) if r[i] is None else r[i] for i in range(k)]
    dx = _substitute(u, fs, r)
    return x, [jnp.broadcast_to(d, xi.shape).astype(xi.dtype) for d, xi in zip(dx, x, strict=True)]


# -- the system of a block -------------------------------------------------------------------------------


@dataclass
class _System:
    """A DERIVATIVE or KINETIC block as a function of its states: derivatives (or net fluxes) and volumes."""

    interp: Interpreter
    block: S.NamedBlock
    states: tuple[str, ...]
    species: dict | None = None

    def evaluate(self, frame: Frame, values: dict, species: dict | None = None) -> tuple[dict, dict, Frame]:
        """``(rates, volumes, frame_after)``: d(vol x)/dt per state at ``values`` (other names from ``frame``).

        ``species`` (if given) are the state values the mass-action products use instead of ``values``.
        """
        env = dict(frame.env)
        env.update(values)
        sub = Frame(env, dict(frame.local), frame.mask)
        self.species = species
        rates: dict = {}
        volumes: dict = {}
        interp = self.interp

        def on_derivative(stmt, fr):
            rates[stmt.target.name] = interp.eval(stmt.value, fr)

        saved = interp.on_derivative
        interp.on_derivative = on_derivative
        try:
            for stmt in self.block.body:
                if isinstance(stmt, S.Reaction):
                    self.reaction(stmt, sub, rates)
                elif isinstance(stmt, S.Compartment):
                    self.compartment(stmt, sub, volumes)
                else:
                    interp.statement(stmt, sub)
        finally:
            interp.on_derivative = saved
        return rates, volumes, sub

    def compartment(self, stmt: S.Compartment, frame: Frame, volumes: dict) -> None:
        for species in stmt.species:
            if stmt.index is not None:
                raise self.interp.error("COMPARTMENT with an index (arrays of species) is not supported", stmt.line)
            volumes[species] = self.interp.eval(stmt.volume, frame)

    def reaction(self, stmt: S.Reaction, frame: Frame, rates: dict) -> None:
        interp = self.interp

        def amount(side):
            out = 1.0
            for coef, sp in side:
                x = self.species[sp.name] if self.species and sp.name in self.species else interp.eval(sp, frame)
                for _ in range(coef):
                    out = out * x
            return out

        def add(name, value):
            rates[name] = rates[name] + value if name in rates else value

        kf = interp.eval(stmt.rates[0], frame)
        if stmt.op == "<<":
            for _, sp in stmt.lhs:
                add(sp.name, kf)
            frame.local["f_flux"], frame.local["b_flux"] = 0.0, kf
            return
        kb = interp.eval(stmt.rates[1], frame) if stmt.rates[1] is not None else 0.0
        f_flux = kf * amount(stmt.lhs)
        b_flux = kb * amount(stmt.rhs) if stmt.rhs else 0.0
        net = f_flux - b_flux
        for coef, sp in stmt.lhs:
            if sp.name in self.states:
                add(sp.name, -coef * net)
        for coef, sp in stmt.rhs:
            if sp.name in self.states:
                add(sp.name, coef * net)
        frame.local["f_flux"], frame.local["b_flux"] = f_flux, b_flux

    def structural(self, frame: Frame, values: dict) -> tuple[dict, list[list], dict]:
        """``(fluxes, J, volumes)`` of a KINETIC block at ``values`` with nocmodl's matrix: ``J`` holds the
        derivatives of the mass-action products only (rates and ``<<`` fluxes count as constants).
        """
        names = self.states
        primals = [jnp.asarray(values[s]) for s in names]
        lagged = {s: lax.stop_gradient(p) for s, p in zip(names, primals, strict=True)}

        def fluxes_of(*xs):
            r, vol, _ = self.evaluate(frame, lagged, species=dict(zip(names, xs, strict=True)))
            return [jnp.asarray(r.get(s, 0.0)) + 0.0 * xs[0] for s in names], vol

        columns = []
        flux = vol = None
        for j in range(len(names)):
            tangents = [jnp.ones_like(p) if k == j else jnp.zeros_like(p) for k, p in enumerate(primals)]
            flux, col, vol = jax.jvp(fluxes_of, primals, tangents, has_aux=True)
            columns.append(col)
        jac = [[columns[j][i] for j in range(len(names))] for i in range(len(names))]
        return dict(zip(names, flux, strict=True)), jac, {s: vol.get(s, 1.0) for s in names}

    def jacobian(self, frame: Frame, values: dict) -> list[list]:
        """``J[i][j] = d rate_i / d x_j`` per instance, by one JVP per state."""
        names = self.states
        primals = [jnp.asarray(values[s]) for s in names]

        def rates_of(*xs):
            r, _, _ = self.evaluate(frame, dict(zip(names, xs, strict=True)))
            return [jnp.asarray(r.get(s, 0.0)) + 0.0 * xs[0] for s in names]

        columns = []
        for j in range(len(names)):
            tangents = [jnp.ones_like(p) if k == j else jnp.zeros_like(p) for k, p in enumerate(primals)]
            columns.append(jax.jvp(rates_of, primals, tangents)[1])
        return [[columns[j][i] for j in range(len(names))] for i in range(len(names))]


def cnexp_form(expr, state: str) -> str:
    """How nocmodl's symbolic cnexp sees ``state' = expr``: ``"absent"``, ``"linear"``, ``"product"`` (a
    product of the state with itself: nocmodl then emits ``x exp(dt dE/dx)``, silently) or ``"nonlinear"``
    (the state inside a function call, a power or a denominator: nocmodl falls back to derivimplicit).

    The analysis is textual, as nocmodl's: variables computed from the state earlier count as constants.
    """
    rank = {"absent": 0, "linear": 1, "product": 2, "nonlinear": 3}

    def worst(*forms):
        return max(forms, key=rank.__getitem__)

    def form(e) -> str:
        if isinstance(e, S.Var):
            return "linear" if e.name == state else "absent"
        if isinstance(e, (S.Num, S.Str)):
            return "absent"
        if isinstance(e, S.Unary):
            inner = form(e.operand)
            return inner if e.op in "-+" or inner == "absent" else "nonlinear"
        if isinstance(e, S.Call):
            return "nonlinear" if any(form(a) != "absent" for a in e.args) else "absent"
        if isinstance(e, S.Binary):
            a, b = form(e.left), form(e.right)
            if e.op in "+-":
                return worst(a, b)
            if e.op == "*":
                if a != "absent" and b != "absent":
                    return worst(a, b, "product")
                return worst(a, b)
            if e.op == "/":
                return "nonlinear" if b != "absent" else a
            return "nonlinear" if (a, b) != ("absent", "absent") else "absent"
        return "nonlinear"

    return form(expr)


def solve_block(interp: Interpreter, block: S.NamedBlock, method: str, frame: Frame, linear: dict) -> None:
    """Advance the states of ``block`` by one step ``frame.env['dt']`` with ``method``, in ``frame``."""
    model = interp.model
    states = _block_states(model, block)
    dt = frame.env["dt"]
    if block.kind == "DERIVATIVE" and method == "cnexp":
        forms = {s.target.name: cnexp_form(s.value, s.target.name)
                 for s in S.walk(block.body) if isinstance(s, S.Assign) and s.prime}
        if "nonlinear" not in forms.values():
            _cnexp(interp, block, frame, dt, forms)
            return
        method = "derivimplicit"
    system = _System(interp, block, states)
    old = {s: frame.env[s] for s in states}
    if block.kind == "KINETIC":
        _kinetic(system, frame, old, dt)
        return
    if method == "euler":
        rates, _, after = system.evaluate(frame, old)
        _commit(frame, after, {s: old[s] + dt * rates.get(s, 0.0) for s in states}, states)
        return
    vol = {s: 1.0 for s in states}
    if linear["total"]:
        zero = {s: jnp.zeros_like(jnp.asarray(old[s])) for s in states}
        jac = system.jacobian(frame, old)
        rates0, _, _ = system.evaluate(frame, zero)
        # backward Euler of a linear system: (1 / dt - J) x = x_old / dt + rates(0)
        matrix = [[(1.0 / dt if i == j else 0.0) - jac[i][j] for j, _ in enumerate(states)]
                  for i, _ in enumerate(states)]
        rhs = [old[s] / dt + rates0.get(s, 0.0) for s in states]
        new = dict(zip(states, solve_small(matrix, rhs), strict=True))
    else:
        new = _newton(system, frame, old, vol, dt)
    _, _, after = system.evaluate(frame, new)
    _commit(frame, after, new, states)


def _commit(frame: Frame, after: Frame, new: dict, states) -> None:
    """Keep what the block assigned (other than its states) and the new states."""
    for name, value in after.env.items():
        if name not in states and frame.env.get(name) is not value:
            frame.env[name] = value
    for s in states:
        frame.env[s] = new[s]


def _block_states(model: MechanismModel, block: S.NamedBlock) -> tuple[str, ...]:
    """The states a block integrates, in declaration order."""
    used = set()
    for stmt in S.walk(block.body):
        if isinstance(stmt, S.Assign) and stmt.prime:
            used.add(stmt.target.name)
        elif isinstance(stmt, S.Reaction):
            used.update(sp.name for _, sp in stmt.lhs + stmt.rhs)
    declared = model.states + model.ion_states
    return tuple(s for s in declared if s in used)


def _cnexp(interp: Interpreter, block: S.NamedBlock, frame: Frame, dt, forms: dict) -> None:
    def on_derivative(stmt, fr):
        name = stmt.target.name
        x = fr.get(name, stmt.line, interp.path)
        if forms[name] == "absent":  # nocmodl: x - dt (-f)
            fr.set(name, x - dt * (-interp.eval(stmt.value, fr)))
            return

        def f(value):
            env = dict(fr.env)
            env[name] = value
            return interp.eval(stmt.value, Frame(env, dict(fr.local), fr.mask))

        x = jnp.asarray(x)
        relaxation = _relaxation(stmt.value, name)
        if relaxation is not None:  # (X - x) / T: NEURON's update with X itself (see mechanisms.base.cnexp)
            target, tau = (interp.eval(e, fr) for e in relaxation)
            fr.set(name, cnexp(x, target, tau, dt))
            return
        if forms[name] == "product":  # nocmodl drops the constant term: x + (1 - exp(dt a)) (-x)
            a = jax.jvp(f, (x,), (jnp.ones_like(x),))[1]  # nocmodl's symbolic dE/dx at the present x
            fr.set(name, x + (1.0 - jnp.exp(dt * a)) * (-x))
            return
        fr.set(name, cnexp_step(f, x, dt))

    saved = interp.on_derivative
    interp.on_derivative = on_derivative
    try:
        interp.run(block.body, frame)
    finally:
        interp.on_derivative = saved


def _relaxation(expr, state: str):
    """``(X, T)`` if ``expr`` is ``(X - state) / T`` with ``state`` in neither X nor T, else None."""
    if not (isinstance(expr, S.Binary) and expr.op == "/" and isinstance(expr.left, S.Binary)
            and expr.left.op == "-" and isinstance(expr.left.right, S.Var) and expr.left.right.name == state
            and expr.left.right.index is None):
        return None
    target, tau = expr.left.left, expr.right
    if cnexp_form(target, state) != "absent" or cnexp_form(tau, state) != "absent":
        return None
    return target, tau


def _newton(system: _System, frame: Frame, old: dict, vol: dict, dt) -> dict:
    """Backward Euler by Newton's method, differentiated implicitly (``lax.custom_root``)."""
    names = system.states

    def residual(x: dict) -> dict:
        rates, _, _ = system.evaluate(frame, x)
        return {s: vol[s] * (x[s] - old[s]) / dt - rates.get(s, 0.0) for s in names}

    def matrix_at(x: dict) -> list[list]:
        jac = system.jacobian(frame, x)
        return [[(vol[si] / dt if i == j else 0.0) - jac[i][j] for j in range(len(names))]
                for i, si in enumerate(names)]

    def solve(_, x0):
        def body(carry):
            x, _, k = carry
            r = residual(x)
            dx = solve_small(matrix_at(x), [r[s] for s in names])
            x_new = {s: x[s] - d for s, d in zip(names, dx, strict=True)}
            err = jnp.max(jnp.stack([jnp.max(jnp.abs(d) / jnp.maximum(1.0, jnp.abs(x_new[s])))
                                     for s, d in zip(names, dx, strict=True)]))
            return x_new, err, k + 1

        def cond(carry):
            return (carry[1] > NEWTON_TOLERANCE) & (carry[2] < NEWTON_ITERATIONS)

        x, _, _ = lax.while_loop(cond, body, (x0, jnp.asarray(jnp.inf), 0))
        return x

    def tangent_solve(g, y):
        zero = {s: jnp.zeros_like(jnp.asarray(y[s])) for s in names}
        columns = []
        for sj in names:
            unit = dict(zero)
            unit[sj] = jnp.ones_like(zero[sj])
            columns.append(g(unit))
        matrix = [[columns[j][si] for j in range(len(names))] for si in names]
        return dict(zip(names, solve_small(matrix, [y[s] for s in names]), strict=True))

    x0 = {s: jnp.asarray(old[s]) for s in names}
    return lax.custom_root(residual, x0, solve, tangent_solve)


def _is_linear_scheme(block: S.NamedBlock, states) -> bool:
    """Nocmodl's ``linflag``: no side of any reaction holds more than one state molecule."""
    for stmt in S.walk(block.body):
        if isinstance(stmt, S.Reaction) and stmt.op != "<<":
            for side in (stmt.lhs, stmt.rhs):
                if sum(c for c, _ in side) > 1:
                    return False
    return True


def _kinetic(system: _System, frame: Frame, old: dict, dt) -> None:
    """NEURON's ``sparse`` step: Newton on ``c (S - S_old) / dt = fluxes(S)`` whose matrix holds only the
    mass-action products (rate expressions and ``<<`` fluxes are taken at the present iterate); one solve for
    a linear scheme, else iterations until the summed change is at most 1e-6, negative states clamped to 0.
    """
    states = system.states
    linear = _is_linear_scheme(system.block, states)

    def iterate(x):
        flux, jac, vol = system.structural(frame, x)
        matrix = [[(vol[si] / dt if i == j else 0.0) - jac[i][j] for j in range(len(states))]
                  for i, si in enumerate(states)]
        rhs = [-(vol[s] / dt) * (x[s] - old[s]) + flux.get(s, 0.0) for s in states]
        delta = solve_small(matrix, rhs)
        return {s: x[s] + d for s, d in zip(states, delta, strict=True)}, sum(jnp.abs(d) for d in delta)

    x = {s: jnp.asarray(old[s]) for s in states}
    if linear:
        x, _ = iterate(x)
    else:  # a rolled loop (one copy of the scheme in the program), per instance frozen once converged
        def body(_, carry):
            x, done = carry
            new, err = iterate(x)
            new = {s: jnp.maximum(v, 0.0) for s, v in new.items()}
            return {s: jnp.where(done, x[s], new[s]) for s in states}, done | (err <= KINETIC_TOLERANCE)

        x, _ = lax.fori_loop(0, KINETIC_ITERATIONS, body, (x, jnp.zeros(jnp.shape(x[states[0]]), bool)))
    _, _, after = system.evaluate(frame, x)
    _commit(frame, after, x, states)


def steady_state(interp: Interpreter, block: S.NamedBlock, frame: Frame) -> None:
    """``SOLVE block STEADYSTATE sparse`` in INITIAL, as NEURON computes it: one backward-Euler step of
    :data:`STEADY_DT` ms by Newton's method (negative states clamped to 0), each CONSERVE statement replacing
    the equation of its last state (compartment-weighted).
    """
    model = interp.model
    if block.kind != "KINETIC":
        raise interp.error(f"STEADYSTATE of the DERIVATIVE block {block.name}: NEURON's derivimplicit steady "
                           "state does not converge (use a KINETIC block with STEADYSTATE sparse)", block.line)
    states = _block_states(model, block)
    system = _System(interp, block, states)
    conserves = [s for s in block.body if isinstance(s, S.Conserve)]
    old = {s: jnp.asarray(frame.env[s]) for s in states}
    _, _, vol = system.structural(frame, old)
    replaced: dict = {}
    for c in conserves:
        terms = _linear_terms(interp, c.lhs, frame, states)
        free = [s for s in terms if s in states and s not in replaced]
        if free:
            replaced[free[-1]] = ({s: k * vol[s] for s, k in terms.items()}, interp.eval(c.rhs, frame))
    def body(_, carry):
        x, done = carry
        flux, jac, _ = system.structural(frame, x)
        matrix, rhs = [], []
        for i, si in enumerate(states):
            if si in replaced:
                terms, value = replaced[si]
                matrix.append([terms.get(sj, 0.0) for sj in states])
                rhs.append(value - sum(terms.get(sj, 0.0) * x[sj] for sj in states))
            else:
                matrix.append([(vol[si] / STEADY_DT if i == j else 0.0) - jac[i][j] for j in range(len(states))])
                rhs.append(-(vol[si] / STEADY_DT) * (x[si] - old[si]) + flux.get(si, 0.0))
        delta = solve_small(matrix, rhs, pivot=True)
        new = {s: jnp.maximum(x[s] + d, 0.0) for s, d in zip(states, delta, strict=True)}
        err = sum(jnp.abs(d) for d in delta)
        return {s: jnp.where(done, x[s], new[s]) for s in states}, done | (err <= KINETIC_TOLERANCE)

    x = {s: old[s] + jnp.zeros(jnp.shape(old[s] + sum(old.values())), old[s].dtype) for s in states}
    x, _ = lax.fori_loop(0, KINETIC_ITERATIONS, body, (x, jnp.zeros(jnp.shape(x[states[0]]), bool)))
    _, _, after = system.evaluate(frame, x)
    _commit(frame, after, x, states)


def _linear_terms(interp: Interpreter, expr, frame: Frame, states) -> dict:
    """The coefficients of a CONSERVE sum ``a x + b y + ...`` (states only), in order of appearance."""
    out: dict = {}

    def walk(e, sign):
        if isinstance(e, S.Binary) and e.op in "+-":
            walk(e.left, sign)
            walk(e.right, sign if e.op == "+" else -sign)
        elif isinstance(e, S.Var) and e.name in states:
            out[e.name] = out.get(e.name, 0.0) + sign
        elif isinstance(e, S.Binary) and e.op == "*":
            for a, b in ((e.left, e.right), (e.right, e.left)):
                if isinstance(b, S.Var) and b.name in states:
                    out[b.name] = out.get(b.name, 0.0) + sign * interp.eval(a, frame)
                    return
            raise interp.error("CONSERVE terms must be a coefficient times a state", e.line)
        elif isinstance(e, S.Unary) and e.op == "-":
            walk(e.operand, -sign)
        else:
            raise interp.error("CONSERVE must be a sum of states", getattr(e, "line", 0))

    walk(expr, 1.0)
    return out
