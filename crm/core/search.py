# Table names below come from model metadata; user text is always a bound parameter.
# ruff: noqa: S608, S611
"""Substring search over a model's folded `search_text` column, through an index.

Every searchable model keeps `search_text` (see docs/adr/0003). A search is one condition per
word, all of which must hold. PostgreSQL answers `LIKE '%word%'` from a trigram GIN index
(pg_trgm); SQLite from an FTS5 table with the trigram tokenizer, named `<table>_search` and kept
in step with the model's table by triggers (see `search_index_sql`).
"""

from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import F, Q
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.utils.functional import cached_property

from crm.core.text import fold

MAX_WORDS = 8


def search_words(term: str) -> list[str]:
    return fold(term).split()[:MAX_WORDS]


def _glob_literal(word: str) -> str:
    # GLOB's wildcards typed by a user are matched literally.
    return "".join(f"[{ch}]" if ch in "*?[" else ch for ch in word)


# The trigram index cannot look up fewer than three letters; such words are matched on the
# table, where they match so many rows that walking the list's own order finds a page at once.
MIN_INDEXED_LENGTH = 3


def matches(model, words: list[str], *, through: str = "pk", use_index: bool = True) -> Q:
    """Rows whose `search_text` (or the related row's, through a foreign key) holds every word.

    `use_index=False` tests the words on the table's rows, which suits a query that walks the
    list's own order and stops after a page (see SearchPaginator).
    """
    prefix = "" if through == "pk" else f"{through.removesuffix('_id')}__"
    query = Q()
    on_table = words
    if connection.vendor == "sqlite" and use_index:
        indexed = [word for word in words if len(word) >= MIN_INDEXED_LENGTH]
        on_table = [word for word in words if len(word) < MIN_INDEXED_LENGTH]
        if indexed:
            # One look-up in the index for all the words, not one list of ids per word.
            table = f"{model._meta.db_table}_search"
            where = " AND ".join(["search_text GLOB %s"] * len(indexed))
            patterns = [f"*{_glob_literal(word)}*" for word in indexed]
            ids = RawSQL(f'SELECT rowid FROM "{table}" WHERE {where}', patterns)
            query &= Q(**{f"{through}__in": ids})
    for word in on_table:
        query &= Q(**{f"{prefix}search_text__contains": word})
    return query


# Above this many matches a page is found faster by walking the list's order than by sorting.
DENSE_MATCHES = 2000


def _sorted_after_filtering(queryset):
    """The same order through COALESCE(x, x), which no index serves: the database takes the
    matches from the search index and sorts them, instead of walking a whole sorted index."""
    ordering = []
    for name in queryset.query.order_by:
        expression = Coalesce(F(name.lstrip("-")), F(name.lstrip("-")))
        ordering.append(expression.desc() if name.startswith("-") else expression.asc())
    return queryset.order_by(*ordering)


class SearchPage(Page):
    def end_index(self) -> int:
        # From the rows shown: the count may be capped.
        return self.start_index() + len(self) - 1 if len(self) else 0


class SearchPaginator(Paginator):
    """Pages a search by how many rows it matched, once they are counted.

    Few matches: fetch them through the search index and sort them. Many: walk the list's
    sorted index testing rows (`dense_object_list`), which meets a page of them at once.
    """

    def __init__(self, object_list, per_page, *, dense_object_list=None, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.dense_object_list = dense_object_list

    @cached_property
    def count(self) -> int:
        """A search counts its matches up to one past DENSE_MATCHES ("more than 2,000"):
        counting tens of thousands of rows under a visibility rule was most of its time."""
        if self.dense_object_list is None:
            return super().count
        # Unordered, or the LIMIT would walk the sorted index again.
        return self.object_list.order_by()[: DENSE_MATCHES + 1].count()

    @property
    def count_cap(self) -> int:
        return DENSE_MATCHES

    @property
    def count_is_capped(self) -> bool:
        return self.dense_object_list is not None and self.count > DENSE_MATCHES

    def page(self, number):
        number = self.validate_number(number)  # counts the matches
        if self.dense_object_list is not None:
            if self.count > DENSE_MATCHES:
                self.object_list = self.dense_object_list
            else:
                self.object_list = _sorted_after_filtering(self.object_list)
        # A whole page even past a capped count (Paginator would stop the slice at the count).
        bottom = (number - 1) * self.per_page
        return self._get_page(self.object_list[bottom : bottom + self.per_page], number, self)

    def _get_page(self, *args, **kwargs):
        return SearchPage(*args, **kwargs)


def search_index_sql(table: str, vendor: str) -> tuple[list[str], list[str]]:
    """SQL that creates (and drops) the search index of `table` on this database."""
    if vendor == "sqlite":
        fts = f"{table}_search"
        create = [
            f"CREATE VIRTUAL TABLE {fts} USING fts5(search_text, content='{table}', "
            f"content_rowid='id', tokenize='trigram')",
            f"CREATE TRIGGER {fts}_ai AFTER INSERT ON {table} BEGIN "
            f"INSERT INTO {fts}(rowid, search_text) VALUES (new.id, new.search_text); END",
            f"CREATE TRIGGER {fts}_ad AFTER DELETE ON {table} BEGIN "
            f"INSERT INTO {fts}({fts}, rowid, search_text) "
            f"VALUES ('delete', old.id, old.search_text); END",
            f"CREATE TRIGGER {fts}_au AFTER UPDATE OF search_text ON {table} BEGIN "
            f"INSERT INTO {fts}({fts}, rowid, search_text) "
            f"VALUES ('delete', old.id, old.search_text); "
            f"INSERT INTO {fts}(rowid, search_text) VALUES (new.id, new.search_text); END",
            f"INSERT INTO {fts}({fts}) VALUES ('rebuild')",
        ]
        drop = [
            f"DROP TRIGGER IF EXISTS {fts}_ai",
            f"DROP TRIGGER IF EXISTS {fts}_ad",
            f"DROP TRIGGER IF EXISTS {fts}_au",
            f"DROP TABLE IF EXISTS {fts}",
        ]
        return create, drop
    if vendor == "postgresql":
        index = f"{table}_search_trgm"
        create = [
            "CREATE EXTENSION IF NOT EXISTS pg_trgm",
            f"CREATE INDEX IF NOT EXISTS {index} ON {table} USING gin (search_text gin_trgm_ops)",
        ]
        return create, [f"DROP INDEX IF EXISTS {index}"]
    return [], []
