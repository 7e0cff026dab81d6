"""Products: levels (being written)."""
