"""Cards and their moves (dense order per column, one `$inc` per shifted range), comments, checklists."""
