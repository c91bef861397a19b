"""Domain rules: decide and check, one module per part of the charter."""
