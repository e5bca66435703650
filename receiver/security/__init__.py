"""Keys, installation ownership secrets and per-client limits."""
