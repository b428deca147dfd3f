"""Plain records: a row's columns by name, for the paths that run on every API call.

Those paths read a handful of rows from several tables in one query and never change them
through the ORM, so ORM objects would cost more than the work itself. A record has the
same attribute names as the table's model, so code that reads rows (the facts builders,
the certification checks) takes either.
"""

from collections.abc import Sequence
from types import SimpleNamespace

from sqlalchemy import Column, Row, Table


def columns(table: Table, names: Sequence[str]) -> list[Column]:
    """The named columns of `table`, to select alongside other tables' columns."""
    return [table.c[name] for name in names]


def record(row: Row, table: Table, names: Sequence[str]) -> SimpleNamespace:
    """The named columns of `table` out of a row that joined several tables."""
    mapping = row._mapping
    return SimpleNamespace(**{name: mapping[table.c[name]] for name in names})
