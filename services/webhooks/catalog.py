"""Which bus event becomes which webhook event type (API.md §6 `events`)."""
from __future__ import annotations

# The nine boards activities (docs/CONTRACTS.md "boards activity"), one subject each.
ACTIVITIES = {
    "boards.card.created": "card_created", "boards.card.updated": "card_updated",
    "boards.card.moved": "card_moved", "boards.card.archived": "card_archived",
    "boards.card.deleted": "card_deleted", "boards.card.assigned": "card_assigned",
    "boards.comment.added": "comment_added", "boards.member.added": "member_added",
    "boards.member.removed": "member_removed",
}
SUBJECTS = {
    "BOARDS": {**ACTIVITIES, "boards.checklist.completed": "checklist_completed"},
    "PILOTAGE": {"pilotage.action.proposed": "action_proposed", "pilotage.action.applied": "action_applied",
                 "pilotage.document.submitted": "document_submitted",
                 "pilotage.document.reviewed": "document_reviewed"},
    # agents is built in parallel: the AGENTS stream is created by whichever worker binds first
    # (libs/common/bus.py STREAMS), so this consumer works before agents publishes anything.
    "AGENTS": {"agents.mission.updated": "mission_updated", "agents.proposal.created": "proposal_created"},
    "AUTOMATIONS": {"automations.run.failed": "automation_failed"},
}
EVENT_TYPES = tuple(t for stream in SUBJECTS.values() for t in stream.values())
BY_SUBJECT = {subject: kind for stream in SUBJECTS.values() for subject, kind in stream.items()}
