"""Work-pool, block and deployment set-up for prefect.yaml (local process pool and production)."""
