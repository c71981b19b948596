"""Organizations and their members (roles owner > admin > member)."""
