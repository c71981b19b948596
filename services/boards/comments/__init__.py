"""Comments of a card."""
