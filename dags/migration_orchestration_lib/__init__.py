"""The library behind the database_migration_orchestration DAG (see dags/README.md)."""
# First: a DAG folder mixing two bundles' files refuses to import before any other module loads.
import migration_orchestration_lib.bundle_manifest  # noqa: F401
