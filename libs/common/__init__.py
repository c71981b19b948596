"""What every Stellary service shares, and nothing more."""
