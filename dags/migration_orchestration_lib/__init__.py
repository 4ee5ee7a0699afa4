"""The library behind the database_migration_orchestration DAG (see dags/README.md)."""
