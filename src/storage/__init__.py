"""The Postgres read model: tables, migrations and the queries the API runs."""
