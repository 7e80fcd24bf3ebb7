"""What an NMODL file defines: its kind, ions, parameters, states and blocks, checked (nocmodl's rules).

:func:`analyze` turns a parsed :class:`~neurax.nmodl.syntax.Module` into a :class:`MechanismModel`: every
name classified (RANGE or GLOBAL parameter, constant, state, assigned value, ion variable, special such as
``v`` or ``celsius``), the UNITS constants evaluated, the blocks that run at initialisation, in the current
pass and in the state pass located, and every construct neurax cannot run reported with file and line:

* VERBATIM regions holding C code (empty ones, comments and ``return 0;`` are accepted, as nocmodl
  ignores them in effect);
* POINTER, BBCOREPOINTER, RANDOM, EXTERNAL; WHILE loops; SOLVE methods other than cnexp, derivimplicit,
  euler, sparse (and STEADYSTATE sparse/derivimplicit in INITIAL);
* names used but never declared, calls of unknown functions, arrays indexed by non-constant expressions.

NEURON's classification (nocmodl): a PARAMETER is GLOBAL unless named in RANGE; ASSIGNED and STATE
variables are per instance; ``v``, ``t``, ``dt``, ``celsius``, ``diam``, ``area`` are the simulator's;
variables named in USEION are the ion's; currents are the NONSPECIFIC_CURRENT / ELECTRODE_CURRENT names
and the ion currents written (``ina``).

The declared values of PARAMETERs (RANGE and GLOBAL) and STATE ``START`` values are what nocmodl writes into
the C it generates, printed with C's ``%g``: six significant digits (``za = 0.315646648`` becomes
``0.315647``, ``rq = 123456.789012`` becomes ``123457``). NEURON simulates with those, so neurax does too
(:func:`as_nocmodl_writes`); CONSTANTs, literals in code and UNITS factors keep every digit, as in NEURON.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace

from neurax.mechanisms.base import IonUse
from neurax.mechanisms.ions import CHARGE, ion_of, ion_variables
from neurax.nmodl import syntax as S
from neurax.nmodl.errors import NmodlError
from neurax.nmodl.units import UnitError, Units, conversion_factor

__all__ = ["MechanismModel", "analyze", "SPECIALS", "BUILTINS", "METHODS"]

#: The simulator's variables a mechanism may read.
SPECIALS = ("v", "t", "dt", "celsius", "diam", "area", "secondorder")
#: Math functions callable from NMODL (C's math library, as nocmodl emits them), with their arity.
BUILTINS = {"exp": 1, "log": 1, "log10": 1, "sqrt": 1, "fabs": 1, "pow": 2, "sin": 1, "cos": 1, "tan": 1,
            "asin": 1, "acos": 1, "atan": 1, "atan2": 2, "sinh": 1, "cosh": 1, "tanh": 1, "floor": 1, "ceil": 1,
            "fmod": 2, "fmin": 2, "fmax": 2, "expm1": 1, "log1p": 1, "erf": 1, "erfc": 1, "nrn_ghk": 4,
            "printf": -1, "fprintf": -1}
#: NEURON's random-number functions (not supported).
RANDOM_CALLS = ("normrand", "exprand", "unirand", "scop_random", "set_seed", "scop_normrand", "scop_exprand",
                "poisrand", "random_pick")
#: Event calls, valid in NET_RECEIVE (and net_send in INITIAL).
EVENT_CALLS = ("net_send", "net_event", "net_move")
#: Constants every file may use without declaring them.
PREDEFINED = {"PI": math.pi, "FARADAY": 1.602176634e-19 * 6.02214076e23, "R": 1.380649e-23 * 6.02214076e23,
              "E": math.e}
#: SOLVE methods for DERIVATIVE blocks, and for KINETIC blocks.
METHODS = {"DERIVATIVE": ("cnexp", "derivimplicit", "euler"), "KINETIC": ("sparse",)}
#: Every METHOD nocmodl knows.
NOCMODL_METHODS = ("cnexp", "derivimplicit", "euler", "runge", "sparse", "newton", "simeq", "after_cvode", "cvode_t",
                   "cvode_t_v")
#: VERBATIM text that does nothing (after removing C comments and whitespace).
_HARMLESS_VERBATIM = re.compile(r"^(return\s*0?\s*;)?$")


def has_tables(*blocks) -> bool:
    """Whether any of the blocks (or dicts of blocks) holds a TABLE statement."""
    flat = [b for group in blocks for b in (group.values() if isinstance(group, dict) else group)]
    return any(isinstance(stmt, S.Table) for block in flat for stmt in block.body)


def as_nocmodl_writes(value: float | None) -> float | None:
    """A PARAMETER's or STATE's declared value as NEURON uses it: printed by nocmodl with ``%g`` (six
    significant digits) into the generated C. ``None`` (no value) stays ``None``.
    """
    return None if value is None else float(f"{float(value):g}")


@dataclass(frozen=True)
class Variable:
    """One name of a mechanism.

    Attributes:
        name: the name.
        kind: ``range`` (RANGE PARAMETER), ``global`` (GLOBAL PARAMETER), ``constant``, ``state``,
            ``assigned``, ``ion``, ``special`` or ``local`` (a file-level LOCAL).
        default: the declared value, if any.
        unit: the declared unit, if any.
        size: array size, or None.
        line: where it is declared.
    """

    name: str
    kind: str
    default: float | None = None
    unit: str | None = None
    size: int | None = None
    line: int | None = None


@dataclass(frozen=True)
class MechanismModel:
    """A checked NMODL mechanism (see the module docstring).

    Attributes:
        module: the parsed file.
        path: the file.
        name: SUFFIX / POINT_PROCESS / ARTIFICIAL_CELL name.
        kind: ``"density"``, ``"point"`` or ``"artificial"``.
        ions: the USEION statements.
        currents: the currents it contributes, in nocmodl's order (ion currents written, then the
            NONSPECIFIC and ELECTRODE currents).
        electrode: the ELECTRODE_CURRENT names (their sign is reversed: an electrode injects).
        variables: every declared name.
        range_params, global_params: PARAMETER names by kind, in declaration order.
        states: own STATE names (ion concentrations written are the ion's, see ``ion_states``).
        ion_states: STATE names that are ion concentrations this mechanism writes (e.g. ``cai``).
        constants: numeric constants (CONSTANT, UNITS values and factors, DEFINE, predefined).
        functions, procedures: FUNCTION and PROCEDURE blocks by name.
        function_tables: FUNCTION_TABLE blocks by name.
        derivatives, kinetics: DERIVATIVE and KINETIC blocks by name.
        initial, breakpoint, net_receive: those blocks (or None).
        solves: the SOLVE statements of BREAKPOINT, in order.
        has_current_pass: whether NEURON evaluates BREAKPOINT in the current pass (a mechanism without
            currents runs its whole BREAKPOINT in the state pass instead).
        fixed: GLOBAL parameters that bound a FROM loop (``FROM i = 1 TO hexp``) and that no block
            assigns, with their values: they are constants of the built mechanism (how many times a
            loop runs must be known when it is compiled), so they are not among ``global_params``.
        declared_global: the names a GLOBAL statement lists (an ASSIGNED variable so listed is one value
            for the whole mechanism in NEURON, not one per instance).
    """

    module: S.Module
    path: str
    name: str
    kind: str
    ions: tuple[IonUse, ...]
    currents: tuple[str, ...]
    electrode: tuple[str, ...]
    variables: dict[str, Variable]
    range_params: tuple[str, ...]
    global_params: tuple[str, ...]
    states: tuple[str, ...]
    ion_states: tuple[str, ...]
    constants: dict[str, float]
    functions: dict[str, S.NamedBlock]
    procedures: dict[str, S.NamedBlock]
    function_tables: dict[str, S.NamedBlock]
    derivatives: dict[str, S.NamedBlock]
    kinetics: dict[str, S.NamedBlock]
    initial: S.NamedBlock | None
    breakpoint: S.NamedBlock | None
    net_receive: S.NamedBlock | None
    solves: tuple[S.Solve, ...]
    title: str | None = None
    uses: tuple[str, ...] = field(default=())
    fixed: dict[str, float] = field(default_factory=dict)
    declared_global: frozenset = field(default=frozenset())

    def per_instance(self, name: str) -> bool:
        """Whether NEURON keeps a value of ``name`` per instance (RANGE, or ASSIGNED and not GLOBAL)."""
        var = self.variables.get(name)
        return var is not None and var.kind in ("range", "assigned", "state") and name not in self.declared_global

    @property
    def has_current_pass(self) -> bool:
        """Whether BREAKPOINT runs in NEURON's current pass (the mechanism has currents)."""
        return bool(self.currents)

    def error(self, message: str, line: int | None) -> NmodlError:
        """An error about this file."""
        return NmodlError(message, self.path, line)


def analyze(module: S.Module, fixed: dict[str, float] | None = None) -> MechanismModel:
    """Classify the names and blocks of a parsed file and check what neurax can run.

    Raises:
        NmodlError: an unsupported construct or an inconsistent file, with file and line.
    """
    path = module.path

    def fail(message: str, line: int | None):
        raise NmodlError(message, path, line)

    # -- NEURON block ---------------------------------------------------------------------------------
    name = kind = None
    ions: list[IonUse] = []
    ion_lines: dict[str, int] = {}
    nonspecific: list[str] = []
    electrode: list[str] = []
    ranges: set[str] = set()
    globals_: set[str] = set()
    for stmt in module.neuron:
        if stmt.keyword in ("SUFFIX", "POINT_PROCESS", "ARTIFICIAL_CELL"):
            if name is not None:
                fail(f"a second {stmt.keyword} ({stmt.names[0]}); a file defines one mechanism", stmt.line)
            name = stmt.names[0]
            kind = {"SUFFIX": "density", "POINT_PROCESS": "point", "ARTIFICIAL_CELL": "artificial"}[stmt.keyword]
        elif stmt.keyword == "USEION":
            ion = stmt.names[0]
            if stmt.valence is not None and ion in CHARGE and stmt.valence != CHARGE[ion]:
                fail(f"USEION {ion} VALENCE {stmt.valence:g} contradicts the charge NEURON gives {ion} "
                     f"({CHARGE[ion]:g}); NEURON stops on this", stmt.line)
            names = ion_variables(ion)
            for var in stmt.read + stmt.write:
                if var not in names.values():
                    fail(f"USEION {ion}: {var} is not a variable of the ion (use {', '.join(names.values())})",
                         stmt.line)
            for var in stmt.write:
                if var == names["e"] and (names["i"] in stmt.write or names["o"] in stmt.write):
                    pass
            ions.append(IonUse(ion, tuple(stmt.read), tuple(stmt.write), stmt.valence))
            ion_lines[ion] = stmt.line
        elif stmt.keyword == "NONSPECIFIC_CURRENT":
            nonspecific.extend(stmt.names)
        elif stmt.keyword == "ELECTRODE_CURRENT":
            electrode.extend(stmt.names)
        elif stmt.keyword == "RANGE":
            ranges.update(stmt.names)
        elif stmt.keyword == "GLOBAL":
            globals_.update(stmt.names)
        elif stmt.keyword == "POINTER":
            fail(f"POINTER variables ({', '.join(stmt.names)}) are not supported: neurax mechanisms cannot read "
                 "another mechanism's variables", stmt.line)
        elif stmt.keyword == "BBCOREPOINTER":
            fail(f"BBCOREPOINTER {', '.join(stmt.names)} (an opaque pointer for CoreNEURON, usually to a "
                 "random-number generator) is not supported", stmt.line)
        elif stmt.keyword == "RANDOM":
            fail("RANDOM variables are not supported", stmt.line)
        elif stmt.keyword == "EXTERNAL":
            fail("EXTERNAL variables are not supported", stmt.line)
    if name is None:  # nocmodl then names the density mechanism after the file
        stem = path.rsplit("/", 1)[-1].rsplit(":", 1)[-1]
        stem = stem[:-4] if stem.endswith(".mod") else stem
        if not stem.isidentifier():
            fail("the NEURON block names no SUFFIX, POINT_PROCESS or ARTIFICIAL_CELL (and the file name is no "
                 "mechanism name)", module.neuron[0].line if module.neuron else 1)
        name, kind = stem, "density"
    ion_names = tuple(u.ion for u in ions)
    # Only the names a USEION statement lists are the ion's: a PARAMETER ``cao`` beside ``USEION ca WRITE ica``
    # is a GLOBAL of the mechanism's own (nocmodl: ``cao_Ca``), not the ion's concentration.
    listed = {var for u in ions for var in u.variables}
    for use in ions:
        if use.ion not in CHARGE and use.valence is None:
            fail(f"USEION {use.ion} needs a VALENCE (NEURON knows the charge of na, k and ca only)",
                 ion_lines[use.ion])

    # -- constants ------------------------------------------------------------------------------------
    constants: dict[str, float] = dict(PREDEFINED)
    constants.update(module.defines)
    units = Units()
    for u in module.units:
        try:
            if u.kind == "alias":
                units.define(u.name, u.first)
            elif u.kind == "factor":
                constants[u.name] = conversion_factor(u.first, u.second, units)
            else:
                constants[u.name] = u.value
        except UnitError as err:
            fail(f"UNITS: {err}", u.line)
    for d in module.constants:
        if d.value is None:
            fail(f"CONSTANT {d.name} has no value", d.line)
        constants[d.name] = d.value

    # -- variables ------------------------------------------------------------------------------------
    variables: dict[str, Variable] = {}
    currents_written = [var for u in ions for var in u.write if ion_of(var, (u.ion,))[1] == "cur"]

    def declare(d: S.Decl, kind_: str) -> None:
        if d.name in SPECIALS:
            variables[d.name] = Variable(d.name, "special", d.value, d.unit, None, d.line)
            return
        if d.name in listed and ion_of(d.name, ion_names):
            variables[d.name] = Variable(d.name, "ion", d.value, d.unit, d.size, d.line)
            return
        value = as_nocmodl_writes(d.value) if kind_ in ("range", "global") else d.value
        variables[d.name] = Variable(d.name, kind_, value, d.unit, d.size, d.line)

    range_params, global_params = [], []
    for d in module.parameters:
        is_range = d.name in ranges
        declare(d, "range" if is_range else "global")
        if variables[d.name].kind == "range":
            range_params.append(d.name)
        elif variables[d.name].kind == "global":
            global_params.append(d.name)
    bounds, assigned_names = _loop_bounds_and_targets(module.blocks)
    fixed_values: dict[str, float] = {}
    for gname in [g for g in global_params if g in bounds and g not in assigned_names]:
        given = (fixed or {}).get(gname)
        fixed_values[gname] = float(given if given is not None else variables[gname].default or 0.0)
        constants[gname] = fixed_values[gname]
        variables[gname] = Variable(gname, "constant", fixed_values[gname], variables[gname].unit, None,
                                    variables[gname].line)
        global_params.remove(gname)
    for d in module.assigned:
        declare(d, "assigned")
    states, ion_states = [], []
    for d in module.states:
        found = ion_of(d.name, ion_names) if d.name in listed else None
        if found:
            use = next(u for u in ions if u.ion == found[0])
            if d.name not in use.write:
                fail(f"STATE {d.name} is an ion variable that the USEION statement does not WRITE", d.line)
            ion_states.append(d.name)
            variables[d.name] = Variable(d.name, "ion", None, d.unit, None, d.line)
            continue
        if d.name in SPECIALS:
            fail(f"{d.name} cannot be a STATE", d.line)
        states.append(d.name)
        variables[d.name] = Variable(d.name, "state", as_nocmodl_writes(d.value), d.unit, d.size, d.line)
    for local_name, size, line in module.locals:
        variables.setdefault(local_name, Variable(local_name, "local", None, None, size, line))
    for use in ions:  # ion variables named in USEION but not declared are the ion's all the same
        for var in use.variables:
            variables.setdefault(var, Variable(var, "ion", None, None, None, ion_lines[use.ion]))
    for special in SPECIALS:
        variables.setdefault(special, Variable(special, "special"))
    if has_tables(module.blocks):
        # a TABLE makes NEURON's usetable_<name>, which the file's own code may read as ``usetable``
        variables.setdefault("usetable", Variable("usetable", "special"))
    for cname in constants:
        if cname not in variables:
            variables[cname] = Variable(cname, "constant", constants[cname])
    for cur in nonspecific + electrode:
        if cur not in variables:
            variables[cur] = Variable(cur, "assigned")

    # -- blocks ---------------------------------------------------------------------------------------
    by_kind: dict[str, dict[str, S.NamedBlock]] = {}
    singles: dict[str, S.NamedBlock] = {}
    for block in module.blocks:
        if block.kind in ("INITIAL", "BREAKPOINT") and block.kind in singles:
            # nocmodl runs every INITIAL (BREAKPOINT) block's statements, in the file's order: an included file's
            # BREAKPOINT and one below the INCLUDE (Lytton's netcon.inc, ModelDB 64229) are one block
            singles[block.kind] = replace(singles[block.kind], body=singles[block.kind].body + block.body)
        elif block.kind in ("INITIAL", "BREAKPOINT", "NET_RECEIVE", "CONSTRUCTOR", "DESTRUCTOR"):
            if block.kind in singles:
                fail(f"a second {block.kind} block", block.line)
            singles[block.kind] = block
        elif block.kind in ("BEFORE", "AFTER"):
            fail(f"{block.kind} {block.name} blocks are not supported", block.line)
        elif block.kind in ("LINEAR", "NONLINEAR"):
            fail(f"{block.kind} blocks are not supported yet", block.line)
        else:
            table = by_kind.setdefault(block.kind, {})
            if block.name in table:
                fail(f"{block.kind} {block.name} is defined twice", block.line)
            table[block.name] = block
    for kind_ in ("CONSTRUCTOR", "DESTRUCTOR"):
        if kind_ in singles:
            _check_verbatim(singles[kind_].body, path)
    for text in module.verbatim:
        _check_verbatim((text,), path)
    breakpoint = singles.get("BREAKPOINT")
    solves = tuple(s for s in (breakpoint.body if breakpoint else ()) if isinstance(s, S.Solve))
    model = MechanismModel(
        module=module, path=path, name=name, kind=kind, ions=tuple(ions),
        currents=tuple(currents_written + nonspecific + electrode), electrode=tuple(electrode),
        variables=variables, range_params=tuple(range_params), global_params=tuple(global_params),
        states=tuple(states), ion_states=tuple(ion_states), constants=constants,
        functions=by_kind.get("FUNCTION", {}), procedures=by_kind.get("PROCEDURE", {}),
        function_tables=by_kind.get("FUNCTION_TABLE", {}), derivatives=by_kind.get("DERIVATIVE", {}),
        kinetics=by_kind.get("KINETIC", {}), initial=singles.get("INITIAL"), breakpoint=breakpoint,
        net_receive=singles.get("NET_RECEIVE"), solves=solves, title=module.title,
        declared_global=frozenset(globals_))
    _check_blocks(model)
    uses = tuple(u for u in ("diam", "area") if _reads(model, u))
    return MechanismModel(**{**model.__dict__, "uses": uses, "fixed": fixed_values})


def _loop_bounds_and_targets(blocks) -> tuple[set[str], set[str]]:
    """The names read by FROM loop bounds, and the names any statement assigns, in all blocks."""
    bounds: set[str] = set()
    targets: set[str] = set()
    for block in blocks:
        for stmt in S.walk(block.body):
            if isinstance(stmt, S.FromLoop):
                for e in (stmt.start, stmt.stop, stmt.step):
                    bounds.update(_names_in(e))
                targets.add(stmt.var)
            elif isinstance(stmt, S.Assign):
                targets.add(stmt.target.name)
    return bounds, targets


def _check_verbatim(stmts, path: str) -> None:
    for stmt in S.walk(stmts):
        if isinstance(stmt, S.Verbatim):
            text = re.sub(r"/\*.*?\*/", "", stmt.text, flags=re.S)
            text = re.sub(r"//[^\n]*", "", text)
            if not _HARMLESS_VERBATIM.match("".join(text.split())):
                first = next((ln.strip() for ln in stmt.text.splitlines() if ln.strip()), "")
                raise NmodlError(f"VERBATIM blocks with C code are not supported (this one starts "
                                 f"{first[:40]!r}); rewrite it in NMODL", path, stmt.line)


def _callables(model: MechanismModel) -> dict[str, S.NamedBlock]:
    return {**model.functions, **model.procedures, **model.function_tables}


def _check_blocks(model: MechanismModel) -> None:
    """Names, calls, SOLVE targets and methods of every block."""
    callables = _callables(model)
    solvable = {**model.derivatives, **model.kinetics, **model.procedures}
    for block in model.module.blocks:
        if block.kind in ("CONSTRUCTOR", "DESTRUCTOR", "FUNCTION_TABLE"):
            continue
        local = {a for a, _ in block.args}
        if block.kind == "FUNCTION":
            local.add(block.name)
        if block.kind == "NET_RECEIVE":
            local.add("flag")
        if block.kind == "KINETIC":
            local.update(("f_flux", "b_flux"))
        _check_stmts(model, block, block.body, local, callables)
    for solve in model.solves:
        target = solvable.get(solve.block)
        if target is None:
            raise model.error(f"SOLVE {solve.block}: no DERIVATIVE, KINETIC or PROCEDURE of that name", solve.line)
        if solve.steadystate:
            raise model.error("SOLVE ... STEADYSTATE belongs in INITIAL, not BREAKPOINT", solve.line)
        if target.kind == "PROCEDURE":
            if solve.method:
                raise model.error(f"SOLVE {solve.block} METHOD {solve.method}: {solve.block} is a PROCEDURE",
                                  solve.line)
            continue
        allowed = METHODS[target.kind]
        if solve.method is None:
            raise model.error(f"SOLVE {solve.block} needs a METHOD ({' or '.join(allowed)})", solve.line)
        if solve.method not in NOCMODL_METHODS:
            raise model.error(f"unknown METHOD {solve.method} (NEURON knows cnexp, derivimplicit, euler, runge, "
                              f"sparse; neurax runs {' and '.join(allowed)} for a {target.kind} block)", solve.line)
        if solve.method not in allowed:
            raise model.error(f"SOLVE {solve.block} METHOD {solve.method} is not supported for a {target.kind} "
                              f"block (use {' or '.join(allowed)})", solve.line)
    if model.initial is not None:
        for stmt in S.walk(model.initial.body):
            if isinstance(stmt, S.Solve):
                target = solvable.get(stmt.block)
                if target is None:
                    raise model.error(f"SOLVE {stmt.block}: no such block", stmt.line)
                if stmt.steadystate is None and target.kind != "PROCEDURE":
                    raise model.error(f"SOLVE {stmt.block} in INITIAL without STEADYSTATE is not supported",
                                      stmt.line)
                if stmt.steadystate and stmt.steadystate != "sparse":
                    raise model.error(f"STEADYSTATE {stmt.steadystate} is not supported (NEURON's derivimplicit "
                                      "steady state does not converge; use a KINETIC block with STEADYSTATE "
                                      "sparse)", stmt.line)
                if stmt.steadystate and target.kind != "KINETIC":
                    raise model.error("STEADYSTATE needs a KINETIC block", stmt.line)


def _check_stmts(model: MechanismModel, block: S.NamedBlock, stmts, local: set, callables: dict) -> None:
    local = set(local)
    for stmt in stmts:
        if isinstance(stmt, S.Local):
            local.update(n for n, _ in stmt.names)
        elif isinstance(stmt, S.Verbatim):
            _check_verbatim((stmt,), model.path)
        elif isinstance(stmt, S.While):
            raise model.error("WHILE loops are not supported (unroll them with FROM ... TO ...)", stmt.line)
        elif isinstance(stmt, S.Assign):
            _check_target(model, block, stmt, local)
            _check_expr(model, block, stmt.value, local, callables)
            if stmt.target.index is not None:
                _check_expr(model, block, stmt.target.index, local, callables)
        elif isinstance(stmt, S.If):
            _check_expr(model, block, stmt.cond, local, callables)
            _check_stmts(model, block, stmt.then, local, callables)
            _check_stmts(model, block, stmt.orelse, local, callables)
        elif isinstance(stmt, S.FromLoop):
            for e in (stmt.start, stmt.stop, stmt.step):
                _check_expr(model, block, e, local, callables)
                free = [n for n in _names_in(e) if n not in model.constants and n not in local]
                if free:
                    raise model.error(f"FROM loop bounds must be constants ({free[0]} is a variable)", stmt.line)
            _check_stmts(model, block, stmt.body, local | {stmt.var}, callables)
        elif isinstance(stmt, S.Block):
            _check_stmts(model, block, stmt.body, local, callables)
        elif isinstance(stmt, S.CallStmt):
            _check_expr(model, block, stmt.call, local, callables)
        elif isinstance(stmt, S.Reaction):
            if block.kind != "KINETIC":
                raise model.error("a reaction (~) outside a KINETIC block", stmt.line)
            for _, sp in stmt.lhs + stmt.rhs:  # species that are not STATEs take part as constants
                _check_expr(model, block, sp, local, callables)
            for rate in stmt.rates:
                if rate is not None:
                    _check_expr(model, block, rate, local, callables)
        elif isinstance(stmt, S.Conserve):
            _check_expr(model, block, stmt.lhs, local, callables)
            _check_expr(model, block, stmt.rhs, local, callables)
        elif isinstance(stmt, S.Compartment):
            _check_expr(model, block, stmt.volume, local | ({stmt.index} if stmt.index else set()), callables)
            for sp in stmt.species:
                if sp not in model.variables:
                    raise model.error(f"COMPARTMENT names {sp}, which is not declared", stmt.line)
        elif isinstance(stmt, S.Table):
            if block.kind not in ("FUNCTION", "PROCEDURE"):
                raise model.error("TABLE belongs in a FUNCTION or PROCEDURE", stmt.line)
            if len(block.args) != 1:
                raise model.error(f"a TABLE'd {block.kind} must have exactly one argument ({block.name} has "
                                  f"{len(block.args)})", stmt.line)
            for n in stmt.names + stmt.depend:
                if n not in model.variables:
                    raise model.error(f"TABLE names {n}, which is not declared", stmt.line)
        elif isinstance(stmt, S.Conductance):
            if stmt.name not in model.variables:
                raise model.error(f"CONDUCTANCE {stmt.name} is not declared", stmt.line)
        elif isinstance(stmt, S.Watch):
            if block.kind != "NET_RECEIVE":
                raise model.error("WATCH belongs in NET_RECEIVE", stmt.line)
        elif isinstance(stmt, S.Equation):
            raise model.error("equations (~ a = b) belong in LINEAR/NONLINEAR blocks, which are not supported",
                              stmt.line)


def _check_target(model: MechanismModel, block: S.NamedBlock, stmt: S.Assign, local: set) -> None:
    name = stmt.target.name
    if name in local:
        return
    var = model.variables.get(name)
    if var is None:
        raise model.error(f"{name} is assigned but never declared (declare it in ASSIGNED or LOCAL)", stmt.line)
    if stmt.prime:
        if block.kind != "DERIVATIVE":
            raise model.error(f"{name}' = ... outside a DERIVATIVE block", stmt.line)
        if var.kind not in ("state", "ion") or (var.kind == "ion" and name not in model.ion_states):
            raise model.error(f"{name}' = ...: {name} is not a STATE", stmt.line)
        return
    if var.kind == "constant":
        raise model.error(f"{name} is a constant and cannot be assigned", stmt.line)
    if var.kind == "special" and name != "v":  # v is the mechanism's own copy (Hay et al.'s v = v + 10)
        raise model.error(f"{name} belongs to the simulator and cannot be assigned", stmt.line)


def _check_expr(model: MechanismModel, block: S.NamedBlock, expr, local: set, callables: dict) -> None:
    if isinstance(expr, S.Var):
        if expr.name not in local and expr.name not in model.variables:
            raise model.error(f"{expr.name} is used but never declared", expr.line)
        if expr.index is not None:
            _check_expr(model, block, expr.index, local, callables)
    elif isinstance(expr, S.Call):
        if expr.name in EVENT_CALLS:
            if block.kind != "NET_RECEIVE" and not (expr.name == "net_send" and block.kind == "INITIAL"):
                raise model.error(f"{expr.name}() is only allowed in NET_RECEIVE", expr.line)
        elif expr.name in BUILTINS:
            arity = BUILTINS[expr.name]
            if arity >= 0 and len(expr.args) != arity:
                raise model.error(f"{expr.name}() takes {arity} argument(s), given {len(expr.args)}", expr.line)
        elif expr.name in callables:
            target = callables[expr.name]
            if len(expr.args) != len(target.args):
                raise model.error(f"{expr.name}() takes {len(target.args)} argument(s), given {len(expr.args)}",
                                  expr.line)
        elif expr.name == "at_time":
            pass
        elif expr.name in RANDOM_CALLS:
            raise model.error(f"{expr.name}() draws random numbers, which neurax mechanisms do not support",
                              expr.line)
        else:
            raise model.error(f"{expr.name}() is neither a FUNCTION or PROCEDURE of this file nor a supported "
                              "builtin", expr.line)
        for a in expr.args:
            if not isinstance(a, S.Str):
                _check_expr(model, block, a, local, callables)
    elif isinstance(expr, S.Unary):
        _check_expr(model, block, expr.operand, local, callables)
    elif isinstance(expr, S.Binary):
        _check_expr(model, block, expr.left, local, callables)
        _check_expr(model, block, expr.right, local, callables)


def _names_in(e) -> list[str]:
    if isinstance(e, S.Var):
        return [e.name] + (_names_in(e.index) if e.index is not None else [])
    if isinstance(e, S.Call):
        return [n for a in e.args for n in _names_in(a)]
    if isinstance(e, S.Unary):
        return _names_in(e.operand)
    if isinstance(e, S.Binary):
        return _names_in(e.left) + _names_in(e.right)
    return []


def _reads(model: MechanismModel, name: str) -> bool:
    """Whether any block reads ``name``."""
    def in_expr(e) -> bool:
        if isinstance(e, S.Var):
            return e.name == name or (e.index is not None and in_expr(e.index))
        if isinstance(e, S.Call):
            return any(in_expr(a) for a in e.args)
        if isinstance(e, S.Unary):
            return in_expr(e.operand)
        if isinstance(e, S.Binary):
            return in_expr(e.left) or in_expr(e.right)
        return False

    for block in model.module.blocks:
        for stmt in S.walk(block.body):
            for value in stmt.__dict__.values():
                if in_expr(value) or (isinstance(value, tuple) and any(in_expr(v) for v in value)):
                    return True
    return False
