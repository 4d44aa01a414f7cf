"""Alembic's environment and revisions for the progress database (see app/schema.py)."""
