"""Errors acap raises for bad input.

Every problem with what a user hands in (a bank file, a responses table, a model) is an
:class:`AcapInputError`: one message saying what is wrong and where, so the CLI and the
app can show it as a single line without a traceback.
"""

from __future__ import annotations


class AcapInputError(ValueError):
    """Bad input, with one message naming what is wrong and where.

    Parameters
    ----------
    message : str
        What is wrong.
    where : str, optional
        Where it is (file, row, column, item, field); prefixed to the message.
    """

    def __init__(self, message: str, where: str | None = None):
        self.where = where
        self.detail = message
        super().__init__(f"{where}: {message}" if where else message)
