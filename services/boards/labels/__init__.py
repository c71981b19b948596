"""Labels (`#RRGGBB`, name unique per project) and the labels of cards."""
