"""Opening morphology files: existence, text decoding and format detection, with clear errors."""

from __future__ import annotations

import os

from neurax.errors import MorphologyFileError

__all__ = ["read_text", "detect_format", "FORMATS"]

#: File extensions neurax reads, mapped to the reader that handles them.
FORMATS = {".swc": "swc", ".asc": "asc", ".h5": "h5"}


def detect_format(path: str) -> str:
    """The format of ``path`` from its extension (case-insensitive).

    Raises:
        MorphologyFileError: the extension is not one of ``.swc``, ``.asc`` or ``.h5``.
    """
    ext = os.path.splitext(path)[1].lower()
    try:
        return FORMATS[ext]
    except KeyError:
        raise MorphologyFileError(f"unknown morphology format {ext or '(no extension)'!r}", path, None,
                                  "neurax reads .swc, .asc (Neurolucida) and .h5 (MorphIO) files") from None


def check_exists(path: str) -> None:
    """Raise a clear error if ``path`` is missing, a directory, or unreadable."""
    if not os.path.exists(path):
        raise MorphologyFileError("no such file", path, None, "check the path")
    if os.path.isdir(path):
        raise MorphologyFileError("is a directory, not a morphology file", path)
    if not os.access(path, os.R_OK):
        raise MorphologyFileError("file is not readable", path, None, "check its permissions")


def read_text(path: str) -> str:
    """The contents of a text morphology file.

    Raises:
        MorphologyFileError: the file is missing, empty, or binary (not text).
    """
    check_exists(path)
    with open(path, "rb") as handle:
        data = handle.read()
    if not data.strip():
        raise MorphologyFileError("file is empty", path, None, "export the reconstruction again")
    if b"\0" in data[:65536]:
        raise MorphologyFileError("file is binary, not a text morphology", path, None,
                                  "is it an .h5 file with the wrong extension?")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        try:
            text = data.decode("latin-1")
        except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes any byte
            raise MorphologyFileError("file is not text", path, line) from None
        printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text[:65536])
        if printable < 0.95 * min(len(text), 65536):
            raise MorphologyFileError("file is binary, not a text morphology", path, line) from None
        return text
