"""Alembic environment: runs on a connection handed over by ``knowledge.database``.

``supportbot migrate`` opens the (async) connection and passes its synchronous facade in
``config.attributes["connection"]``; there is no alembic.ini and no second way to connect.
"""

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `supportbot migrate`, not the alembic command")

context.configure(connection=connection, target_metadata=None, transaction_per_migration=True)
with context.begin_transaction():
    context.run_migrations()
