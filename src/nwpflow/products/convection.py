"""Products: convection (being written)."""
