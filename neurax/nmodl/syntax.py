"""The syntax tree of an NMODL file: frozen dataclasses, each node with its source line.

Expressions: :class:`Num`, :class:`Var` (``x`` or ``x[i]``), :class:`Call`, :class:`Unary`, :class:`Binary`.
Statements: :class:`Assign` (``x = e``, ``x' = e``), :class:`If`, :class:`Local`, :class:`FromLoop`,
:class:`While`, :class:`Solve`, :class:`Table`, :class:`CallStmt`, :class:`Reaction` (``~ A <-> B (kf, kb)``),
:class:`Conserve`, :class:`Compartment`, :class:`Equation` (``~ a = b`` in LINEAR/NONLINEAR),
:class:`Verbatim`, :class:`Watch`, :class:`Block` (a nested ``{ }``).
Declarations (:class:`Decl`, :class:`UnitDef`, :class:`NeuronStmt`) and named blocks (:class:`NamedBlock`)
make up a :class:`Module`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

__all__ = ["Num", "Str", "Var", "Call", "Unary", "Binary", "Assign", "If", "Local", "FromLoop", "While", "Solve",
           "Table", "CallStmt", "Reaction", "Conserve", "Compartment", "Equation", "Verbatim", "Watch", "Conductance",
           "Block", "Decl", "UnitDef", "NeuronStmt", "NamedBlock", "Module", "Expr", "Stmt", "walk"]


# -- expressions ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Num:
    """A number literal (its unit, if written after it, is kept for messages only)."""

    value: float
    line: int
    unit: str | None = None


@dataclass(frozen=True)
class Var:
    """A variable, optionally indexed: ``x`` or ``x[i]``."""

    name: str
    line: int
    index: object = None


@dataclass(frozen=True)
class Call:
    """A call of a FUNCTION, PROCEDURE or builtin: ``name(args)``."""

    name: str
    args: tuple
    line: int


@dataclass(frozen=True)
class Unary:
    """``-x``, ``+x`` or ``!x``."""

    op: str
    operand: object
    line: int


@dataclass(frozen=True)
class Binary:
    """``left op right`` for ``+ - * / % ^ < > <= >= == != && ||``."""

    op: str
    left: object
    right: object
    line: int


@dataclass(frozen=True)
class Str:
    """A string literal (only ``printf`` takes one)."""

    text: str
    line: int


Expr = Num | Var | Call | Unary | Binary | Str


# -- statements -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Assign:
    """``target = value``; ``prime`` is 1 for a derivative equation ``x' = value``."""

    target: Var
    value: object
    line: int
    prime: int = 0


@dataclass(frozen=True)
class If:
    """``if (cond) { then } else { orelse }`` (``else if`` nests an If in ``orelse``)."""

    cond: object
    then: tuple
    orelse: tuple
    line: int


@dataclass(frozen=True)
class Local:
    """``LOCAL a, b[3]``: names with their array sizes (None for scalars)."""

    names: tuple
    line: int


@dataclass(frozen=True)
class FromLoop:
    """``FROM i = start TO stop [BY step] { body }``."""

    var: str
    start: object
    stop: object
    step: object
    body: tuple
    line: int


@dataclass(frozen=True)
class While:
    """``WHILE (cond) { body }``."""

    cond: object
    body: tuple
    line: int


@dataclass(frozen=True)
class Solve:
    """``SOLVE block [METHOD method] [STEADYSTATE method]``."""

    block: str
    method: str | None
    steadystate: str | None
    line: int


@dataclass(frozen=True)
class Table:
    """``TABLE [names] [DEPEND deps] FROM lo TO hi WITH n``."""

    names: tuple
    depend: tuple
    lo: object
    hi: object
    n: object
    line: int


@dataclass(frozen=True)
class CallStmt:
    """A call used as a statement (a PROCEDURE, ``net_send(...)``, ...)."""

    call: Call
    line: int


@dataclass(frozen=True)
class Reaction:
    """A KINETIC reaction: ``~ lhs <-> rhs (kf, kb)``, ``~ lhs -> rhs (kf)`` or ``~ lhs << (flux)``.

    ``lhs`` and ``rhs`` are tuples of ``(stoichiometry, Var)``; for ``<<``, ``rhs`` is empty and
    ``rates`` holds the flux.
    """

    lhs: tuple
    op: str
    rhs: tuple
    rates: tuple
    line: int


@dataclass(frozen=True)
class Conserve:
    """``CONSERVE lhs = rhs`` (a sum of states equal to a constant)."""

    lhs: object
    rhs: object
    line: int


@dataclass(frozen=True)
class Compartment:
    """``COMPARTMENT [index,] volume { species }``."""

    index: str | None
    volume: object
    species: tuple
    line: int


@dataclass(frozen=True)
class Equation:
    """``~ lhs = rhs`` in a LINEAR or NONLINEAR block."""

    lhs: object
    rhs: object
    line: int


@dataclass(frozen=True)
class Verbatim:
    """A ``VERBATIM ... ENDVERBATIM`` region: raw C."""

    text: str
    line: int


@dataclass(frozen=True)
class Watch:
    """``WATCH (cond) flag`` in a NET_RECEIVE block."""

    cond: object
    flag: object
    line: int


@dataclass(frozen=True)
class Conductance:
    """``CONDUCTANCE g [USEION ion]`` in BREAKPOINT: NEURON then takes ``g`` as the slope (one evaluation)."""

    name: str
    ion: str | None
    line: int


@dataclass(frozen=True)
class Block:
    """A nested ``{ ... }``; ``kind`` is ``"INITIAL"`` for the INITIAL block inside NET_RECEIVE."""

    body: tuple
    line: int
    kind: str | None = None


Stmt = (Assign | If | Local | FromLoop | While | Solve | Table | CallStmt | Reaction | Conserve | Compartment
        | Equation | Verbatim | Watch | Conductance | Block)


# -- declarations and blocks ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Decl:
    """One name declared in PARAMETER, ASSIGNED, STATE or CONSTANT.

    Attributes:
        name: the name.
        line: its line.
        value: the default (PARAMETER, CONSTANT) or the START value (STATE), if given.
        unit: the unit text, if given (``"mA/cm2"``).
        size: the array size for ``name[size]``, else None.
        limits: ``(lo, hi)`` from ``<lo, hi>``, if given.
    """

    name: str
    line: int
    value: float | None = None
    unit: str | None = None
    size: int | None = None
    limits: tuple | None = None


@dataclass(frozen=True)
class UnitDef:
    """One UNITS entry: ``(name) = (unit)`` (alias), ``NAME = (unit) (unit)`` (a factor) or
    ``NAME = number (unit)`` (a value).
    """

    name: str
    kind: str
    line: int
    first: str | None = None
    second: str | None = None
    value: float | None = None


@dataclass(frozen=True)
class NeuronStmt:
    """One statement of the NEURON block (``SUFFIX``, ``USEION``, ``RANGE``, ...).

    For USEION: ``names`` is ``(ion,)``; ``read``, ``write`` the variables, ``valence`` if given.
    """

    keyword: str
    names: tuple
    line: int
    read: tuple = ()
    write: tuple = ()
    valence: float | None = None


@dataclass(frozen=True)
class NamedBlock:
    """A top-level block with a body.

    Attributes:
        kind: ``INITIAL``, ``BREAKPOINT``, ``DERIVATIVE``, ``KINETIC``, ``LINEAR``, ``NONLINEAR``,
            ``PROCEDURE``, ``FUNCTION``, ``FUNCTION_TABLE``, ``NET_RECEIVE``, ``BEFORE``, ``AFTER``,
            ``CONSTRUCTOR`` or ``DESTRUCTOR``.
        name: the block's name (FUNCTION/PROCEDURE/DERIVATIVE/...), or for BEFORE/AFTER what it attaches to.
        args: ``((name, unit), ...)`` for FUNCTION, PROCEDURE, FUNCTION_TABLE and NET_RECEIVE.
        unit: a FUNCTION's return unit.
        body: the statements.
        line: the line of the block's keyword.
    """

    kind: str
    name: str | None
    args: tuple
    unit: str | None
    body: tuple
    line: int


@dataclass(frozen=True)
class Module:
    """A parsed ``.mod`` file."""

    path: str
    title: str | None = None
    neuron: tuple = ()
    units: tuple = ()
    parameters: tuple = ()
    constants: tuple = ()
    assigned: tuple = ()
    states: tuple = ()
    locals: tuple = ()
    defines: dict = field(default_factory=dict)
    blocks: tuple = ()
    verbatim: tuple = ()
    text: str = ""

    def block(self, kind: str, name: str | None = None) -> NamedBlock | None:
        """The first block of a kind (and name), or None."""
        return next((b for b in self.blocks if b.kind == kind and (name is None or b.name == name)), None)


def walk(stmts):
    """Every statement in ``stmts``, nested ones (if, loops, blocks) included, depth first."""
    for s in stmts:
        yield s
        if isinstance(s, If):
            yield from walk(s.then)
            yield from walk(s.orelse)
        elif isinstance(s, (FromLoop, While, Block)):
            yield from walk(s.body)


_EXPRESSIONS = (Num, Var, Call, Unary, Binary)


def expressions(stmt):
    """The expressions a statement holds directly (not those of nested statements)."""
    for f in fields(stmt):
        value = getattr(stmt, f.name)
        if isinstance(value, _EXPRESSIONS):
            yield value


def subexpressions(expr):
    """``expr`` and every expression inside it, depth first."""
    yield expr
    if isinstance(expr, Var) and expr.index is not None:
        yield from subexpressions(expr.index)
    elif isinstance(expr, Call):
        for a in expr.args:
            yield from subexpressions(a)
    elif isinstance(expr, Unary):
        yield from subexpressions(expr.operand)
    elif isinstance(expr, Binary):
        yield from subexpressions(expr.left)
        yield from subexpressions(expr.right)


def calls(expr):
    """Every call inside an expression."""
    return (e for e in subexpressions(expr) if isinstance(e, Call))
