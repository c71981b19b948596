"""Invitations: to a workspace (by a workspace admin) or to an organization (an unknown address added as a member)."""
