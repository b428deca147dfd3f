"""The floor: the least a write endpoint can do on this stack, to compare the RMA endpoint with.

One Flask view, the same engine settings as the service (`compliance.db.make_engine`), and
in one transaction one indexed read (an item by its unique code) and one insert (an event
row). Its two tables belong to the bench, not to the product schema: `prepare` creates and
fills them in the database under test.

    gunicorn -w 4 --chdir bench 'floor_app:create_app()'      (DATABASE_URL from the environment)
"""

import os
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask import Flask, jsonify
from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    func,
    insert,
    select,
)

from compliance.db import make_engine

ITEMS = 10_000
METADATA = MetaData()
ITEM = Table("bench_floor_item", METADATA,
             Column("id", Integer, primary_key=True),
             Column("code", String(16), nullable=False, unique=True),
             Column("value", Integer, nullable=False))
EVENT = Table("bench_floor_event", METADATA,
              Column("id", Integer, primary_key=True),
              Column("item_id", Integer, nullable=False, index=True),
              Column("at", DateTime(timezone=True), nullable=False),
              Column("note", String(64), nullable=False))


def prepare(engine: Engine) -> None:
    """Create the floor's tables and their items (idempotent)."""
    METADATA.create_all(engine)
    with engine.begin() as connection:
        if not connection.scalar(select(func.count()).select_from(ITEM)):
            connection.execute(insert(ITEM), [{"code": f"item-{n}", "value": n}
                                              for n in range(ITEMS)])


def create_app(url: str | None = None) -> Flask:
    """The floor app on `url` (default: DATABASE_URL)."""
    app = Flask(__name__)
    engine = make_engine(url or os.environ["DATABASE_URL"])

    @app.get("/")
    def ready():
        return jsonify(status="ok")

    @app.post("/floor/<int:n>")
    def floor(n: int):
        with engine.begin() as connection:
            item = connection.execute(select(ITEM.c.id, ITEM.c.value)
                                      .where(ITEM.c.code == f"item-{n % ITEMS}")).one()
            connection.execute(insert(EVENT).values(item_id=item.id, at=datetime.now(UTC),
                                                    note="floor"))
        return jsonify(item=item.id, value=item.value), 201

    return app
