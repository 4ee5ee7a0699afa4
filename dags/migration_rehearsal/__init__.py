"""The simulated world a rehearsal migrates in: SQL servers, the backup share, DMS and its faults.

Its own package: it imports nothing from `migration_orchestration_lib`, the code it stands in for.
"""
