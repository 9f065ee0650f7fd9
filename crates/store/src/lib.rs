//! Storage of fupin over SQLite and PostgreSQL.
