"""Helpers shared by rules of more than one category."""
