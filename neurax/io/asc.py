"""Neurolucida ASC reader that reproduces NEURON's ``Import3d_Neurolucida3`` (``read_nlcda3.hoc``).

Reading happens in three stages:

1. **Lexer** (:func:`tokenize`). NEURON's lexer works one line at a time with a cascade of C ``sscanf``
   patterns; :func:`_lex_line` emulates that cascade exactly (glibc ``%lf``, the ``%[^@]`` captures that make
   an ``@`` end the line, ``;`` comments, ``set``/``Set``/``SET``/``RGB``, quoted strings, labels). Because
   nearly every line of a real file is a plain point ``( x y z d )  ; comment``, such lines are found with a
   single regular expression over the whole text, converted with numpy, and handed to the parser as *runs*
   of points; every other line goes through the exact line lexer.
2. **Parser** (:class:`_Parser`): a recursive-descent parser with the productions of ``read_nlcda3.hoc``
   (objects, contour, marker or property, tree-or-text with its rollback, properties, Set, tree, branch,
   tree points, spines, branch end, marker list, node, split, point with its optional z, diameter, label and
   bezier) and NEURON's two-token look-ahead. It builds a :class:`NeurolucidaData`. Anything NEURON's parser
   rejects raises :class:`~neurax.errors.MorphologySyntaxError` with the line and the token found.
3. **Semantics** (:func:`neurolucida_to_raw_sections`): what NEURON does with the parsed objects: soma
   contours, the order of NEURON's ``sections`` list, the parent point a child section copies, contour
   stacks, and the wiring of trees to the soma.

Coordinates and diameters are in um, exactly as written in the file (float64).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from neurax.errors import MorphologyFileError, MorphologyStructureError, MorphologySyntaxError
from neurax.io.contour import HOC_EPSILON, contourcenter, stk_center
from neurax.io.import3d import ImportLog, RawSection

__all__ = [
    "Contour",
    "Branch",
    "Tree",
    "NeurolucidaData",
    "tokenize",
    "parse_asc",
    "read_asc",
    "parse_neurolucida",
    "neurolucida_to_raw_sections",
    "SOMA_CONTOUR_NAMES",
    "TREE_TYPES",
]

#: Contour names NEURON turns into a soma (when the contour has at least 3 points).
SOMA_CONTOUR_NAMES = ("CellBody", "Cell Body", "Soma")
#: Tree type from the label of the tree's *last* property; any other label gives type 0.
TREE_TYPES = {"Axon": 2, "Dendrite": 3, "Apical": 4}
#: Labels that end a branch in a Neurolucida file (used only to word error hints).
_BRANCH_END_LABELS = {"Normal", "Incomplete", "High", "Low", "Generated", "Midpoint", "Origin"}

# ---------------------------------------------------------------------------------------------------------
# Tokens
# ---------------------------------------------------------------------------------------------------------

EOF, NUM, LP, RP, COMMA, BAR, SET, RGB, STR, LABEL, ERR, LSP, RSP = range(13)
#: A run of plain point lines (internal token; expands to ``( x y z d )`` per point).
RUN = 20
_KIND_NAMES = {
    EOF: "end of file", NUM: "number", LP: "'('", RP: "')'", COMMA: "','", BAR: "'|'", SET: "'Set'",
    RGB: "'RGB'", STR: "string", LABEL: "label", ERR: "unreadable text", LSP: "'<'", RSP: "'>'",
}
_POINT_KINDS = (LP, NUM, NUM, NUM, NUM, RP)
_PUNCT = {"(": LP, ")": RP, ",": COMMA, "|": BAR, "<": LSP, ">": RSP}
_WS = " \t\n\v\f\r"

_W = r"[ \t\r\f\v]"
_N = r"([-+]?+(?:[0-9]++(?:\.[0-9]*+)?+|\.[0-9]++)(?:[eE][-+]?+[0-9]++)?+)"
#: A line holding nothing but a plain point: four decimal numbers separated by blanks, then an optional
#: comment. Its tokens are ``( x y z d )`` whatever surrounds it (NEURON lexes line by line), so it can be
#: read without the line lexer. The match starts at the newline before the line.
_PLAIN_POINT_LINE = re.compile(
    rf"\n{_W}*+\({_W}*+{_N}{_W}++{_N}{_W}++{_N}{_W}++{_N}{_W}*+\){_W}*+(?:;(?!@)[^\n]*+)?+(?=\n|\Z)", re.ASCII)
_LABEL_CHARS = re.compile(r"[A-Za-z0-9_]+", re.ASCII)
_DEC_PREFIX = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
_HEX_PREFIX = re.compile(r"[+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?", re.ASCII)
_DIGITS = frozenset("0123456789")
_HEXDIGITS = frozenset("0123456789abcdefABCDEF")


def _scan_double(s: str, p: int, end: int) -> tuple[float, int] | None:
    """Emulate glibc ``sscanf("%lf")`` on ``s[p:end]`` (no leading blanks): ``(value, end of consumed text)`` or None.

    glibc first collects the longest run of characters that could continue a number (so ``1e)`` consumes
    ``1e``), then converts that text with ``strtod`` and fails only if ``strtod`` reads nothing. It also
    accepts ``inf``/``infinity``/``nan`` (any case) and hexadecimal floats.
    """
    i = p
    if i < end and s[i] in "+-":
        i += 1
    if i >= end:
        return None
    c = s[i]
    negative = s[p] == "-"
    if c in "nN":
        if end - i >= 3 and s[i + 1] in "aA" and s[i + 2] in "nN":
            return math.nan, i + 3
        return None
    if c in "iI":
        if not (end - i >= 3 and s[i + 1] in "nN" and s[i + 2] in "fF"):
            return None
        i += 3
        if i < end and s[i] in "iI":
            if end - i >= 5 and s[i + 1:i + 5].lower() == "nity" and s[i + 1:i + 5].isascii():
                i += 5
            else:
                return None
        return (-math.inf if negative else math.inf), i
    hexa = got_digit = got_dot = got_e = False
    exp_char = "e"
    if c == "0":
        i += 1
        if i < end and s[i] in "xX":
            hexa, exp_char = True, "p"
            i += 1
            hex_start = i
        else:
            got_digit = True
    while i < end:
        c = s[i]
        if c in _DIGITS:
            got_digit = True
        elif not got_e and hexa and c in _HEXDIGITS:
            got_digit = True
        elif got_e and s[i - 1] in (exp_char, exp_char.upper()) and c in "+-":
            pass
        elif got_digit and not got_e and c in (exp_char, exp_char.upper()):
            got_e = got_dot = True
        elif not got_dot and c == ".":
            got_dot = True
        else:
            break
        i += 1
    if i == p or (hexa and i == hex_start):
        return None
    text = s[p:i]
    if hexa:
        m = _HEX_PREFIX.match(text)
        if m is None:
            return (-0.0 if negative else 0.0), i  # strtod reads just the "0" of "0x"
        try:
            return float.fromhex(m.group()), i
        except OverflowError:
            return (-math.inf if negative else math.inf), i
    m = _DEC_PREFIX.match(text)
    if m is None:
        return None
    return float(m.group()), i


@dataclass
class _Tokens:
    """The token stream: parallel lists plus the points of the plain point lines.

    ``kinds[i]`` is a token kind; ``values[i]`` a float (NUM), a str (STR, LABEL) or ``(start, count)`` into
    ``points`` (RUN); ``lines[i]`` the 1-based line; ``texts[i]`` the source text (for messages). The last
    token is EOF, or an ERR that NEURON's lexer can never get past (it would return it forever).
    """

    kinds: list[int]
    values: list
    lines: list[int]
    texts: list[str]
    points: np.ndarray  # (n, 4) points of the plain point lines
    point_lines: np.ndarray  # (n,) their lines
    nlines: int


def _lex_line(raw: str, lineno: int, toks: _Tokens) -> bool:
    """Append the tokens NEURON's ``lex()`` finds in one line; True if the lexer gets stuck on it.

    NEURON trims trailing blanks and appends a newline; ``rest`` (``line[pos:end]``) is the text not yet
    consumed. Every successful pattern ends with ``%[^@]``: at least one character that is not ``@`` must
    follow the token, and the new rest stops before the first ``@``. A rest of one character or less, or a
    rest starting with ``;`` (a comment), sends the lexer to the next line.
    """
    line = raw.rstrip(_WS) + "\n"
    pos, end = 0, len(line)
    kinds, values, lines, texts = toks.kinds, toks.values, toks.lines, toks.texts

    def emit(kind: int, value, text: str) -> None:
        kinds.append(kind)
        values.append(value)
        lines.append(lineno)
        texts.append(text)

    def cut(q: int) -> int:
        at = line.find("@", q, end)
        return end if at < 0 else at

    while True:
        if end - pos <= 1:
            return False
        p = pos
        while p < end and line[p] in _WS:
            p += 1
        if p < end and line[p] == ";" and p + 1 < end and line[p + 1] != "@":
            return False  # comment: the rest of the line is skipped
        if p >= end:
            emit(ERR, None, line[pos:end])
            return True
        c = line[p]
        scanned = _scan_double(line, p, end)
        if scanned is not None and scanned[1] < end and line[scanned[1]] != "@":
            q = scanned[1]
            emit(NUM, scanned[0], line[p:q])
            pos, end = q, cut(q)
            continue
        if c in _PUNCT and p + 1 < end and line[p + 1] != "@":
            emit(_PUNCT[c], None, c)
            pos, end = p + 1, cut(p + 1)
            continue
        matched = False
        for word, kind in (("set", SET), ("Set", SET), ("SET", SET), ("RGB", RGB)):
            if line.startswith(word, p, end):
                q = p + 3
                while q < end and line[q] in _WS:
                    q += 1
                if q < end and line[q] != "@":
                    emit(kind, None, word)
                    pos, end = q, cut(q)
                    matched = True
                break
        if matched:
            continue
        if c == '"':
            j = line.find('"', p + 1, end)
            if j == p + 1:  # "" : only the empty-string pattern can match
                if p + 2 < end and line[p + 2] != "@":
                    emit(STR, "", '""')
                    pos, end = p + 2, cut(p + 2)
                    continue
            elif j < 0:
                if p + 1 < end:  # no closing quote: NEURON reports it and drops the rest of the line
                    emit(ERR, "unclosed", line[p:end].rstrip("\n"))
                    return False
            elif j + 1 < end and line[j + 1] != "@":
                emit(STR, line[p + 1:j], line[p:j + 1])
                pos, end = j + 1, cut(j + 1)
                continue
            else:
                emit(ERR, "unclosed", line[p:end].rstrip("\n"))
                return False
        m = _LABEL_CHARS.match(line, p, end)
        if m is not None and m.end() < end and line[m.end()] != "@":
            emit(LABEL, m.group(), m.group())
            pos, end = m.end(), cut(m.end())
            continue
        emit(ERR, None, line[p:end].rstrip("\n"))
        return True


def tokenize(text: str) -> _Tokens:
    """Split ASC text into NEURON's tokens (plain point lines become RUN tokens).

    Args:
        text: the file contents (decoded byte for byte, e.g. latin-1).
    """
    # NEURON's File.gets ends a line at "\n", "\r\n" and a lone "\r" (fgets_unlimited)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    pieces = _PLAIN_POINT_LINE.split("\n" + text)
    gaps = pieces[0::5]
    del pieces[0::5]
    npts = len(gaps) - 1
    points = np.array(pieces, dtype=np.float64).reshape(npts, 4) if npts else np.zeros((0, 4))
    busy = [k for k, g in enumerate(gaps) if g]
    newlines = np.zeros(len(gaps), dtype=np.int64)
    for k in busy:
        newlines[k] = gaps[k].count("\n")
    # every match starts at the newline before its line, and gaps hold the newlines of the other lines
    point_lines = np.cumsum(newlines[:-1]) + np.arange(1, npts + 1)
    toks = _Tokens([], [], [], [], points, point_lines, 0)
    run_start = 0
    stuck = False
    for k in busy:
        if k > run_start:
            toks.kinds.append(RUN)
            toks.values.append((run_start, k - run_start))
            toks.lines.append(int(point_lines[run_start]))
            toks.texts.append("(")
        first = int(point_lines[k - 1]) + 1 if k else 1
        for n, raw in enumerate(gaps[k].split("\n")[1:]):
            if raw and _lex_line(raw, first + n, toks):
                stuck = True
                break
        if stuck:
            break
        run_start = k
    if not stuck and npts > run_start:
        toks.kinds.append(RUN)
        toks.values.append((run_start, npts - run_start))
        toks.lines.append(int(point_lines[run_start]))
        toks.texts.append("(")
    toks.nlines = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
    if not stuck:
        toks.kinds.append(EOF)
        toks.values.append(None)
        toks.lines.append(max(toks.nlines, 1))
        toks.texts.append("")
    return toks


# ---------------------------------------------------------------------------------------------------------
# Parsed file
# ---------------------------------------------------------------------------------------------------------


@dataclass
class Contour:
    """A closed outline: ``("name" (properties) (x y z d) ...)``.

    Attributes:
        name: the quoted name (``"CellBody"`` makes a soma).
        points: ``(n, 4)`` x, y, z, d in um.
        lines: ``(n,)`` file line of every point (None when not read from text).
        line: line of the name.
    """

    name: str
    points: np.ndarray
    lines: np.ndarray | None = None
    line: int | None = None


@dataclass
class Branch:
    """One unbranched piece of a tree: its own points and its child branches in file order."""

    points: np.ndarray
    lines: np.ndarray | None = None
    children: list[Branch] = field(default_factory=list)


@dataclass
class Tree:
    """A neurite tree: the type NEURON gives it and its root branch.

    Attributes:
        type: 2 axon, 3 dendrite, 4 apical, 0 other (ASC); H5 files keep any type code.
        root: the first branch.
        line: line of the tree's first point.
        notes: ``(message, line)`` NEURON quirks met while reading the tree (reported as repairs).
    """

    type: int
    root: Branch
    line: int | None = None
    notes: list[tuple[str, int | None]] = field(default_factory=list)


@dataclass
class NeurolucidaData:
    """Everything of a Neurolucida file that NEURON uses: contours and trees, each in file order.

    Contours are listed in the order NEURON reads them (a contour inside a ``(Set ...)`` of a tree's
    properties is read twice by NEURON's tree-or-text look-ahead, and appears twice here too).
    """

    path: str
    contours: list[Contour] = field(default_factory=list)
    trees: list[Tree] = field(default_factory=list)
    spines: int = 0


# ---------------------------------------------------------------------------------------------------------
# Parser
# ---------------------------------------------------------------------------------------------------------


class _BranchRec:
    """A branch while parsing: its range in the point journal and its children."""

    __slots__ = ("begin", "end", "children", "tree")

    def __init__(self, begin: int, end: int, tree: Tree | None) -> None:
        self.begin, self.end, self.children, self.tree = begin, end, [], tree


class _Parser:
    """Recursive descent over NEURON's grammar; one method per production of ``read_nlcda3.hoc``.

    The cursor mirrors NEURON's ``current``/``look_ahead``/``look_ahead2``: ``_kind(n)`` is the kind of the
    n-th token ahead, where a RUN token counts as its expanded ``( x y z d )`` tokens. A point of a run that
    is entered token by token is expanded into ``pending``.
    """

    def __init__(self, toks: _Tokens, path: str, log: ImportLog | None) -> None:
        self.t = toks
        self.kinds = toks.kinds
        self.last = len(toks.kinds) - 1
        self.path = path
        self.log = log
        self.i = 0
        self.off = 0
        self.pending: list[tuple[int, object, int, str]] = []
        self.prev: tuple[int, object, int, str] | None = None
        # journal of every point NEURON's point() appends to its x/y/z/d vectors: ("run", a, b) or ("pt", ...)
        self.journal: list[tuple] = []
        self.npts = 0
        self.plist: list[list[tuple[int, object, int, str]]] = []
        self.parentsec: _BranchRec | None = None
        self.sectype = 0
        self.in_text = False
        self.depth = 0  # number of open branches
        self.cur_tree: Tree | None = None  # the tree being read
        self.type_labels: list[str] = []
        self.contours: list[tuple[str, int, int, int]] = []
        self.trees: list[tuple[Tree, _BranchRec]] = []
        self.spines = 0

    # ----- cursor -------------------------------------------------------------------------------------

    def _kind(self, n: int = 0) -> int:
        pending = self.pending
        if n < len(pending):
            return pending[n][0]
        n -= len(pending)
        i, off = self.i, self.off
        kinds = self.kinds
        while True:
            kind = kinds[i]
            if kind == RUN:
                left = 6 * (self.t.values[i][1] - off)
                if n < left:
                    return _POINT_KINDS[n % 6]
                n -= left
                i, off = i + 1, 0
            else:
                if n == 0 or i == self.last:
                    return kind
                n -= 1
                i += 1

    def _token(self, n: int = 0) -> tuple[int, object, int, str]:
        """The n-th token ahead (0: the current one) as ``(kind, value, line, text)``."""
        if n < len(self.pending):
            return self.pending[n]
        n -= len(self.pending)
        i, off = self.i, self.off
        while True:
            if self.kinds[i] == RUN:
                start, count = self.t.values[i]
                left = 6 * (count - off)
                if n < left:
                    k = start + off + n // 6
                    line = int(self.t.point_lines[k])
                    j = n % 6
                    if j == 0:
                        return LP, None, line, "("
                    if j == 5:
                        return RP, None, line, ")"
                    v = float(self.t.points[k][j - 1])
                    return NUM, v, line, repr(v)
                n -= left
                i, off = i + 1, 0
            elif n == 0 or i == self.last:
                return self.kinds[i], self.t.values[i], self.t.lines[i], self.t.texts[i]
            else:
                n -= 1
                i += 1

    def _advance(self) -> None:
        """NEURON's ``read_next_token``."""
        self.prev = self._token()
        if self.pending:
            del self.pending[0]
            return
        i = self.i
        if self.kinds[i] == RUN:
            start, count = self.t.values[i]
            k = start + self.off
            line = int(self.t.point_lines[k])
            self.pending = [(NUM, float(v), line, repr(float(v))) for v in self.t.points[k]]
            self.pending.append((RP, None, line, ")"))
            self._skip_points(1)
        elif i < self.last:
            self.i = i + 1

    def _at_run(self) -> bool:
        return not self.pending and self.kinds[self.i] == RUN

    def _skip_points(self, n: int | None) -> tuple[int, int]:
        """Move past ``n`` points of the current run (all of them if None); return their index range."""
        start, count = self.t.values[self.i]
        a = start + self.off
        take = count - self.off if n is None else n
        self.off += take
        if self.off == count:
            self.i, self.off = self.i + 1, 0
        return a, a + take

    # ----- errors --------------------------------------------------------------------------------------

    def _describe(self, tok: tuple[int, object, int, str]) -> str:
        kind, value, _, text = tok
        if kind == NUM:
            return f"number {text}"
        if kind == LABEL:
            return f"label '{value}'"
        if kind == STR:
            return f'string "{value}"'
        if kind == ERR:
            if value == "unclosed":
                return f"a string with no closing quote ({text})"
            return f"text NEURON cannot read ({text!r})" if text else "nothing NEURON can read (an '@'?)"
        return _KIND_NAMES[kind]

    def _fail(self, expected: str, hint: str | None = None, ahead: int = 0) -> None:
        """Raise the syntax error NEURON's ``p_err`` reports at the current token (describing a later one)."""
        line = self._token()[2]
        tok = self._token(ahead)
        found = self._describe(tok)
        if hint is None:
            prev = self.prev
            if prev is not None and prev[0] == LABEL and prev[1] in _BRANCH_END_LABELS:
                hint = f"'{prev[1]}' ends a branch: nothing but '|' or ')' may follow it (line {prev[2]})"
            elif tok[0] == NUM and tok[3][:1].lower() in ("i", "n"):
                hint = f"NEURON reads '{tok[3]}' as a number (inf/nan)"
            elif tok[0] == ERR and ("@" in tok[3] or not tok[3]):
                hint = "NEURON's reader stops a line at '@'"
        raise MorphologySyntaxError(f"expected {expected} but found {found}", self.path, line, hint)

    def _chk(self, kind: int, expected: str | None = None) -> None:
        if self._kind() != kind:
            self._fail(expected or _KIND_NAMES[kind])

    def _demand(self, kind: int, expected: str | None = None) -> None:
        self._advance()
        self._chk(kind, expected)

    def _optionalcomma(self) -> None:
        if self._kind() == COMMA:
            self._advance()

    # ----- points ---------------------------------------------------------------------------------------

    def _journal_point(self, x: float, y: float, z: float, d: float, line: int) -> None:
        j = self.journal
        if j and j[-1][0] == "pt":
            j[-1][1].append((x, y, z, d))
            j[-1][2].append(line)
        else:
            j.append(("pt", [(x, y, z, d)], [line]))
        self.npts += 1

    def _journal_run(self, a: int, b: int) -> None:
        self.journal.append(("run", a, b))
        self.npts += b - a

    def point(self, record: bool = True, bulk: bool = False) -> None:
        """``point()`` (or ``spine_point()`` when not recorded): ``( x [,] y [z [d [label] [bezier]]] )``."""
        if self._at_run():
            a, b = self._skip_points(None if bulk else 1)
            if record:
                self._journal_run(a, b)
            self.prev = (RP, None, int(self.t.point_lines[b - 1]), ")")
            return
        line = self._token()[2]
        self._chk(LP, "'(' starting a point")
        self._demand(NUM, "the x coordinate of a point")
        x = self._token()[1]
        self._advance()
        self._optionalcomma()
        self._chk(NUM, "the y coordinate of a point")
        y = self._token()[1]
        z = d = 0.0
        self._advance()
        self._optionalcomma()  # optz
        if self._kind() == NUM:
            z = self._token()[1]
            self._advance()
            self._optionalcomma()  # optmodifier
            if self._kind() == NUM:
                d = self._token()[1]
                self._advance()
                self._optionalcomma()
                if self._kind() == LABEL:
                    self._advance()
                self._optionalcomma()  # optbezier
                if self._kind() == LP:
                    self._demand(NUM, "a number of a bezier control point")
                    for _ in range(3):
                        self._advance()
                        self._optionalcomma()
                        self._chk(NUM, "a number of a bezier control point")
                    self._demand(RP, "')' closing a bezier control point")
                    self._advance()
        if record:
            self._journal_point(x, y, z, d, line)
        self._chk(RP, "')' closing the point")
        self._advance()

    def points(self) -> None:
        """``points()``: one or more points (contours and markers)."""
        self.point(bulk=True)
        while True:
            self._optionalcomma()
            if self._kind() != LP:
                break
            self.point(bulk=True)

    # ----- objects --------------------------------------------------------------------------------------

    def objects(self) -> None:
        self.object()
        while True:
            self._optionalcomma()
            if self._kind() != LP:
                break
            self.object()

    def object(self) -> None:
        if self._kind() != LP:
            self._fail("'(' starting a contour, tree, marker or property")
        la = self._kind(1)
        if la == STR:
            self.contour()
        elif la == LABEL:
            self.marker_or_property()
        elif la == LP:
            self.tree_or_text()
        elif la == SET:
            self.p_set()
        else:
            self._fail("a contour name, a label, '(' or Set after '('", ahead=1)

    def marker_or_property(self) -> None:
        if self._kind(2) == LP:
            self.marker()
        else:
            self.property()

    def tree_or_text(self) -> None:
        """A text ``( (properties) (point) "string" )`` or else a tree: NEURON tries text first, then rolls back."""
        if self.in_text:
            self._fail("no nested object inside the properties of a tree",
                       hint="NEURON's reader fails here ('rollback in use')")
        saved = (self.i, self.off, list(self.pending), self.prev)
        self.in_text = True
        try:
            is_text = self.text()
        finally:
            self.in_text = False
        if not is_text:
            self.i, self.off, self.pending, self.prev = saved
            self.tree()

    def text(self) -> bool:
        self._chk(LP)
        self._advance()
        self.properties()
        self.point()
        if self._kind() != STR:
            return False
        self._advance()
        if self._kind() != RP:
            return False
        self._advance()
        return True

    def properties(self) -> None:
        self.plist = []
        if self._kind() == LP and self._kind(1) in (LABEL, SET):
            self.property_or_set()
            while True:
                self._optionalcomma()
                if self._kind() != LP or self._kind(1) not in (LABEL, SET):
                    break
                self.property_or_set()

    def property_or_set(self) -> None:
        if self._kind(1) == LABEL:
            self.property()
        else:
            self.p_set()

    def property(self) -> None:
        self._chk(LP)
        self._demand(LABEL)
        prop = [self._token()]
        self.plist.append(prop)
        self._advance()
        if self._kind() in (NUM, STR, LABEL, RGB):  # optionalvalues / values
            while self._kind() in (NUM, STR, LABEL, RGB):
                self.value(prop)
        self._chk(RP, "')' closing the property")
        self._advance()

    def value(self, prop: list) -> None:
        kind = self._kind()
        if kind in (NUM, STR, LABEL):
            prop.append(self._token())
        elif kind == RGB:
            self._demand(LP, "'(' after RGB")
            self._demand(NUM, "a number in RGB (r, g, b)")
            self._advance()
            self._optionalcomma()
            self._chk(NUM, "a number in RGB (r, g, b)")
            self._advance()
            self._optionalcomma()
            self._chk(NUM, "a number in RGB (r, g, b)")
            self._demand(RP, "')' closing RGB (r, g, b)")
        self._advance()

    def p_set(self) -> None:
        self._chk(LP)
        self._demand(SET)
        self._demand(STR, "the name of the Set")
        self._advance()
        if self._kind() != RP:
            self.objects()
        self._chk(RP, "')' closing the Set")
        self._advance()

    def contour(self) -> None:
        self._refuse_nested("a contour")
        self._chk(LP)
        begin = self.npts
        self._demand(STR)
        name, name_line = self._token()[1], self._token()[2]
        self._advance()
        self.properties()  # contourinfo
        self.points()
        end = self.npts
        self.contours.append((name, begin, end, name_line))
        if name in SOMA_CONTOUR_NAMES and end - begin > 2:
            self.sectype = 1
        self._chk(RP, "')' closing the contour")
        self._advance()

    def marker(self) -> None:
        self._chk(LP)
        self._demand(LABEL)
        self._advance()
        self.properties()
        self.points()
        self._chk(RP, "')' closing the marker")
        self._advance()

    def markerlist(self) -> None:
        """Skip a parenthesised group after a branch (markers): NEURON counts parentheses only."""
        self._chk(LP)
        depth = 1
        while True:
            self._advance()
            while self._at_run():  # whole points are balanced
                self._skip_points(None)
            kind = self._kind()
            if kind == RP:
                depth -= 1
                if depth == 0:
                    break
            elif kind == LP:
                depth += 1
            elif kind == EOF or (kind == ERR and self.i == self.last and not self.pending):
                self._fail("')' closing the markers after a branch",
                           hint="NEURON's reader would loop forever here")
        self._advance()

    # ----- trees ----------------------------------------------------------------------------------------

    def _refuse_nested(self, what: str) -> None:
        if self.depth:
            self._fail(f"no {what} inside a branch",
                       hint="NEURON's reader attaches it to the branch being read and corrupts the tree; "
                            "move the (Set ...) out of the marker or spine")

    def tree(self) -> None:
        self._refuse_nested("tree")
        self.parentsec = None
        self.cur_tree = None
        self._chk(LP)
        self._advance()
        self.properties()
        self.set_sectype()
        self.branch()
        self._chk(RP, "')' closing the tree")
        self._advance()
        self.parentsec = None

    def set_sectype(self) -> None:
        self.sectype = 0
        if self.plist:
            self.sectype = TREE_TYPES.get(self.plist[-1][0][1], 0)
        self.type_labels = [p[0][1] for p in self.plist if p[0][1] in TREE_TYPES]

    def branch(self) -> None:
        psav = self.parentsec
        begin = self.npts
        self.depth += 1
        self.treepoints()
        rec = _BranchRec(begin, self.npts, None)
        if self.parentsec is None:
            tree = Tree(self.sectype, Branch(np.zeros((0, 4))))
            if self.type_labels and self.sectype == 0:
                tree.notes.append((f"the tree's type label ({self.type_labels[-1]}) is not its last property, so "
                                   "NEURON gives it type 0", None))
            rec.tree = tree
            self.cur_tree = tree
            self.trees.append((tree, rec))
        else:
            self.parentsec.children.append(rec)
        self.parentsec = rec
        self.branchend()
        self.parentsec = psav
        self.depth -= 1

    def treepoints(self) -> None:
        self.treepoint()
        while True:
            self._optionalcomma()
            if self._kind() != LP or self._kind(1) != NUM:
                break
            self.treepoint()

    def treepoint(self) -> None:
        if self._kind(1) == LABEL:  # only possible for the first item of a branch
            line = self._token()[2]
            before = self.npts
            self.marker_or_property()
            if self.npts > before and self.cur_tree is not None:
                self.cur_tree.notes.append(("a marker opens a branch: NEURON's reader takes the marker's points as "
                                        "the first points of the branch", line))
            return
        self.point(bulk=True)
        if self._kind() == LSP:
            self.spine()
            while self._kind() == LSP:
                self.spine()

    def spine(self) -> None:
        self._chk(LSP)
        self._advance()
        self.spines += 1
        self.properties()
        if self.plist:
            prop = self.plist[0]
            if prop[0][1] == "Class" and len(prop) < 3:
                self._fail("a spine (Class <number> <name>) property with two values",
                           hint="NEURON's reader fails on a shorter Class property")
        self.point(record=False)
        self._chk(RSP, "'>' closing the spine")
        self._advance()

    def branchend(self) -> None:
        self._optionalcomma()
        if self._kind() == LP:
            while self._kind(1) == LABEL:
                self.markerlist()
        self._optionalcomma()
        if self._kind() in (LP, LABEL):
            self.node()

    def node(self) -> None:
        if self._kind() == LP:
            self._advance()
            self.branch()  # split
            while self._kind() == BAR:
                self._advance()
                self.branch()
            self._chk(RP, "')' closing the list of child branches (or '|' before the next one)")
            self._advance()
        else:
            self._advance()  # a label such as Normal or Incomplete

    # ----- driver ---------------------------------------------------------------------------------------

    def parse(self) -> NeurolucidaData:
        if self._kind() == EOF:
            raise MorphologyFileError("the file holds no Neurolucida data (it is empty or only comments)",
                                      self.path)
        self.objects()
        if self._kind() != EOF:
            tok = self._token()
            if self.log is not None:
                self.log.repair(f"NEURON stops reading at {self._describe(tok)}: the rest of the file is ignored",
                                tok[2])
        return self._build()

    def _build(self) -> NeurolucidaData:
        """Turn journal ranges into point arrays."""
        arrays, lines = [], []
        for entry in self.journal:
            if entry[0] == "run":
                arrays.append(self.t.points[entry[1]:entry[2]])
                lines.append(self.t.point_lines[entry[1]:entry[2]])
            else:
                arrays.append(np.array(entry[1], dtype=np.float64).reshape(-1, 4))
                lines.append(np.array(entry[2], dtype=np.int64))
        pts = np.concatenate(arrays) if arrays else np.zeros((0, 4))
        plines = np.concatenate(lines) if lines else np.zeros(0, dtype=np.int64)
        bad = ~np.isfinite(pts).all(axis=1)
        if bad.any():
            k = int(np.argmax(bad))
            raise MorphologySyntaxError(f"a point has a non-finite value ({pts[k].tolist()})", self.path,
                                        int(plines[k]), "NEURON reads inf, nan and numbers beyond 1e308 as "
                                                        "infinite or undefined coordinates")
        data = NeurolucidaData(self.path, spines=self.spines)
        for name, a, b, line in self.contours:
            data.contours.append(Contour(name, pts[a:b].copy(), plines[a:b].copy(), line))

        def make(rec: _BranchRec) -> Branch:
            if rec.end == rec.begin:
                raise MorphologySyntaxError("a branch has no points (only markers or properties)", self.path,
                                            None, "NEURON's reader fails on an empty branch")
            br = Branch(pts[rec.begin:rec.end].copy(), plines[rec.begin:rec.end].copy())
            br.children = [make(c) for c in rec.children]
            return br

        for tree, rec in self.trees:
            tree.root = make(rec)
            tree.line = int(tree.root.lines[0])
            tree.notes = [(m, tree.line if ln is None else ln) for m, ln in tree.notes]
            data.trees.append(tree)
        return data


def parse_neurolucida(text: str, path: str = "<string>", log: ImportLog | None = None) -> NeurolucidaData:
    """Parse ASC text into a :class:`NeurolucidaData` (stages 1 and 2).

    Args:
        text: the file contents.
        path: the file name used in messages.
        log: where to record repairs found while parsing (text NEURON ignores).

    Raises:
        MorphologySyntaxError: where NEURON's parser fails.
        MorphologyFileError: the text holds no Neurolucida data.
    """
    return _Parser(tokenize(text), path, log).parse()


# ---------------------------------------------------------------------------------------------------------
# Semantics: NEURON's sections list
# ---------------------------------------------------------------------------------------------------------

_TYPE_NAMES = {1: "soma", 2: "axon", 3: "dendrite", 4: "apical dendrite"}


def _bbox(points: np.ndarray) -> tuple[float, ...]:
    """``bounding_box``: xmin, ymin, zmin, xmax, ymax, zmax."""
    lo = points[:, :3].min(axis=0)
    hi = points[:, :3].max(axis=0)
    return (*lo.tolist(), *hi.tolist())


def _xy_intersect(b1: tuple[float, ...], b2: tuple[float, ...]) -> bool:
    """``xy_intersect`` with hoc's fuzzy ``>``."""
    for i in (0, 1):
        if b1[i] > b2[3 + i] + HOC_EPSILON or b2[i] > b1[3 + i] + HOC_EPSILON:
            return False
    return True


def _inside(x: float, y: float, xmin: float, ymin: float, xmax: float, ymax: float) -> bool:
    """``GUIMath.inside``: the arguments become InterViews ``Coord`` (float32) before comparing."""
    f = np.float32
    return bool(f(xmin) <= f(x) <= f(xmax) and f(ymin) <= f(y) <= f(ymax))


def _same_point(a: np.ndarray, b: np.ndarray) -> bool:
    """Hoc ``==`` on x, y and z (each within 1e-11)."""
    for k in range(3):
        if not (a[k] <= b[k] + HOC_EPSILON and a[k] >= b[k] - HOC_EPSILON):
            return False
    return True


def _check_stack(secs: list[RawSection], main: int, log: ImportLog) -> None:
    """``somastack_makes_sense``: NEURON's advice on a contour stack (it changes nothing)."""
    sec = secs[main]
    z = sec.points[0, 2]

    def constant(s: RawSection, z0: float) -> bool:
        return all(v <= z0 + HOC_EPSILON and v >= z0 - HOC_EPSILON for v in s.points[1:, 2].tolist())

    if not constant(sec, z):
        log.repair("the first contour of a soma stack does not have a constant z; NEURON warns that its soma "
                   "area may be seriously wrong", sec.line)
        return
    dz = 0
    for k, j in enumerate(sec.contour_stack):
        other = secs[j]
        z2 = other.points[0, 2]
        diff = z2 - z
        if diff <= HOC_EPSILON and diff >= -HOC_EPSILON:
            log.repair(f"contour {k} of a soma stack has the same z as the previous one", other.line)
            return
        step = 1 if diff > HOC_EPSILON else -1
        if dz == 0:
            dz = step
        elif dz != step:
            log.repair(f"contour {k} of a soma stack is not monotonic in z; NEURON warns that the soma surface is "
                       "nonsense (reorder or remove contours)", other.line)
            return
        z = z2
        if not constant(other, z):
            log.repair(f"contour {k} of a soma stack does not have a constant z; NEURON warns that its soma area "
                       "may be seriously wrong", other.line)
            return


def _wire(sec: RawSection, parent: int, center: np.ndarray) -> None:
    """Connect a root to a soma with a logical connection: the soma centre, diameter 0.01, ``first = 1``."""
    wire = np.array([[center[0], center[1], center[2], 0.01]])
    sec.points = np.concatenate([wire, sec.points])
    sec.parent = parent
    sec.parent_x = 0.5
    sec.first = 1


def neurolucida_to_raw_sections(data: NeurolucidaData, log: ImportLog) -> list[RawSection]:
    """NEURON's ``sections`` list for parsed Neurolucida data (``newsec``, ``connect2soma`` and helpers).

    * Soma contours (named ``CellBody``, ``Cell Body`` or ``Soma``, >= 3 points) come first, in file order;
      a soma contour with fewer points is ignored (a repair). Other contours are ignored.
    * Then the branches of every tree, depth first. A child branch whose first point is not its parent's last
      point (hoc ``==``, i.e. within 1e-11 in x, y and z) starts with a copy of that parent point carrying the
      child's first diameter (``first`` stays 0: it is a real frustum).
    * Soma contours whose xy bounding boxes intersect the previous contour's form a stack: the first contour
      of the stack lists the others in ``contour_stack``; they are marked ``is_subsidiary``.
    * A tree whose first point lies in a soma's xy box (+-0.5 um around a single contour; the exact box of a
      stack) is wired to that soma: the soma centre is prepended with diameter 0.01, ``first = 1``, attached at
      0.5. Trees outside every box are wired to the nearest soma centre (a repair NEURON prints).

    Args:
        data: the parsed file.
        log: receives the repairs.

    Returns:
        The raw sections, in NEURON's order, with indices as parents.
    """
    somas: list[RawSection] = []
    for c in data.contours:
        if c.name not in SOMA_CONTOUR_NAMES:
            continue
        if len(c.points) > 2:
            line = int(c.lines[0]) if c.lines is not None and len(c.lines) else c.line
            somas.append(RawSection(type=1, points=np.array(c.points, dtype=np.float64), line=line,
                                    is_contour=True))
        else:
            log.repair(f'the soma contour "{c.name}" has {len(c.points)} point(s); NEURON ignores soma contours '
                       "with fewer than 3 points", c.line)
    secs: list[RawSection] = list(somas)
    roots: list[int] = []

    def add(branch: Branch, sectype: int, parent: int | None) -> None:
        pts = np.array(branch.points, dtype=np.float64)
        if len(pts) == 0:
            raise MorphologyStructureError("a branch has no points", data.path)
        line = int(branch.lines[0]) if branch.lines is not None and len(branch.lines) else None
        sec = RawSection(type=sectype, points=pts, parent=parent, line=line)
        if parent is not None:
            last = secs[parent].points[-1]
            if not _same_point(last, pts[0]):
                sec.points = np.concatenate([[[last[0], last[1], last[2], pts[0, 3]]], pts])
        else:
            roots.append(len(secs))
        secs.append(sec)
        me = len(secs) - 1
        for child in branch.children:
            add(child, sectype, me)

    for tree in data.trees:
        for message, line in tree.notes:
            log.repair(message, line)
        add(tree.root, tree.type, None)

    if not somas:
        return secs
    # soma_contour_stack: a contour whose box meets the previous contour's box joins the current stack
    mains = [0]
    box_prev = _bbox(secs[0].points)
    for j in range(1, len(somas)):
        box = _bbox(secs[j].points)
        if _xy_intersect(box_prev, box):
            secs[mains[-1]].contour_stack.append(j)
            secs[j].is_subsidiary = True
        else:
            mains.append(j)
        box_prev = box
    for m in mains:
        if secs[m].contour_stack:
            _check_stack(secs, m, log)
    # connect2soma_2: wire the roots that start inside a soma's box
    centers = []
    for m in mains:
        main = secs[m]
        if main.contour_stack:
            others = [secs[j].points for j in main.contour_stack]
            center = stk_center(main.points, others)
            box = list(_bbox(main.points))
            for pts in others:
                b = _bbox(pts)
                for k in range(3):
                    box[k] = min(box[k], b[k]) if box[k] > b[k] else box[k]
                    box[k + 3] = max(box[k + 3], b[k + 3]) if box[k + 3] < b[k + 3] else box[k + 3]
            xmin, xmax, ymin, ymax = box[0], box[3], box[1], box[4]
        else:
            p = main.points
            xmin, xmax = float(p[:, 0].min()) - 0.5, float(p[:, 0].max()) + 0.5
            ymin, ymax = float(p[:, 1].min()) - 0.5, float(p[:, 1].max()) + 0.5
            center = contourcenter(p[:, 0], p[:, 1], p[:, 2])[0]
        centers.append(center)
        for k in range(len(roots) - 1, -1, -1):
            sec = secs[roots[k]]
            if _inside(sec.points[0, 0], sec.points[0, 1], xmin, ymin, xmax, ymax):
                _wire(sec, m, center)
                del roots[k]
    # the other roots: logical connection to the nearest soma centre
    imin = 0
    for r in roots:
        sec = secs[r]
        first = sec.points[0]
        dmin = 1e9
        for j, c in enumerate(centers):
            dx, dy, dz = first[0] - c[0], first[1] - c[1], first[2] - c[2]
            d = math.sqrt(dx * dx + dy * dy + dz * dz)
            if d < dmin - HOC_EPSILON:
                imin, dmin = j, d
        what = _TYPE_NAMES.get(sec.type, f"type {sec.type}")
        log.repair(f"the {what} tree starting here lies outside every soma contour's bounding box; NEURON makes a "
                   "logical connection (a wire) to the centre of the nearest soma", sec.line)
        _wire(sec, mains[imin], centers[imin])
    return secs


# ---------------------------------------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------------------------------------


def _decode(data: bytes, path: str) -> str:
    """Check that the bytes can be Neurolucida text and decode them byte for byte."""
    if not data.strip():
        raise MorphologyFileError("the file is empty", path)
    if data.startswith(b"\x89HDF"):
        raise MorphologyFileError("this is an HDF5 file, not Neurolucida ASC text", path,
                                  hint="read it as an H5 morphology")
    if b"\x00" in data:
        raise MorphologyFileError("this is a binary file, not Neurolucida ASC text", path,
                                  hint="a Neurolucida .asc file is plain text")
    return data.decode("latin-1")


def parse_asc(text: str, path: str, log: ImportLog) -> list[RawSection]:
    """Import Neurolucida ASC text the way NEURON's ``Import3d_Neurolucida3`` does.

    Args:
        text: the file contents.
        path: the file name used in messages.
        log: receives the repairs NEURON makes (and refuses them in strict mode).

    Returns:
        NEURON's raw sections (points in um, in file order, float64).

    Raises:
        MorphologySyntaxError: text NEURON's parser rejects (with line and token).
        MorphologyFileError: empty or binary input.
    """
    if "\x00" in text:
        raise MorphologyFileError("the text contains NUL characters (binary data)", path)
    data = parse_neurolucida(text, path, log)
    return neurolucida_to_raw_sections(data, log)


def read_asc(path: str, log: ImportLog) -> list[RawSection]:
    """Read a Neurolucida ``.asc`` file as NEURON's ``Import3d_Neurolucida3.input`` does.

    Args:
        path: the file.
        log: receives the repairs NEURON makes (and refuses them in strict mode).

    Returns:
        NEURON's raw sections (points in um, float64).

    Raises:
        MorphologyFileError: the file is missing, unreadable, empty or binary.
        MorphologySyntaxError: text NEURON's parser rejects (with line and token).
    """
    name = str(path)
    try:
        raw = Path(name).read_bytes()
    except OSError as exc:
        raise MorphologyFileError(f"cannot read the file ({exc.strerror or exc})", name) from None
    return parse_asc(_decode(raw, name), name, log)
