"""Plain records: a row's columns by name, for the paths that run on every API call.

Those paths read a handful of rows from several tables in one query and never change them
through the ORM, so ORM objects would cost more than the work itself. Each table's columns
are selected under a prefix (`course_state`), and a record gives them back under their own
names, so code that reads rows (the facts builders, the certification checks) takes either
a record or the model.
"""

from collections.abc import Mapping, Sequence
from types import SimpleNamespace

from sqlalchemy import Label, Table


def labelled(prefix: str, table: Table, names: Sequence[str]) -> list[Label]:
    """The named columns of `table`, selected as `<prefix>_<name>`."""
    return [table.c[name].label(f"{prefix}_{name}") for name in names]


def record(row: Mapping, prefix: str, names: Sequence[str]) -> SimpleNamespace:
    """The columns selected by `labelled(prefix, ...)`, under their own names."""
    return SimpleNamespace(**{name: row[f"{prefix}_{name}"] for name in names})
