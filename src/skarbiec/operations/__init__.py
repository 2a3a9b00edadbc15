"""Operations (SPEC §10): health and readiness, request logs and metrics, backups, version."""
