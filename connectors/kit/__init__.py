"""The edges every connector shares (retries, settings), kept small: the connectors share no more than that."""
