"""The linkage hub: an HTTP service that receives agencies' submissions, links them
and hands each agency its own links -- never identifiers, never row-level links
across agencies, and an audit record of everything done.

Modules: :mod:`settings` (what an operator configures), :mod:`models` and
:mod:`database` (SQLAlchemy schema, Alembic migrations), :mod:`tokens` (role
tokens), :mod:`audit` (hash-chained log), :mod:`storage` (files under the data
directory), :mod:`uploads` (verified streaming uploads), :mod:`runs`
(background linkage runs), :mod:`api` and :mod:`app` (the FastAPI service),
:mod:`dashboard` (the operator's page) and :mod:`client` (what the CLI uses).
"""
