"""The boards services, built once per process with their collaborators: the composition root.

Every domain is a package with the same files — `routes.py` (thin handlers: load, call, dump),
`service.py` (a small class; its collaborators are passed in here, by name), `storage.py` (the only
pymongo code, one store per collection), `schemas.py` (requests and responses) — see README.md.
Routes reach a domain's service as `services().<domain>` (api.py); the worker's command handlers get
this object too (events.py).
"""
from __future__ import annotations

from .activity import Actor
from .cards.service import CardsService
from .cards.storage import CardStore
from .checklists.service import ChecklistsService
from .columns.service import ColumnsService
from .columns.storage import ColumnStore
from .comments.service import CommentsService
from .comments.storage import CommentStore
from .fields.service import FieldsService, FieldValuesService
from .fields.storage import FieldStore
from .labels.service import CardLabelsService, LabelsService
from .labels.storage import LabelStore
from .projects.members import Directory, MembersService
from .projects.service import ProjectsService
from .projects.storage import ProjectStore
from .projects.transfer import TransferService
from .relations.service import RelationsService
from .relations.storage import RelationStore
from .scopes.service import ScopesService
from .scopes.storage import ScopeStore
from .storage import BoardsStore
from .transactions import Transactions


class BoardsService:
    """`BoardsService(store=BoardsStore(db), outbox=..., client=..., bus=..., db=db)`: each domain's service
    as an attribute (`.projects`, `.columns`, `.cards`, …)."""

    def __init__(self, *, store: BoardsStore, outbox, client, bus, db):
        tx = Transactions(client)
        project_store, column_store, card_store = ProjectStore(db), ColumnStore(db), CardStore(db)
        scope_store, label_store, field_store = ScopeStore(db), LabelStore(db), FieldStore(db)
        relation_store = RelationStore(db)
        self.directory = Directory(bus=bus)
        self.projects = ProjectsService(store=project_store, columns=column_store, cards=card_store, cascades=store,
                                        directory=self.directory, tx=tx, outbox=outbox, db=db)
        self.members = MembersService(store=project_store, cards=card_store, directory=self.directory,
                                      projects=self.projects, tx=tx, outbox=outbox)
        self.scopes = ScopesService(store=scope_store, projects=self.projects, project_store=project_store,
                                    cards=card_store, cascades=store, tx=tx, db=db)
        self.columns = ColumnsService(store=column_store, projects=self.projects, project_store=project_store,
                                      scopes=self.scopes, cards=card_store, tx=tx)
        self.labels = LabelsService(store=label_store, projects=self.projects, project_store=project_store,
                                    cards=card_store, tx=tx)
        self.cards = CardsService(store=card_store, projects=self.projects, project_store=project_store,
                                  columns=self.columns, labels=self.labels, members=self.members,
                                  directory=self.directory, cascades=store, tx=tx, outbox=outbox, db=db)
        self.card_labels = CardLabelsService(labels=self.labels, projects=self.projects, cards=self.cards, tx=tx,
                                             outbox=outbox)
        self.comments = CommentsService(store=CommentStore(db), projects=self.projects, cards=self.cards, tx=tx,
                                        outbox=outbox)
        self.checklists = ChecklistsService(projects=self.projects, cards=self.cards, tx=tx, outbox=outbox)
        self.fields = FieldsService(store=field_store, projects=self.projects, project_store=project_store,
                                    card_store=card_store, tx=tx)
        self.field_values = FieldValuesService(store=field_store, projects=self.projects, cards=self.cards, tx=tx,
                                               outbox=outbox)
        self.relations = RelationsService(store=relation_store, projects=self.projects, cards=self.cards)
        self.transfer = TransferService(projects=self.projects, project_store=project_store, scopes=scope_store,
                                        columns=column_store, labels=label_store, fields=field_store,
                                        cards=card_store, relations=relation_store, directory=self.directory,
                                        tx=tx, outbox=outbox)

    # The calls tests/test_hot_paths.py counts, by their names from before the split (they forward only).
    def get_project_or_404(self, actor: Actor, project_id: str) -> dict:
        return self.projects.get_or_raise(actor=actor, project_id=project_id)

    def create_project(self, **kwargs) -> dict:
        return self.projects.create(**kwargs)

    def list_columns(self, **kwargs) -> list[dict]:
        return self.columns.list_columns(**kwargs)

    def create_column(self, **kwargs) -> dict:
        return self.columns.create(**kwargs)

    def update_column(self, **kwargs) -> dict:
        return self.columns.update(**kwargs)

    def delete_column(self, **kwargs) -> None:
        return self.columns.delete(**kwargs)

    def list_cards(self, **kwargs):
        return self.cards.list_cards(**kwargs)

    def create_card(self, **kwargs) -> dict:
        return self.cards.create(**kwargs)

    def update_card(self, **kwargs) -> dict:
        return self.cards.update(**kwargs)
