"""Products: wind (being written)."""
