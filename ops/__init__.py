"""Operations: alerts, metrics and health checks over the sync and the duplicate statistics."""
