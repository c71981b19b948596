"""The agents service — not built yet (see docs/CONTRACTS.md and ../shared/DESIGN.md for what it owns).

The gateway routes its paths already and answers 503 until this service runs.
"""
