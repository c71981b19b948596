"""Ranks: the stored place of a card in its column and of a column in its board (pure, no I/O).

A card's place in its column is its `rank` (a 64-bit integer); the API's dense `order` is its position
in its column sorted by (rank, _id), computed at read time. A move writes the moved card only.
New ranks: the end of a column = a clock reading in ns (after every rank the project has handed
out: `rankMax`, fixed up in the rare case of a clock behind it); between two cards = the midpoint;
the top = the first rank - GAP. When two neighbours leave no integer between them the column is
renumbered once (`CardStore.rebalance`). Integers, not floats: the stand-in keeps 15 significant digits
of a double (a clock-sized float loses its fraction), an int64 exactly.

The board map (a field of the project): `board` = {columnId: {n: cards, s: scopeId, name}} and `rankMax`:
a card create or move reads and writes the project once instead of counting its column.
"""
from __future__ import annotations

import threading
import time

GAP = 1 << 20
_CLOCK = threading.Lock()
_LAST_RANK = [0]


def clock_rank(floor: int = 0) -> int:
    """A rank after every rank this process handed out and after `floor`."""
    with _CLOCK:
        rank = max(time.time_ns(), _LAST_RANK[0] + 1, int(floor) + 1)
        _LAST_RANK[0] = rank
        return rank


def rank_between(before: int | None, after: int | None) -> int | None:
    """A rank strictly between two neighbours (None: no neighbour on that side); None when the integers
    between them ran out (the caller rebalances the column) or at the end (the caller takes a clock rank)."""
    if after is None:
        return None
    if before is None:
        return int(after) - GAP
    mid = (int(before) + int(after)) // 2
    return mid if before < mid < after else None


def dense_orders(cards: list[dict]) -> None:
    """Set each card's `order`: its position in its column by (rank, id)."""
    by_column: dict[str, list[dict]] = {}
    for card in cards:
        by_column.setdefault(card["columnId"], []).append(card)
    for column_cards in by_column.values():
        column_cards.sort(key=lambda c: (c.get("rank", 0), c["id"]))
        for position, card in enumerate(column_cards):
            card["order"] = position


def column_rank(column: dict) -> int:
    """A column's place in its board: its `rank`; a column from before ranks has its dense `order`."""
    rank = column.get("rank")
    return int(column.get("order") or 0) if rank is None else int(rank)


def board_map(columns: list[dict], cards: list[dict]) -> dict:
    """The project fields of a new board: `board` ({columnId: {n: cards, s: scopeId, name}}) and
    `rankMax`; cards without a `rank` take their dense `order`."""
    board = {c["id"]: {"n": 0, "s": c.get("scopeId"), "name": c["name"]} for c in columns}
    top = 0
    for card in cards:
        card.setdefault("rank", int(card.get("order") or 0))
        top = max(top, card["rank"])
        if card["columnId"] in board:
            board[card["columnId"]]["n"] += 1
    return {"board": board, "rankMax": top, "boardRev": 0}
