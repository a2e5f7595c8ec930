"""Alembic environment: always handed a connection by :func:`huitong.db.migrate.upgrade`."""

from alembic import context

from huitong.db.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    transactional_ddl=True,
)
with context.begin_transaction():
    context.run_migrations()
