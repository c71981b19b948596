"""HTTP endpoints: comments of a card."""
from libs.common.paging import paged
from libs.common.schemas import schema

from ..api import C, api, services, who
from ..schemas import PageQuery
from ..shapes import OK, Ok
from .schemas import CommentIn, CommentOut


@api.route(C + "/comments", "GET", query=PageQuery, response=CommentOut(many=True),
           summary="Comments of a card, oldest first")
def list_comments(org, ws, project_id, card_id, query):
    items, next_cursor = services().comments.list_comments(actor=who(org, ws), project_id=project_id, card_id=card_id,
                                                           limit=query["limit"], cursor=query["cursor"])
    return paged(schema(CommentOut, many=True).dump(items), next_cursor)


@api.route(C + "/comments", "POST", body=CommentIn, response=CommentOut, status=201, summary="Comment on a card")
def create_comment(org, ws, project_id, card_id, body):
    return schema(CommentOut).dump(services().comments.create(actor=who(org, ws), project_id=project_id, card_id=card_id,
                                                        content=body["content"]))


@api.route(C + "/comments/<comment_id>", "DELETE", response=Ok,
           summary="Delete a comment (its author or a workspace admin)")
def delete_comment(org, ws, project_id, card_id, comment_id):
    services().comments.delete(actor=who(org, ws), project_id=project_id, card_id=card_id, comment_id=comment_id)
    return schema(Ok).dump(OK)
