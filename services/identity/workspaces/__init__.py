"""Workspaces of an organization and their members (role admin | member, pilotage role viewer | reviewer | owner)."""
