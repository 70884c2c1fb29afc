"""Candidate changes to the application, applied only inside a benchmark run to measure them.

    .venv/bin/python bench/run.py --try capped-count,no-server-side-cursors

Nothing here is imported by the application. Each candidate patches the running code or the
connection and returns a function that undoes it. docs/PERFORMANCE.md says what they measured;
the real change belongs in the application's own modules.

Earlier candidates (a trigram index per database, short words on the table, paging a search by
its number of matches) are now in the application: crm/core/search.py.

- capped-count: lists count at most DENSE_MATCHES + 1 rows. A manager's first page no longer
  counts 60,000 visible accounts, nor a two-letter search its 38,000 matches; the page says
  "more than 2,000" and a count above the cap still means "many" to SearchPaginator.
- no-server-side-cursors: PostgreSQL only. Django renders a ModelChoiceField's <select> from
  `queryset.iterator()`, which on PostgreSQL opens a server-side cursor (DECLARE ... WITH HOLD,
  FETCH, CLOSE) per select: five extra round trips per list page for five tiny tables.
"""

from collections.abc import Callable

from django.db import connection


def capped_count() -> Callable[[], None]:
    from crm.core import search

    cap = search.DENSE_MATCHES
    paginator = search.SearchPaginator
    had_own = "count" in paginator.__dict__
    original = paginator.__dict__.get("count")

    def count(self) -> int:
        if "_capped_count" not in self.__dict__:
            # Unordered: an ordered LIMIT would walk the list's sorted index.
            self.__dict__["_capped_count"] = self.object_list.order_by()[: cap + 1].count()
        return self.__dict__["_capped_count"]

    paginator.count = property(count)

    def undo() -> None:
        if had_own:
            paginator.count = original
        else:
            del paginator.count

    return undo


def no_server_side_cursors() -> Callable[[], None]:
    if connection.vendor != "postgresql":
        print("  no-server-side-cursors: PostgreSQL only, skipped")
        return lambda: None
    previous = connection.settings_dict.get("DISABLE_SERVER_SIDE_CURSORS", False)
    connection.settings_dict["DISABLE_SERVER_SIDE_CURSORS"] = True

    def undo() -> None:
        connection.settings_dict["DISABLE_SERVER_SIDE_CURSORS"] = previous

    return undo


CANDIDATES: dict[str, Callable[[], Callable[[], None]]] = {
    "capped-count": capped_count,
    "no-server-side-cursors": no_server_side_cursors,
}
