"""Accounts: registration (with the personal organization and workspace), the caller's profile and password."""
