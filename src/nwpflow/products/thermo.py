"""Products: thermo (being written)."""
