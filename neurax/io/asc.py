"""Neurolucida ASC reader that reproduces NEURON's ``Import3d_Neurolucida3`` (``read_nlcda3.hoc``).

Reading happens in three stages:

1. **Lexer** (:func:`tokenize`). NEURON's lexer works one line at a time with a cascade of C ``sscanf``
   patterns; :func:`_lex_line` emulates that cascade exactly (glibc ``%lf``, the ``%[^@]`` captures that make
   an ``@`` end the line, ``;`` comments, ``set``/``Set``/``SET``/``RGB``, quoted strings, labels). Because
   nearly every line of a real file is a simple point ``( x y z d )  ; comment``, such lines are found with a
   single regular expression over the whole text, converted with numpy, and handed to the parser as *runs*
   of points; every other line goes through the exact line lexer.
2. **Parser** (:class:`_Parser`): a recursive-descent parser with the productions of ``read_nlcda3.hoc``
   (objects, contour, marker or property, tree-or-text with its rollback, properties, Set, tree, branch,
   tree points, spines, branch end, marker list, node, split, point with its optional z, diameter, label and
   bezier) and NEURON's two-token look-ahead. It builds a :class:`NeurolucidaData`. Anything NEURON's parser
   rejects raises :class:`~neurax.errors.MorphologySyntaxError` with the line and the token found.
3. **Semantics** (:func:`~neurax.io.neurolucida.neurolucida_to_raw_sections`, in ``neurolucida.py``,
   shared with the H5 reader): what NEURON does with the parsed objects.

Coordinates and diameters are in um, exactly as written in the file (float64).

Where neurax does not simply do what NEURON does: a syntax error raises (NEURON prints "parse error" and
keeps a partial cell); files on which NEURON loops forever (unclosed markers), fails inside hoc (an empty
branch, a short spine ``Class``) or mis-nests objects (a ``(Set ...)`` holding objects inside a branch's
marker or spine) raise a clear error; a non-finite coordinate raises. Line numbers are the true lines of the
file (NEURON's warning about a tree outside the soma names the line after it).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from neurax.errors import MorphologyFileError, MorphologyStructureError, MorphologySyntaxError
from neurax.io.import3d import ImportLog, RawSection
from neurax.io.neurolucida import (
    SOMA_CONTOUR_NAMES,
    Branch,
    Contour,
    NeurolucidaData,
    Tree,
    neurolucida_to_raw_sections,
)

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

#: Tree type from the label of the tree's *last* property; any other label gives type 0.
TREE_TYPES = {"Axon": 2, "Dendrite": 3, "Apical": 4}
#: Branches nested deeper than this make NEURON's hoc interpreter fail ("call nested too deeply"): its 512
#: call frames run out. Depending on what the deepest branches hold (spines, markers) it may fail a few
#: levels earlier; neurax refuses only from this depth on.
MAX_NESTING = 124
#: Labels that end a branch in a Neurolucida file (used only to word error hints).
_BRANCH_END_LABELS = {"Normal", "Incomplete", "High", "Low", "Generated", "Midpoint", "Origin"}

# ---------------------------------------------------------------------------------------------------------
# Tokens
# ---------------------------------------------------------------------------------------------------------

EOF, NUM, LP, RP, COMMA, BAR, SET, RGB, STR, LABEL, ERR, LSP, RSP = range(13)
#: A run of plain point lines (internal token; each point expands to the tokens of its line).
RUN = 20
_KIND_NAMES = {
    EOF: "end of file", NUM: "number", LP: "'('", RP: "')'", COMMA: "','", BAR: "'|'", SET: "'Set'",
    RGB: "'RGB'", STR: "string", LABEL: "label", ERR: "unreadable text", LSP: "'<'", RSP: "'>'",
}
_PUNCT = {"(": LP, ")": RP, ",": COMMA, "|": BAR, "<": LSP, ">": RSP}
_WS = " \t\n\v\f\r"

_W = r"[ \t\f\v]"
_N = r"([-+]?+(?:[0-9]++(?:\.[0-9]*+)?+|\.[0-9]++)(?:[eE][-+]?+[0-9]++)?+)"
_SEP = rf"(?:{_W}*+,{_W}*+|{_W}++)"  # NEURON's optionalcomma between two numbers
_SAFE_LABEL = r"(?:(?![iI][nN][fF]|[nN][aA][nN]|set|Set|SET|RGB)[A-Za-z_][A-Za-z0-9_]*+)"
#: A line holding nothing but a simple point and an optional comment: ``( x y [z [d [label]]] )`` with blanks
#: or single commas between the numbers (the forms NEURON's point() accepts without a bezier). Its tokens do
#: not depend on the rest of the file (NEURON lexes line by line), so it is read without the line lexer. The
#: match starts at the newline before the line; z and d are None when absent.
_PLAIN_POINT_LINE = re.compile(
    rf"\n{_W}*+\({_W}*+{_N}{_SEP}{_N}(?:{_SEP}{_N}(?:{_SEP}{_N}(?:{_SEP}{_SAFE_LABEL})?+{_W}*+,?+)?+)?+{_W}*+\)"
    rf"{_W}*+(?:;(?!@)[^\n]*+)?+(?=\n|\Z)", re.ASCII)
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
    source: list[str] = field(default_factory=list)  # the text's lines (filled when first needed)
    text: str = ""


def _lex_line(raw: str) -> tuple[list[int], list, list[str], bool]:
    """The tokens NEURON's ``lex()`` finds in one line: kinds, values, texts, and whether it gets stuck there.

    NEURON trims trailing blanks and appends a newline; ``rest`` (``line[pos:end]``) is the text not yet
    consumed. Every successful pattern ends with ``%[^@]``: at least one character that is not ``@`` must
    follow the token, and the new rest stops before the first ``@``. A rest of one character or less, or a
    rest starting with ``;`` (a comment), sends the lexer to the next line.
    """
    line = raw.rstrip(_WS) + "\n"
    pos, end = 0, len(line)
    kinds: list[int] = []
    values: list = []
    texts: list[str] = []

    def emit(kind: int, value, text: str) -> None:
        kinds.append(kind)
        values.append(value)
        texts.append(text)

    def cut(q: int) -> int:
        at = line.find("@", q, end)
        return end if at < 0 else at

    while True:
        if end - pos <= 1:
            return kinds, values, texts, False
        p = pos
        while p < end and line[p] in _WS:
            p += 1
        if p < end and line[p] == ";" and p + 1 < end and line[p + 1] != "@":
            return kinds, values, texts, False  # comment: the rest of the line is skipped
        if p >= end:
            emit(ERR, None, line[pos:end])
            return kinds, values, texts, True
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
                    return kinds, values, texts, False
            elif j + 1 < end and line[j + 1] != "@":
                emit(STR, line[p + 1:j], line[p:j + 1])
                pos, end = j + 1, cut(j + 1)
                continue
            else:
                emit(ERR, "unclosed", line[p:end].rstrip("\n"))
                return kinds, values, texts, False
        m = _LABEL_CHARS.match(line, p, end)
        if m is not None and m.end() < end and line[m.end()] != "@":
            emit(LABEL, m.group(), m.group())
            pos, end = m.end(), cut(m.end())
            continue
        emit(ERR, None, line[p:end].rstrip("\n"))
        return kinds, values, texts, True


def tokenize(text: str) -> _Tokens:
    """Split ASC text into NEURON's tokens (plain point lines become RUN tokens).

    Args:
        text: the file contents (decoded byte for byte, e.g. latin-1).
    """
    # NEURON's File.gets ends a line at "\n", "\r\n" and a lone "\r" (fgets_unlimited)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    pieces = _PLAIN_POINT_LINE.split("\n" + text)
    gaps = pieces[0::5]
    del pieces[0::5]
    npts = len(gaps) - 1
    if None in pieces:  # (x y) and (x y z) points: z and d are 0
        pieces = ["0" if v is None else v for v in pieces]
    points = np.array(pieces, dtype=np.float64).reshape(npts, 4) if npts else np.zeros((0, 4))
    busy = [k for k, g in enumerate(gaps) if g]
    newlines = np.zeros(len(gaps), dtype=np.int64)
    for k in busy:
        newlines[k] = gaps[k].count("\n")
    # every match starts at the newline before its line, and gaps hold the newlines of the other lines
    point_lines = np.cumsum(newlines[:-1]) + np.arange(1, npts + 1)
    toks = _Tokens([], [], [], [], points, point_lines, 0, text=text)
    memo: dict[str, tuple] = {}  # most structural lines repeat: ")  ;  End of split", "|", "Normal", ...
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
            if not raw:
                continue
            if raw not in memo:
                memo[raw] = _lex_line(raw)
            kinds, values, texts, stuck = memo[raw]
            toks.kinds.extend(kinds)
            toks.values.extend(values)
            toks.lines.extend([first + n] * len(kinds))
            toks.texts.extend(texts)
            if stuck:
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
# Parser
# ---------------------------------------------------------------------------------------------------------


class _BranchRec:
    """A branch while parsing: its range in the point journal and its children."""

    __slots__ = ("begin", "end", "children")

    def __init__(self, begin: int, end: int) -> None:
        self.begin, self.end, self.children = begin, end, []


class _Parser:
    """Recursive descent over NEURON's grammar; one method per production of ``read_nlcda3.hoc``.

    The cursor mirrors NEURON's ``current``/``look_ahead``/``look_ahead2``: ``_kind(n)`` is the kind of the
    n-th token ahead, where every point of a RUN counts as the tokens of its line (``(``, a number, ...).
    Points of a run are consumed whole by ``point()``; a point entered token by token (only on paths that
    end in a syntax error) is re-lexed into ``pending``.
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
        """Kind of the n-th token ahead (0: current); a run point starts with '(' and a number."""
        pending = self.pending
        if n < len(pending):
            return pending[n][0]
        m = n - len(pending)
        i, kinds = self.i, self.kinds
        while True:
            kind = kinds[i]
            if kind == RUN:
                if m < 2:
                    return NUM if m else LP
                return self._token(n)[0]
            if m == 0 or i == self.last:
                return kind
            m -= 1
            i += 1

    def _point_tokens(self, k: int) -> list[tuple[int, object, int, str]]:
        """The tokens of plain point k, lexed from its line (only when a point is entered token by token)."""
        t = self.t
        if not t.source:
            t.source = t.text.split("\n")
        line = int(t.point_lines[k])
        kinds, values, texts, _ = _lex_line(t.source[line - 1])
        return [(kind, v, line, text) for kind, v, text in zip(kinds, values, texts, strict=True)]

    def _token(self, n: int = 0) -> tuple[int, object, int, str]:
        """The n-th token ahead (0: the current one) as ``(kind, value, line, text)``."""
        if n < len(self.pending):
            return self.pending[n]
        n -= len(self.pending)
        i, off = self.i, self.off
        while True:
            if self.kinds[i] == RUN:
                start, count = self.t.values[i]
                if n == 0:
                    return LP, None, int(self.t.point_lines[start + off]), "("
                for k in range(start + off, start + count):
                    toks = self._point_tokens(k)
                    if n < len(toks):
                        return toks[n]
                    n -= len(toks)
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
        if self.kinds[i] == RUN:  # a run point entered token by token
            start, _ = self.t.values[i]
            self.pending = self._point_tokens(start + self.off)[1:]
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
        current = self._token()
        if hint is None and self.prev is None and current[3].startswith("\xef\xbb\xbf"):
            hint = "the file starts with a UTF-8 byte order mark, which NEURON cannot read"
        if hint is None and self.prev is None and (current[0] == NUM or current[3].startswith("#")):
            hint = "this looks like an SWC file, not Neurolucida ASC"
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
        if self.in_text and self.log is not None and name in SOMA_CONTOUR_NAMES:
            self.log.repair("a soma contour inside the properties of a tree is read twice by NEURON (once while it "
                            "tells a tree from a text), so it becomes two stacked soma contours", name_line)
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
        line = self._token()[2]
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise MorphologyStructureError(
                f"branches are nested more than {MAX_NESTING - 1} levels deep", self.path, line,
                "NEURON's reader fails here (hoc: call nested too deeply)")
        self.treepoints()
        if self.npts == begin:
            raise MorphologySyntaxError("a branch has no points (only markers or properties)", self.path, line,
                                        "NEURON's reader fails on an empty branch")
        rec = _BranchRec(begin, self.npts)
        if self.parentsec is None:
            tree = Tree(self.sectype, Branch(np.zeros((0, 4))))
            if self.type_labels and self.sectype == 0:
                tree.notes.append((f"the tree's type label ({self.type_labels[-1]}) is not its last property, so "
                                   "NEURON gives it type 0", None))
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
                self.cur_tree.notes.append(("a marker opens a branch: NEURON's reader takes the marker's points "
                                            "as the first points of the branch", line))
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
            data.contours.append(Contour(name, pts[a:b], plines[a:b], line))

        def make(rec: _BranchRec) -> Branch:
            br = Branch(pts[rec.begin:rec.end], plines[rec.begin:rec.end])
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
    try:
        return _Parser(tokenize(text), path, log).parse()
    except RecursionError:
        raise MorphologyStructureError("the file nests objects too deeply to be read", path,
                                       hint="NEURON's reader fails on it too (hoc: call nested too deeply)") from None


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
