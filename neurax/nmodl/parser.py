"""A recursive-descent parser for NMODL, NEURON's model description language.

:func:`parse` turns the text of a ``.mod`` file into a :class:`~neurax.nmodl.syntax.Module`. It accepts the
language nocmodl (NEURON 9) accepts, in the forms real files use: blocks in any order, declarations with
units and limits, old-style ``INDEPENDENT`` and ``DEFINE``, units after numbers, KINETIC reactions with
stoichiometry, ``CONSERVE`` and ``COMPARTMENT``, LINEAR/NONLINEAR equations, NET_RECEIVE with ``WATCH``,
VERBATIM regions (kept as text; whether they are supported is decided later), ``else if`` chains,
``FROM`` and ``WHILE`` loops. Constructs outside that set (DISCRETE, PARTIAL, MATCH, ...) stop the parse with
an :class:`~neurax.nmodl.errors.NmodlError` naming the file, the line and the construct.

Operator precedence, loosest first: ``||``, ``&&``, ``== !=``, ``< > <= >=``, ``+ -``, ``* / %``, unary
``- + !``, ``^`` (right-associative; ``-x^2`` is ``-(x^2)``).
"""

from __future__ import annotations

from neurax.nmodl import syntax as S
from neurax.nmodl.errors import NmodlError
from neurax.nmodl.lexer import Token, tokenize

__all__ = ["parse"]

#: Top-level blocks that nocmodl knows but neurax does not support, with the reason given to the user.
UNSUPPORTED_BLOCKS = {
    "DISCRETE": "DISCRETE blocks (discrete-time difference equations) are not supported",
    "PARTIAL": "PARTIAL blocks (partial differential equations) are not supported",
    "MATCH": "MATCH blocks (boundary-value matching) are not supported",
    "TERMINAL": "TERMINAL blocks are not supported",
    "SENS": "SENS (sensitivity) statements are not supported",
    "PLOT": "PLOT statements are not supported",
    "SWEEP": "SWEEP blocks are not supported",
    "FIRST": "FIRST blocks are not supported",
    "LAST": "LAST blocks are not supported",
    "STEPPED": "STEPPED blocks are not supported",
}
_DECL_BLOCKS = {"PARAMETER": "parameters", "CONSTANT": "constants", "ASSIGNED": "assigned", "STATE": "states"}
_BODY_BLOCKS = ("INITIAL", "BREAKPOINT", "CONSTRUCTOR", "DESTRUCTOR")
_NAMED_BLOCKS = ("DERIVATIVE", "KINETIC", "LINEAR", "NONLINEAR")
_NEURON_LISTS = ("RANGE", "GLOBAL", "POINTER", "BBCOREPOINTER", "EXTERNAL", "NONSPECIFIC_CURRENT",
                 "ELECTRODE_CURRENT", "SECTION", "RANDOM")
_NEURON_NAMES = ("SUFFIX", "POINT_PROCESS", "ARTIFICIAL_CELL")


def parse(text: str, path: str = "<string>") -> S.Module:
    """Parse the text of a ``.mod`` file.

    Args:
        text: the file's text.
        path: the file name used in error messages.

    Raises:
        NmodlError: a syntax error or an unsupported construct, with file and line.
    """
    sources: dict[str, str] = {}
    tokens = tokenize(text, path, sources)
    return _Parser(tokens, path, sources).module()


class _Parser:
    def __init__(self, tokens: list[Token], path: str, sources: dict[str, str]) -> None:
        self.toks = [t for t in tokens if t.kind != "comment"]
        self.pos = 0
        self.path = path
        self.sources = sources
        self.text = sources[path]

    # -- token helpers ----------------------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.toks[self.pos]

    def peek(self, k: int = 1) -> Token:
        return self.toks[min(self.pos + k, len(self.toks) - 1)]

    def advance(self) -> Token:
        tok = self.toks[self.pos]
        if tok.kind != "end":
            self.pos += 1
        return tok

    def error(self, message: str, tok: Token | None = None) -> NmodlError:
        tok = tok or self.tok
        return NmodlError(message, tok.source or self.path, tok.line)

    def at(self, text: str, kind: str | None = None) -> bool:
        tok = self.tok
        return tok.text == text and (kind is None or tok.kind == kind) and tok.kind in ("op", "name")

    def accept(self, text: str) -> Token | None:
        if self.at(text):
            return self.advance()
        return None

    def expect(self, text: str, what: str = "") -> Token:
        if not self.at(text):
            got = self.describe(self.tok)
            raise self.error(f"expected '{text}'{' ' + what if what else ''}, found {got}")
        return self.advance()

    def name(self, what: str = "a name") -> str:
        tok = self.tok
        if tok.kind != "name":
            raise self.error(f"expected {what}, found {self.describe(tok)}")
        self.advance()
        return tok.text

    @staticmethod
    def describe(tok: Token) -> str:
        if tok.kind == "end":
            return "the end of the file"
        if tok.kind == "verbatim":
            return "a VERBATIM block"
        if tok.kind == "title":
            return "TITLE"
        return f"'{tok.text}'"

    def unit(self) -> str | None:
        """An optional ``(unit)``: its raw text without the parentheses."""
        if not self.at("("):
            return None
        open_tok = self.advance()
        depth = 1
        while depth:
            tok = self.advance()
            if tok.kind == "end":
                raise self.error("a unit '(' is never closed", open_tok)
            if tok.text == "(" and tok.kind == "op":
                depth += 1
            elif tok.text == ")" and tok.kind == "op":
                depth -= 1
        close = self.toks[self.pos - 1]
        return self.sources[open_tok.source or self.path][open_tok.end:close.start].strip()

    def number(self, what: str = "a number") -> float:
        """A signed number literal (declarations take numbers, not expressions)."""
        sign = -1.0 if self.accept("-") else 1.0
        if sign > 0:
            self.accept("+")
        tok = self.tok
        if tok.kind == "number":
            self.advance()
            return sign * float(tok.text)
        if tok.kind == "name" and tok.text in self.defines:
            self.advance()
            return sign * self.defines[tok.text]
        raise self.error(f"expected {what}, found {self.describe(tok)}")

    # -- module -----------------------------------------------------------------------------------
    def module(self) -> S.Module:
        parts: dict[str, list] = {k: [] for k in ("neuron", "units", "parameters", "constants", "assigned",
                                                   "states", "locals", "blocks", "verbatim")}
        self.defines: dict[str, float] = {}
        title = None
        while self.tok.kind != "end":
            tok = self.tok
            if tok.kind == "title":
                title = tok.text if title is None else title
                self.advance()
            elif tok.kind == "verbatim":
                parts["verbatim"].append(S.Verbatim(tok.text, tok.line))
                self.advance()
            elif tok.kind == "name":
                self.top_level(tok, parts)
            elif tok.text == ";":
                self.advance()
            else:
                raise self.error(f"expected a block keyword (NEURON, PARAMETER, BREAKPOINT, ...), found "
                                 f"{self.describe(tok)}")
        return S.Module(path=self.path, title=title, defines=dict(self.defines), text=self.text,
                        **{k: tuple(v) for k, v in parts.items()})

    def top_level(self, tok: Token, parts: dict) -> None:
        word = tok.text
        if word == "NEURON":
            self.advance()
            parts["neuron"].extend(self.neuron_block())
        elif word == "UNITS":
            self.advance()
            parts["units"].extend(self.units_block())
        elif word in _DECL_BLOCKS:
            self.advance()
            parts[_DECL_BLOCKS[word]].extend(self.declarations(word))
        elif word == "INDEPENDENT":
            self.advance()
            self.skip_braces()
        elif word in ("UNITSON", "UNITSOFF", "THREADSAFE"):
            self.advance()
        elif word == "LOCAL":
            self.advance()
            parts["locals"].extend((n, size, tok.line) for n, size in self.local_names())
        elif word == "DEFINE":
            self.advance()
            name = self.name("a name after DEFINE")
            self.defines[name] = self.number(f"a number for DEFINE {name}")
        elif word in _BODY_BLOCKS:
            self.advance()
            parts["blocks"].append(S.NamedBlock(word, None, (), None, self.body(), tok.line))
        elif word in _NAMED_BLOCKS:
            self.advance()
            name = self.name(f"the name of the {word} block")
            if self.accept("SOLVEFOR"):
                self.name_list()
            if self.at("STEADYSTATE"):  # old syntax: KINETIC name STEADYSTATE ... (ignored by nocmodl)
                self.advance()
                self.name()
            parts["blocks"].append(S.NamedBlock(word, name, (), None, self.body(), tok.line))
        elif word in ("PROCEDURE", "FUNCTION", "FUNCTION_TABLE"):
            self.advance()
            name = self.name(f"the name of the {word}")
            args = self.arguments() if self.at("(") else ()
            unit = self.unit() if word != "PROCEDURE" else None
            body = () if word == "FUNCTION_TABLE" else self.body()
            parts["blocks"].append(S.NamedBlock(word, name, args, unit, body, tok.line))
        elif word == "NET_RECEIVE":
            self.advance()
            args = self.arguments() if self.at("(") else ()
            parts["blocks"].append(S.NamedBlock(word, None, args, None, self.body(), tok.line))
        elif word in ("BEFORE", "AFTER"):
            self.advance()
            when = self.name(f"BREAKPOINT, SOLVE, INITIAL or STEP after {word}")
            parts["blocks"].append(S.NamedBlock(word, when, (), None, self.body(), tok.line))
        elif word in UNSUPPORTED_BLOCKS:
            raise self.error(UNSUPPORTED_BLOCKS[word])
        else:
            raise self.error(f"'{word}' is not an NMODL block keyword (expected NEURON, UNITS, PARAMETER, "
                             "STATE, ASSIGNED, INITIAL, BREAKPOINT, DERIVATIVE, KINETIC, PROCEDURE, FUNCTION, "
                             "NET_RECEIVE, ...)")

    def skip_braces(self) -> None:
        start = self.expect("{")
        depth = 1
        while depth:
            tok = self.advance()
            if tok.kind == "end":
                raise self.error("a '{' is never closed", start)
            if tok.kind == "op" and tok.text == "{":
                depth += 1
            elif tok.kind == "op" and tok.text == "}":
                depth -= 1

    def arguments(self) -> tuple:
        """``(a (unit), b, ...)`` of a FUNCTION, PROCEDURE or NET_RECEIVE."""
        self.expect("(")
        args = []
        while not self.at(")"):
            name = self.name("an argument name")
            args.append((name, self.unit()))
            if not self.accept(","):
                break
        self.expect(")", "to close the argument list")
        return tuple(args)

    # -- NEURON block ----------------------------------------------------------------------------
    def neuron_block(self) -> list[S.NeuronStmt]:
        self.expect("{", "after NEURON")
        out = []
        while not self.accept("}"):
            tok = self.tok
            if tok.kind == "verbatim":
                raise self.error("VERBATIM inside the NEURON block is not supported")
            if tok.kind != "name":
                raise self.error(f"unexpected {self.describe(tok)} in the NEURON block")
            word = tok.text
            self.advance()
            if word in _NEURON_NAMES:
                out.append(S.NeuronStmt(word, (self.name(f"a name after {word}"),), tok.line))
            elif word in _NEURON_LISTS:
                out.append(S.NeuronStmt(word, self.name_list(), tok.line))
            elif word == "USEION":
                out.append(self.useion(tok))
            elif word == "THREADSAFE":
                out.append(S.NeuronStmt(word, self.name_list() if self.tok.kind == "name"
                                        and self.tok.text not in _ALL_NEURON else (), tok.line))
            elif word == "REPRESENTS":
                self.name("an ontology name after REPRESENTS")
            elif word == "CONDUCTANCE":  # a hint; nocmodl's g is the difference quotient either way
                self.name()
                if self.accept("USEION"):
                    self.name()
            else:
                raise self.error(f"'{word}' is not a NEURON block statement (SUFFIX, POINT_PROCESS, "
                                 "USEION, RANGE, GLOBAL, NONSPECIFIC_CURRENT, ...)")
        return out

    def name_list(self) -> tuple:
        names = [self.name()]
        while self.accept(","):
            names.append(self.name())
        return tuple(names)

    def useion(self, tok: Token) -> S.NeuronStmt:
        ion = self.name("an ion name after USEION")
        read: tuple = ()
        write: tuple = ()
        valence = None
        while True:
            if self.accept("READ"):
                read += self.name_list()
            elif self.accept("WRITE"):
                write += self.name_list()
            elif self.accept("VALENCE"):
                valence = self.number("a valence after VALENCE")
            elif self.accept("REPRESENTS"):
                self.name()
            else:
                break
        return S.NeuronStmt("USEION", (ion,), tok.line, read=read, write=write, valence=valence)

    # -- UNITS and declarations --------------------------------------------------------------------
    def units_block(self) -> list[S.UnitDef]:
        self.expect("{", "after UNITS")
        out = []
        while not self.accept("}"):
            tok = self.tok
            if self.at("("):
                name = self.unit()
                self.expect("=", f"after ({name}) in UNITS")
                out.append(S.UnitDef(name, "alias", tok.line, first=self.unit_required()))
            elif tok.kind == "name":
                name = self.name()
                self.expect("=", f"after {name} in UNITS")
                if self.at("("):
                    first = self.unit()
                    self.accept("->")  # NAME = (mV) -> (volt): the same factor
                    out.append(S.UnitDef(name, "factor", tok.line, first=first, second=self.unit_required()))
                else:
                    value = self.number(f"a value or (unit) for {name}")
                    out.append(S.UnitDef(name, "value", tok.line, value=value, first=self.unit()))
            elif tok.text == ";":
                self.advance()
            else:
                raise self.error(f"unexpected {self.describe(tok)} in the UNITS block")
        return out

    def unit_required(self) -> str:
        unit = self.unit()
        if unit is None:
            raise self.error(f"expected a (unit), found {self.describe(self.tok)}")
        return unit

    def declarations(self, block: str) -> list[S.Decl]:
        self.expect("{", f"after {block}")
        out = []
        while not self.accept("}"):
            tok = self.tok
            if tok.kind == "verbatim" or tok.text == ";":
                self.advance()
                continue
            if tok.kind != "name":
                raise self.error(f"unexpected {self.describe(tok)} in the {block} block")
            name = self.name()
            size = None
            if self.accept("["):
                size = int(self.number(f"the size of {name}[]"))
                self.expect("]")
            value = None
            if self.accept("="):
                value = self.number(f"a value for {name}")
            unit = self.unit()
            if self.accept("FROM"):  # STATE x FROM lo TO hi (a range annotation)
                self.number()
                self.expect("TO")
                self.number()
            if self.accept("START"):  # STATE x START value (unit): its value at finitialize
                value = self.number(f"a START value for {name}")
                unit = self.unit() or unit
            limits = None
            if self.at("<"):
                self.advance()
                lo = self.number(f"a limit of {name}")
                hi = lo
                if self.accept(","):
                    hi = self.number(f"a limit of {name}")
                self.expect(">", f"to close the limits of {name}")
                limits = (lo, hi)
            if self.at("(") and block == "STATE":  # an absolute tolerance annotation
                self.unit()
            out.append(S.Decl(name, tok.line, value=value, unit=unit, size=size, limits=limits))
        return out

    def local_names(self) -> list[tuple[str, int | None]]:
        names = []
        while True:
            name = self.name("a name after LOCAL")
            size = None
            if self.accept("["):
                size = int(self.number(f"the size of {name}[]"))
                self.expect("]")
            names.append((name, size))
            if not self.accept(","):
                return names

    # -- statements -------------------------------------------------------------------------------
    def body(self) -> tuple:
        opening = self.expect("{", "to open the block")
        out = []
        while not self.accept("}"):
            if self.tok.kind == "end":
                raise self.error("this '{' is never closed with '}'", opening)
            stmt = self.statement()
            if stmt is not None:
                out.append(stmt)
        return tuple(out)

    def statement(self):
        tok = self.tok
        if tok.kind == "verbatim":
            self.advance()
            return S.Verbatim(tok.text, tok.line)
        if tok.kind == "op":
            if tok.text == ";":
                self.advance()
                return None
            if tok.text == "{":
                return S.Block(self.body(), tok.line)
            if tok.text == "~":
                self.advance()
                return self.tilde(tok)
            raise self.error(f"unexpected {self.describe(tok)} at the start of a statement")
        if tok.kind != "name":
            raise self.error(f"unexpected {self.describe(tok)} at the start of a statement")
        word = tok.text
        if word == "LOCAL":
            self.advance()
            return S.Local(tuple(self.local_names()), tok.line)
        if word in ("if", "IF"):
            return self.if_statement()
        if word == "FROM":
            self.advance()
            var = self.name("a loop variable after FROM")
            self.expect("=")
            start = self.expression()
            self.expect("TO")
            stop = self.expression()
            step = self.expression() if self.accept("BY") else S.Num(1.0, tok.line)
            return S.FromLoop(var, start, stop, step, self.body(), tok.line)
        if word == "WHILE":
            self.advance()
            self.expect("(")
            cond = self.expression()
            self.expect(")")
            return S.While(cond, self.body(), tok.line)
        if word == "SOLVE":
            self.advance()
            block = self.name("a block name after SOLVE")
            method = steady = None
            while True:
                if self.accept("METHOD"):
                    method = self.name("a method after METHOD")
                elif self.accept("STEADYSTATE"):
                    steady = self.name("a method after STEADYSTATE")
                elif self.accept("IFERROR"):
                    raise self.error("SOLVE ... IFERROR is not supported")
                else:
                    break
            return S.Solve(block, method, steady, tok.line)
        if word == "TABLE":
            return self.table()
        if word == "CONSERVE":
            self.advance()
            lhs = self.expression()
            self.expect("=", "in CONSERVE")
            return S.Conserve(lhs, self.expression(), tok.line)
        if word == "COMPARTMENT":
            return self.compartment()
        if word == "INITIAL":  # the INITIAL block of NET_RECEIVE
            self.advance()
            return S.Block(self.body(), tok.line, kind="INITIAL")
        if word in ("UNITSON", "UNITSOFF", "MUTEXLOCK", "MUTEXUNLOCK"):
            self.advance()
            return None
        if word == "PROTECT":
            self.advance()
            return self.statement()
        if word == "WATCH":
            self.advance()
            watches = []
            while True:
                self.expect("(", "after WATCH")
                cond = self.expression()
                self.expect(")")
                watches.append(S.Watch(cond, self.expression(), tok.line))
                if not self.accept(","):
                    break
            return watches[0] if len(watches) == 1 else S.Block(tuple(watches), tok.line)
        if word == "CONDUCTANCE":
            self.advance()
            name = self.name("a conductance after CONDUCTANCE")
            ion = self.name("an ion after USEION") if self.accept("USEION") else None
            return S.Conductance(name, ion, tok.line)
        if word in ("LONGITUDINAL_DIFFUSION", "FOR_NETCONS", "SENS", "LAG", "RESET", "MATCH", "PLOT"):
            raise self.error(f"{word} is not supported")
        if word in ("else", "ELSE"):
            raise self.error("'else' without a matching 'if'")
        # an assignment, a derivative equation or a call
        self.advance()
        if self.at("("):
            call = S.Call(word, self.call_args(), tok.line)
            if word == "state_discontinuity":  # (x, value): in fixed steps, x = value (nocmodl's own reading)
                if len(call.args) != 2 or not isinstance(call.args[0], S.Var):
                    raise self.error("state_discontinuity takes a variable and a value: state_discontinuity(x, v)")
                return S.Assign(call.args[0], call.args[1], tok.line)
            return S.CallStmt(call, tok.line)
        index = None
        if self.accept("["):
            index = self.expression()
            self.expect("]")
        prime = 0
        while self.accept("'"):
            prime += 1
        if prime > 1:
            raise self.error(f"{word} has a derivative of order {prime}; only first derivatives are supported")
        if not self.at("="):
            raise self.error(f"expected '=' after {word}, found {self.describe(self.tok)} (a statement is an "
                             "assignment, a derivative x' = ..., or a call)")
        self.advance()
        return S.Assign(S.Var(word, tok.line, index), self.expression(), tok.line, prime)

    def if_statement(self) -> S.If:
        tok = self.advance()  # if / IF
        self.expect("(", "after if")
        cond = self.expression()
        self.expect(")", "to close the condition")
        then = self.body()
        orelse: tuple = ()
        if self.accept("else") or self.accept("ELSE"):
            orelse = (self.if_statement(),) if self.at("if") or self.at("IF") else self.body()
        return S.If(cond, then, orelse, tok.line)

    def table(self) -> S.Table:
        tok = self.expect("TABLE")
        names: tuple = ()
        if self.tok.kind == "name" and self.tok.text not in ("DEPEND", "FROM"):
            names = self.name_list()
        depend: tuple = ()
        if self.accept("DEPEND"):
            depend = self.name_list()
        self.expect("FROM", "in TABLE")
        lo = self.expression()
        self.expect("TO", "in TABLE")
        hi = self.expression()
        self.expect("WITH", "in TABLE")
        return S.Table(names, depend, lo, hi, self.expression(), tok.line)

    def compartment(self) -> S.Compartment:
        tok = self.expect("COMPARTMENT")
        first = self.expression()
        index = None
        if self.accept(","):
            if not isinstance(first, S.Var):
                raise self.error("COMPARTMENT index must be a name")
            index, first = first.name, self.expression()
        self.expect("{", "to list the species of COMPARTMENT")
        species = []
        while not self.accept("}"):
            species.append(self.name("a species name"))
            self.accept(",")
        return S.Compartment(index, first, tuple(species), tok.line)

    def tilde(self, tok: Token):
        """After ``~``: a reaction (``<->``, ``->``, ``<<``) or an equation (``=``)."""
        start = self.pos
        try:
            lhs = self.species_list()
        except NmodlError:
            lhs = None
        if lhs is not None and (self.at("<->") or self.at("->")):
            op = self.advance().text
            if op == "->" and not self.at("("):
                raise self.error("'->' takes no species after it (write ~ A -> (k) for a loss, or "
                                 "~ A <-> B (kf, 0))")
            rhs = self.species_list() if op == "<->" else []
            self.expect("(", f"for the rates after {op}")
            kf = self.expression()
            kb = None
            if self.accept(","):
                kb = self.expression()
            self.expect(")")
            if op == "<->" and kb is None:
                raise self.error("a <-> reaction needs two rates (kf, kb)", tok)
            return S.Reaction(tuple(lhs), op, tuple(rhs), (kf, kb), tok.line)
        if lhs is not None and self.at("<<"):
            self.advance()
            self.expect("(", "for the flux after <<")
            flux = self.expression()
            self.expect(")")
            return S.Reaction(tuple(lhs), "<<", (), (flux, None), tok.line)
        self.pos = start
        lhs_e = self.expression()
        self.expect("=", "in the equation after ~")
        return S.Equation(lhs_e, self.expression(), tok.line)

    def species_list(self) -> list:
        out = [self.species()]
        while self.accept("+"):
            out.append(self.species())
        return out

    def species(self) -> tuple[int, S.Var]:
        coef = 1
        if self.tok.kind == "number":
            coef = int(float(self.advance().text))
        tok = self.tok
        name = self.name("a species name")
        index = None
        if self.accept("["):
            index = self.expression()
            self.expect("]")
        return coef, S.Var(name, tok.line, index)

    # -- expressions ------------------------------------------------------------------------------
    def call_args(self) -> tuple:
        self.expect("(")
        args = []
        while not self.at(")"):
            args.append(self.expression())
            if not self.accept(","):
                break
        self.expect(")", "to close the call")
        return tuple(args)

    def expression(self):
        return self.binary(0)

    _LEVELS = (("||",), ("&&",), ("==", "!="), ("<", ">", "<=", ">="), ("+", "-"), ("*", "/", "%"))

    def binary(self, level: int):
        if level == len(self._LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        ops = self._LEVELS[level]
        while self.tok.kind == "op" and self.tok.text in ops:
            tok = self.advance()
            right = self.binary(level + 1)
            left = S.Binary(tok.text, left, right, tok.line)
        return left

    def unary(self):
        tok = self.tok
        if tok.kind == "op" and tok.text in ("-", "+", "!"):
            self.advance()
            return S.Unary(tok.text, self.unary(), tok.line)
        return self.power()

    def power(self):
        base = self.primary()
        if self.tok.kind == "op" and self.tok.text == "^":
            tok = self.advance()
            return S.Binary("^", base, self.unary(), tok.line)  # right-associative
        return base

    def primary(self):
        tok = self.tok
        if tok.kind == "number":
            self.advance()
            return S.Num(float(tok.text), tok.line, self.unit())
        if tok.kind == "name":
            if tok.text in self.defines:
                self.advance()
                return S.Num(self.defines[tok.text], tok.line)
            self.advance()
            if self.at("("):
                return S.Call(tok.text, self.call_args(), tok.line)
            index = None
            if self.accept("["):
                index = self.expression()
                self.expect("]")
            if self.at("'"):
                raise self.error(f"{tok.text}' (a derivative) inside an expression is not supported")
            return S.Var(tok.text, tok.line, index)
        if tok.kind == "string":
            self.advance()
            return S.Str(tok.text, tok.line)
        if tok.kind == "op" and tok.text == "(":
            self.advance()
            inner = self.expression()
            self.expect(")", "to close the parenthesis")
            return inner
        raise self.error(f"expected an expression, found {self.describe(tok)}")


_ALL_NEURON = set(_NEURON_LISTS) | set(_NEURON_NAMES) | {"USEION", "THREADSAFE", "REPRESENTS", "CONDUCTANCE"}
