"""The agents service: AI agents that work on cards under human control (missions, proposals), and the
project wizard (drafts → roadmap → a board). See README.md and docs/CONTRACTS.md."""
