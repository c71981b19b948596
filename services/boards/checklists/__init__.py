"""The checklist of a card (≤ 100 items, dense order; stored in the card's `checklist`)."""
