"""Scopes (work packages with their own columns and cards) and their views."""
