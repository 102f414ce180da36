"""newsingest storage: the only package that talks to PostgreSQL.

``db`` builds engines and sessions, ``embedded`` runs the default embedded server,
``models`` declares the schema, ``repository`` holds upserts and queries, ``migrate``
applies Alembic migrations.
"""
