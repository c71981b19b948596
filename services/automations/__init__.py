"""The automations service: rules that act on boards by themselves (see README.md and docs/CONTRACTS.md)."""
