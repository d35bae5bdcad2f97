"""PostgreSQL fixtures (filled in by the foundation work)."""
