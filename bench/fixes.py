"""Candidate changes to the application, applied only inside a benchmark run to measure them.

    .venv/bin/python bench/run.py --try short-words,adaptive-page

Nothing here is imported by the application. Each candidate patches the running code and
returns a function that undoes it. docs/PERFORMANCE.md says which ones are recommended and what
they measured; the real change belongs in the application's own modules.

- short-words: on SQLite, words of one or two letters are tested with LIKE on the table instead
  of the FTS5 trigram table, which cannot index them and answers them by reading every row.
- adaptive-page: once the paginator has counted the matches, a search that matched few rows
  (<= FEW_MATCHES) sorts them (ORDER BY COALESCE(name, name): no index serves it), and one that
  matched many walks the name index with a plain LIKE, stopping after a page of them.
- capped-count: lists count at most 1,001 rows.
"""

from collections.abc import Callable
from contextvars import ContextVar

from django.core.paginator import Paginator
from django.db import connection
from django.db.models import F, Q
from django.db.models.functions import Coalesce

# A search with at most this many matches sorts them; with more, it walks the name index.
FEW_MATCHES = 2000
# With capped-count, lists count at most this many rows (the page then says "more than").
COUNT_CAP = 1000
# Words shorter than a trigram cannot use a trigram index.
TRIGRAM = 3

# Set while a list page is being answered: rebuilds the filtered queryset with plain LIKE.
_rebuild_plain: ContextVar[Callable | None] = ContextVar("rebuild_plain", default=None)
_search_term: ContextVar[str] = ContextVar("search_term", default="")
_plain_search: ContextVar[bool] = ContextVar("plain_search", default=False)
_flags: dict[str, bool] = {"adaptive_page": False, "cap_count": False, "short_words": False}


def order_without_index(queryset):
    """The same ordering through COALESCE(x, x), which no index serves: the database filters
    first and sorts the matches, instead of walking a whole index in order looking for them."""
    ordering = []
    for name in queryset.query.order_by:
        field = name.lstrip("-")
        expression = Coalesce(F(field), F(field))
        ordering.append(expression.desc() if name.startswith("-") else expression.asc())
    return queryset.order_by(*ordering)


class CandidatePaginator(Paginator):
    @property
    def count(self):  # type: ignore[override]
        if "_count" not in self.__dict__:
            if _flags["cap_count"]:
                # Unordered: an ordered LIMIT would walk the name index again.
                capped = self.object_list.order_by()[: COUNT_CAP + 1]
                self.__dict__["_count"] = capped.count()
            else:
                self.__dict__["_count"] = self.object_list.count()
            rebuild = _rebuild_plain.get()
            if _flags["adaptive_page"] and _search_term.get():
                # A capped count above the cap means "many", whatever the cap.
                few = min(FEW_MATCHES, COUNT_CAP) if _flags["cap_count"] else FEW_MATCHES
                if self.__dict__["_count"] <= few:
                    self.object_list = order_without_index(self.object_list)
                elif rebuild is not None:
                    self.object_list = rebuild()
        return self.__dict__["_count"]


def _plain_matches(original):
    """crm.core.search.matches, with LIKE on the table for short words (or all, when asked)."""

    def matches(model, words, *, through="pk"):
        if connection.vendor != "sqlite":
            return original(model, words, through=through)
        if _plain_search.get():
            plain = list(words)
        elif _flags["short_words"]:
            plain = [word for word in words if len(word) < TRIGRAM]
        else:
            plain = []
        indexed = [word for word in words if word not in plain]
        query = original(model, indexed, through=through) if indexed else Q()
        prefix = "" if through == "pk" else f"{through.removesuffix('_id')}__"
        for word in plain:
            query &= Q(**{f"{prefix}search_text__contains": word})
        return query

    return matches


_installed: list[Callable[[], None]] = []


def _install() -> None:
    """Patch the view's paginator and the selectors' matches() once; flags switch them on."""
    if _installed:
        return
    from crm.customers import selectors, views

    original_list_page = views._list_page
    original_paginator = views.Paginator
    original_matches = selectors.matches

    def list_page(request, filterset, template):
        def rebuild():
            token = _plain_search.set(True)
            try:
                return type(filterset)(request.GET, queryset=filterset.queryset, request=request).qs
            finally:
                _plain_search.reset(token)

        tokens = (
            _search_term.set(request.GET.get("q", "").strip()),
            _rebuild_plain.set(rebuild),
        )
        try:
            return original_list_page(request, filterset, template)
        finally:
            _rebuild_plain.reset(tokens[1])
            _search_term.reset(tokens[0])

    views._list_page = list_page
    views.Paginator = CandidatePaginator
    selectors.matches = _plain_matches(original_matches)

    def undo() -> None:
        views._list_page = original_list_page
        views.Paginator = original_paginator
        selectors.matches = original_matches
        _installed.clear()

    _installed.append(undo)


def _flag(name: str) -> Callable[[], Callable[[], None]]:
    def apply() -> Callable[[], None]:
        _install()
        _flags[name] = True

        def undo() -> None:
            _flags[name] = False
            if not any(_flags.values()) and _installed:
                _installed[0]()

        return undo

    return apply


CANDIDATES: dict[str, Callable[[], Callable[[], None]]] = {
    "short-words": _flag("short_words"),
    "adaptive-page": _flag("adaptive_page"),
    "capped-count": _flag("cap_count"),
}
