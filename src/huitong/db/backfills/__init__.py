"""Data backfills: changes to stored rows that a schema migration must not make (see ``db/migrate.py``), each run
by the command that needs it."""
