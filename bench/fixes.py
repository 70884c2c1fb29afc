"""Candidate changes to the application, applied only inside a benchmark run to measure them.

    .venv/bin/python bench/run.py --try trgm,sort-matches

Nothing here is imported by the application. Each candidate patches the running code or adds
an index to the benchmark database, and returns a function that undoes it. docs/PERFORMANCE.md
says which ones are recommended and what they measured; the real change belongs in the
application's own modules and migrations.
"""

from collections.abc import Callable
from contextvars import ContextVar

from django.core.paginator import Paginator
from django.db import connection
from django.db.models import F
from django.db.models.functions import Coalesce

# Searches that match at most this many accounts are sorted after filtering.
SORT_MATCHES_MAX = 5000
# Lists count at most this many rows (the page then says "more than 1,000").
COUNT_CAP = 1000

_search_term: ContextVar[str] = ContextVar("search_term", default="")


def order_without_index(queryset):
    """The same ordering, through COALESCE(x, x): no index serves it, so the database
    filters first and sorts the matches, instead of walking the whole index in order and
    testing every row until it has found a page of them."""
    ordering = []
    for name in queryset.query.order_by:
        field = name.lstrip("-")
        expression = Coalesce(F(field), F(field))
        ordering.append(expression.desc() if name.startswith("-") else expression.asc())
    return queryset.order_by(*ordering)


class CandidatePaginator(Paginator):
    sort_matches = False
    cap_count = False

    @property
    def count(self):  # type: ignore[override]
        if "_count" not in self.__dict__:
            if self.cap_count:
                self.__dict__["_count"] = self.object_list[: COUNT_CAP + 1].count()
            else:
                self.__dict__["_count"] = self.object_list.count()
            if (
                self.sort_matches
                and _search_term.get()
                and self.__dict__["_count"] <= SORT_MATCHES_MAX
            ):
                self.object_list = order_without_index(self.object_list)
        return self.__dict__["_count"]


def _patch_views(**flags) -> Callable[[], None]:
    from crm.customers import views

    original_list_page = views._list_page
    original_paginator = views.Paginator
    paginator = type("Paginator", (CandidatePaginator,), dict(flags))

    def list_page(request, filterset, template):
        token = _search_term.set(request.GET.get("q", "").strip())
        try:
            return original_list_page(request, filterset, template)
        finally:
            _search_term.reset(token)

    views._list_page = list_page
    views.Paginator = paginator

    def undo() -> None:
        views._list_page = original_list_page
        views.Paginator = original_paginator

    return undo


def sort_matches() -> Callable[[], None]:
    """A search that matches few rows: sort the matches rather than walk the name index."""
    from crm.customers import views

    flags = {"sort_matches": True}
    if isinstance(views.Paginator, type) and issubclass(views.Paginator, CandidatePaginator):
        flags["cap_count"] = views.Paginator.cap_count
    return _patch_views(**flags)


def capped_count() -> Callable[[], None]:
    """Count at most 1,001 rows: a manager's first page need not count 60,000 accounts."""
    from crm.customers import views

    flags = {"cap_count": True}
    if isinstance(views.Paginator, type) and issubclass(views.Paginator, CandidatePaginator):
        flags["sort_matches"] = views.Paginator.sort_matches
    return _patch_views(**flags)


def trigram_index() -> Callable[[], None]:
    """PostgreSQL: a pg_trgm GIN index, which serves LIKE '%word%' on the search text."""
    if connection.vendor != "postgresql":
        print("  trgm: PostgreSQL only, skipped")
        return lambda: None
    with connection.cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        cursor.execute(
            "CREATE INDEX IF NOT EXISTS bench_account_search_trgm ON customers_account "
            "USING gin (search_text gin_trgm_ops)"
        )
        cursor.execute("ANALYZE customers_account")

    def undo() -> None:
        with connection.cursor() as cursor:
            cursor.execute("DROP INDEX IF EXISTS bench_account_search_trgm")

    return undo


CANDIDATES: dict[str, Callable[[], Callable[[], None]]] = {
    "trgm": trigram_index,
    "sort-matches": sort_matches,
    "capped-count": capped_count,
}
