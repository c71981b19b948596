"""Relations between two cards of a project, stored once and shown from each card's side."""
