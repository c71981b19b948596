"""Columns: dense order per board (the main board or one scope); a column holding cards is not deleted."""
