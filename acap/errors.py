"""Errors acap raises for bad input.

Every problem with what a user hands in (a bank file, a responses table, a model) is an
:class:`AcapInputError`: one message saying what is wrong and where, so the CLI and the
app can show it as a single line without a traceback. When a table has many problems the
error also carries all of them (:attr:`AcapInputError.problems`), so that a person can fix
them in one go.
"""

from __future__ import annotations

#: Columns of :attr:`AcapInputError.problems` (and of the CSV list ``acap check`` writes).
PROBLEM_COLUMNS = ("row", "column", "value", "problem", "kind")


class AcapInputError(ValueError):
    """Bad input, with one message naming what is wrong and where.

    Parameters
    ----------
    message : str
        What is wrong.
    where : str, optional
        Where it is (file, row, column, item, field); prefixed to the message.
    problems : DataFrame, optional
        Every problem found: columns ``row`` (as a person finds it in the file: row number,
        SPSS case number, or index label; empty for a problem of the whole table), ``column``,
        ``value`` (the cell as written), ``problem`` and ``kind`` (for grouping). Without it,
        :attr:`problems` holds the one problem of the message.
    """

    def __init__(self, message: str, where: str | None = None, problems=None):
        self.where = where
        self.detail = message
        self._problems = problems
        super().__init__(f"{where}: {message}" if where else message)

    @property
    def problems(self):
        """Every problem found, as a DataFrame (see the class parameters)."""
        import pandas as pd

        if self._problems is not None:
            return self._problems
        return pd.DataFrame([[None, None, None, self.detail, "input"]], columns=list(PROBLEM_COLUMNS))
