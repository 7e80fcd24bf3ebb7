"""The error an NMODL file raises: ``FILE:LINE: what is wrong (what to do)``."""

from __future__ import annotations

from neurax.errors import NeuraxError

__all__ = ["NmodlError"]


class NmodlError(NeuraxError):
    """A ``.mod`` file that neurax cannot read or does not support.

    Args:
        message: what is wrong, in one sentence.
        path: the file (``"<string>"`` for text given directly).
        line: 1-based line of the offending construct, when one line is to blame.
    """

    def __init__(self, message: str, path: str | None = None, line: int | None = None) -> None:
        self.message = message
        self.path = path
        self.line = line
        super().__init__(self.__str__())

    def __str__(self) -> str:
        if self.path is None:
            return self.message
        return f"{self.path}:{self.line}: {self.message}" if self.line is not None else f"{self.path}: {self.message}"
