"""The exceptions and warnings neurax raises for user-facing problems.

Every problem with a user's input is an instance of :class:`NeuraxError`, so a caller (and the command
line) can catch one type. Problems found in a file carry the file and line so the message reads like a
compiler error::

    cell.swc:12: sample 7 has parent 12, which comes later in the file (NEURON needs pid < id); ...

Hierarchy::

    NeuraxError
    ├── MorphologyError            a morphology file cannot be read as NEURON would read it
    │   ├── MorphologyFileError    missing, unreadable, empty, binary, or unknown format
    │   ├── MorphologySyntaxError  a line that does not parse (text where a number belongs, too few fields)
    │   ├── MorphologyStructureError  the samples do not form trees (duplicate ids, cycles, ...)
    │   └── StrictModeError        ``strict=True`` refuses something NEURON would silently repair
    ├── LocationError              a ``"dend[3](0.7)"`` location that names no section or a bad x
    └── DiscretizationError        an nseg policy that cannot be applied (e.g. d_lambda on a zero diameter)

:class:`MorphologyRepairWarning` is issued (through :mod:`warnings`) whenever neurax repairs a file the
way NEURON does; its message names the file, the line and the repair.
"""

from __future__ import annotations

__all__ = [
    "NeuraxError",
    "MorphologyError",
    "MorphologyFileError",
    "MorphologySyntaxError",
    "MorphologyStructureError",
    "StrictModeError",
    "LocationError",
    "DiscretizationError",
    "MorphologyRepairWarning",
]


class NeuraxError(Exception):
    """Base class of every error neurax raises for a user's mistake or a bad input."""


class MorphologyError(NeuraxError):
    """A morphology file that cannot be imported.

    Args:
        message: what is wrong, in one sentence.
        path: the file (or ``"<string>"`` for text given directly).
        line: 1-based line number in the file, when one line is to blame.
        hint: what the user can do about it.
    """

    def __init__(self, message: str, path: str | None = None, line: int | None = None,
                 hint: str | None = None) -> None:
        self.message = message
        self.path = path
        self.line = line
        self.hint = hint
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = f"{self.path}:{self.line}: " if self.line is not None else f"{self.path}: "
        text = f"{where}{self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return text


class MorphologyFileError(MorphologyError):
    """The file is missing, unreadable, empty, binary, or of an unknown format."""


class MorphologySyntaxError(MorphologyError):
    """A line of the file does not parse."""


class MorphologyStructureError(MorphologyError):
    """The samples parse but do not describe trees that can be imported."""


class StrictModeError(MorphologyError):
    """``strict=True`` refused a file that NEURON would repair silently."""


class LocationError(NeuraxError, ValueError):
    """A location such as ``"dend[3](0.7)"`` names no section or has an x outside [0, 1]."""


class DiscretizationError(NeuraxError, ValueError):
    """An nseg policy cannot be applied to a section."""


class MorphologyRepairWarning(UserWarning):
    """neurax repaired the file the way NEURON's Import3d does; the message says where and how."""
