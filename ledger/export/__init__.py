"""Exports: auditor bundles and the GEM's levy and contribution files."""
