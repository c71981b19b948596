"""Projects, their members, templates, the portfolio, and project import / export."""
