"""Attachment endpoints (filled in by the attachments module)."""
