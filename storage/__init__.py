"""newsingest storage: the only package that talks to PostgreSQL.

``db`` builds engines and sessions, ``embedded`` runs the default embedded server,
``models`` declares the schema, ``migrate`` applies Alembic migrations. The repositories,
one per aggregate (``sources``, ``articles``, ``duplicates``, ``pages``, ``failures``,
``url_state``), take a session and never commit; ``writes`` is the write path.
"""
