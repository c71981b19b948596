"""Webhooks: workspace endpoints that receive signed deliveries of the platform's events (API.md §6)."""
