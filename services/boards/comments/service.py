"""Comments of a card (oldest first, paged); the card's `commentCount` follows them."""
from __future__ import annotations

from libs.common.errors import Forbidden, NotFound
from libs.common.mongo import is_id, new_id, now
from libs.common.paging import decode_cursor, encode_cursor

from .. import activity as act
from ..activity import Actor
from ..cards.service import CardsService
from ..projects.service import ProjectsService
from ..transactions import Transactions
from .storage import CommentStore


class CommentsService:
    def __init__(self, *, store: CommentStore, projects: ProjectsService, cards: CardsService, tx: Transactions,
                 outbox):
        self.store = store
        self.projects = projects
        self.cards = cards
        self.tx = tx
        self.outbox = outbox

    def list_comments(self, *, actor: Actor, project_id: str, card_id: str, limit=None, cursor=None):
        """(comments, next cursor)."""
        project = self.projects.get_or_raise(actor=actor, project_id=project_id)
        card = self.cards.get_or_raise(actor=actor, project=project, card_id=card_id)
        skip = max(0, (decode_cursor(cursor, int) or (0,))[0])
        comments = self.store.list(actor.workspace_id, card["id"], skip=skip, limit=(limit + 1) if limit else None)
        next_cursor = None
        if limit and len(comments) > limit:
            comments, next_cursor = comments[:limit], encode_cursor(skip + limit)
        return comments, next_cursor

    def create(self, *, actor: Actor, project_id: str, card_id: str, content: str) -> dict:
        """The comment, and `comment_added`."""
        project = self.projects.get_or_raise(actor=actor, project_id=project_id)
        card = self.cards.get_or_raise(actor=actor, project=project, card_id=card_id)
        comment = {"id": new_id(), "orgId": project.get("orgId"), "workspaceId": actor.workspace_id,
                   "projectId": project["id"], "cardId": card["id"], "authorId": actor.user_id,
                   "authorName": actor.name or actor.email or None, "content": content, "createdAt": now()}
        with self.tx.unit() as s:
            self.store.insert(comment, session=s)
            card = self.cards.write(actor=actor, card_id=card["id"], inc={"commentCount": 1}, session=s)
            self.outbox.add(act.activity("comment_added", actor=actor, project=project, card=card,
                                         comment={"id": comment["id"], "content": content,
                                                  "authorId": actor.user_id, "authorName": comment["authorName"]}),
                            session=s)
        return comment

    def delete(self, *, actor: Actor, project_id: str, card_id: str, comment_id: str) -> None:
        """Its author or a workspace admin only."""
        project = self.projects.get_or_raise(actor=actor, project_id=project_id)
        card = self.cards.get_or_raise(actor=actor, project=project, card_id=card_id)
        comment = self.store.get(actor.workspace_id, card["id"], comment_id) if is_id(comment_id) else None
        if not comment:
            raise NotFound("Comment not found")
        if comment["authorId"] != actor.user_id and actor.ws_role != "admin":
            raise Forbidden("Only the author or a workspace admin may delete a comment")
        with self.tx.unit() as s:
            if self.store.delete(actor.workspace_id, comment["id"], session=s):
                self.cards.write(actor=actor, card_id=card["id"], inc={"commentCount": -1}, session=s)
