"""Tokens of an NMODL file, each with its line, and the raw regions (VERBATIM, COMMENT, TITLE) kept as text.

NMODL is free-form: newlines separate nothing (except that ``:`` and ``?`` comments run to the end of the
line and ``TITLE`` takes the rest of its line), so the parser works on a flat token list. Unit strings such
as ``(mA/cm2)`` are tokenised like any other text; the parser takes their raw text back from the source
offsets (:meth:`Lexer.raw`).

Real files come with CRLF or CR line ends, tabs, form feeds, Latin-1 comments and a missing newline at the
end; all are accepted. Characters that cannot start any token (outside comments and raw regions) are an
error naming the line.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace

from neurax.nmodl.errors import NmodlError

__all__ = ["Token", "tokenize", "read_source"]

#: Multi-character operators, longest first.
_OPERATORS = ("<->", "<<", "->", "<=", ">=", "==", "!=", "&&", "||")
_SINGLE = set("+-*/^%(){}[],<>=!~';")
_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: Words that open a raw region, and the word that closes it.
_RAW = {"VERBATIM": "ENDVERBATIM", "COMMENT": "ENDCOMMENT"}


@dataclass(frozen=True)
class Token:
    """One token.

    Attributes:
        kind: ``"name"``, ``"number"``, ``"op"``, ``"string"``, ``"verbatim"``, ``"comment"``,
            ``"title"`` or ``"end"``.
        text: the token's text (for raw regions, the text between the markers).
        line: 1-based line of the token's first character.
        start: offset of the first character in the source.
        end: offset just past the token.
        source: the file the token comes from, where it is not the file being parsed (INCLUDE).
    """

    kind: str
    text: str
    line: int
    start: int
    end: int
    source: str | None = None


def read_source(path: str) -> str:
    """The text of a ``.mod`` file: UTF-8, else Latin-1 (old files carry Latin-1 comments)."""
    with open(path, "rb") as handle:
        data = handle.read()
    if b"\x00" in data:
        raise NmodlError("this is a binary file, not NMODL text", path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def tokenize(text: str, path: str = "<string>", sources: dict[str, str] | None = None) -> list[Token]:
    """The tokens of ``text``, ending with one ``"end"`` token. Line ends are normalised first.

    ``INCLUDE "file"`` is replaced by the tokens of that file (found beside ``path``, else in the folders
    of the ``MODL_INCLUDE`` variable), whose tokens name it as their ``source``; ``sources`` (if given)
    receives the normalised text of every file read, by path.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if sources is not None:
        sources[path] = text
    tokens = _tokens(text, path)
    if not any(t.kind == "name" and t.text == "INCLUDE" for t in tokens):
        return tokens
    return _include(tokens, path, sources if sources is not None else {}, depth=0)


def _include(tokens: list[Token], path: str, sources: dict[str, str], depth: int) -> list[Token]:
    out: list[Token] = []
    k = 0
    while k < len(tokens):
        tok = tokens[k]
        if tok.kind == "name" and tok.text == "INCLUDE":
            target = tokens[k + 1] if k + 1 < len(tokens) else tok
            if target.kind != "string":
                raise NmodlError('INCLUDE needs a file name in quotes, e.g. INCLUDE "other.inc"', path, tok.line)
            found = _find_include(target.text, path)
            if found is None:
                raise NmodlError(f'INCLUDE "{target.text}": file not found beside {path} or in MODL_INCLUDE',
                                 path, tok.line)
            if depth > 8:
                raise NmodlError(f'INCLUDE "{target.text}": includes nested too deeply', path, tok.line)
            text = read_source(found).replace("\r\n", "\n").replace("\r", "\n")
            sources[found] = text
            inner = _include(_tokens(text, found), found, sources, depth + 1)
            out.extend(replace(t, source=found) if t.source is None else t for t in inner[:-1])
            k += 2
            continue
        out.append(tok)
        k += 1
    return out


def _find_include(name: str, path: str) -> str | None:
    folders = [os.path.dirname(os.path.abspath(path))] if path != "<string>" else [os.getcwd()]
    folders += [f for f in os.environ.get("MODL_INCLUDE", "").split(":") if f]
    for folder in folders:
        candidate = os.path.join(folder, name)
        if os.path.isfile(candidate):
            return candidate
    return None


def _tokens(text: str, path: str) -> list[Token]:
    tokens: list[Token] = []
    pos, line, n = 0, 1, len(text)
    while pos < n:
        ch = text[pos]
        if ch == "\n":
            line += 1
            pos += 1
            continue
        if ch in " \t\f\v" or ch == "\x1a":  # \x1a: DOS end-of-file marker, seen in old files
            pos += 1
            continue
        if ch == "[" and tokens and tokens[-1].kind == "name" and tokens[-1].text == "REPRESENTS":
            end = text.find("]", pos)  # an ontology term such as [NCIT:C17145]: its ':' is no comment
            if end < 0 or "\n" in text[pos:end]:
                raise NmodlError("REPRESENTS [ is not closed on its line", path, line)
            tokens.append(Token("name", text[pos:end + 1], line, pos, end + 1))
            pos = end + 1
            continue
        if ch in ":?":  # comment to the end of the line
            end = text.find("\n", pos)
            pos = n if end < 0 else end
            continue
        if ch == "/" and text.startswith("/*", pos):  # C comments appear in a few files outside VERBATIM
            end = text.find("*/", pos + 2)
            if end < 0:
                raise NmodlError("a /* comment is never closed", path, line)
            line += text.count("\n", pos, end)
            pos = end + 2
            continue
        if ch == '"':
            end = text.find('"', pos + 1)
            if end < 0 or "\n" in text[pos:end]:
                raise NmodlError("a string is not closed on its line", path, line)
            tokens.append(Token("string", text[pos + 1:end], line, pos, end + 1))
            pos = end + 1
            continue
        m = _NAME.match(text, pos)
        if m:
            word = m.group()
            if word in _RAW:
                close = _RAW[word]
                end = _find_word(text, close, m.end())
                if end < 0:
                    raise NmodlError(f"{word} is never closed by {close}", path, line)
                kind = "verbatim" if word == "VERBATIM" else "comment"
                tokens.append(Token(kind, text[m.end():end], line, pos, end + len(close)))
                line += text.count("\n", pos, end)
                pos = end + len(close)
                continue
            if word == "TITLE":
                end = text.find("\n", m.end())
                end = n if end < 0 else end
                tokens.append(Token("title", text[m.end():end].strip(), line, pos, end))
                pos = end
                continue
            tokens.append(Token("name", word, line, pos, m.end()))
            pos = m.end()
            continue
        m = _NUMBER.match(text, pos)
        if m:
            tokens.append(Token("number", m.group(), line, pos, m.end()))
            pos = m.end()
            continue
        op = next((o for o in _OPERATORS if text.startswith(o, pos)), None)
        if op is None and ch in _SINGLE:
            op = ch
        if op is None:
            hint = " (the DISCRETE-block lag x@1 is not supported)" if ch == "@" else ""
            raise NmodlError(f"unexpected character {ch!r}{hint}", path, line)
        tokens.append(Token("op", op, line, pos, pos + len(op)))
        pos += len(op)
    tokens.append(Token("end", "", line, n, n))
    return tokens


def _find_word(text: str, word: str, start: int) -> int:
    """Offset of the next ``word`` that is the first word of its line (as nocmodl reads ENDCOMMENT and
    ENDVERBATIM: the word elsewhere on a line is text), or -1.
    """
    m = re.compile(rf"(?:^|(?<=\n))[ \t\f\v]*({word})(?![A-Za-z0-9_])").search(text, start)
    return m.start(1) if m else -1
