"""Benchmark of the account list: how long the server takes to answer a search.

    .venv/bin/python bench/run.py [--accounts 100000] [--runs 3] [--requests 200]

With DATABASE_URL set it runs on that PostgreSQL server, in a database of its own (crm_bench,
created and dropped here); without it on SQLite, in var/bench/. It migrates, loads demo data
with seed_demo (timed), then measures server time through the whole Django stack
(django.test.Client: middleware, view, filter, paginator, template) as a sales manager and as
an administrator, next to baselines that go through the same stack or the same database:

  /healthz            the same middleware, one SELECT 1: what any page costs at least
  raw query           Account.objects.filter(<search>)[:25], no view, no visibility, no count
  search              /accounts/?q=<term>, terms of several kinds (name, city, NIF, phone...)
  search (htmx)       the same, as the results fragment that typing in the search box asks for
  list                /accounts/ (first page) and /accounts/?sort=-created

--try NAME[,NAME] measures candidate changes to the application (bench/fixes.py).

It prints a markdown table (medians over --runs of each run's p50 / p95 / max) and writes it,
with the per-term figures and the query plans, to bench/results/. This measures; it never
fails on a figure. The target (issue): search p95 <= 100 ms with 100,000 accounts.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from contextlib import contextmanager
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
# WhiteNoise looks for collected static files, which a benchmark does not need.
warnings.filterwarnings("ignore", message="No directory at")

TARGET_P95_MS = 100.0
NO_MATCH = "zxqwv"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3, help="rounds of measures (median)")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per scenario")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests per scenario")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep using an existing benchmark database if it has --accounts accounts",
    )
    parser.add_argument("--keep", action="store_true", help="do not drop the database at the end")
    parser.add_argument(
        "--try",
        dest="candidates",
        default="",
        help="comma-separated candidate fixes to measure (bench/fixes.py): "
        "capped-count, no-server-side-cursors",
    )
    return parser.parse_args()


# -- database set-up (before Django starts: it must not connect to a database being created) --


def _postgres_admin_connection():
    import dj_database_url
    import psycopg

    params = dj_database_url.parse(os.environ["DATABASE_URL"])
    return psycopg.connect(
        dbname="postgres",
        user=params.get("USER") or None,
        password=params.get("PASSWORD") or None,
        host=params.get("HOST") or None,
        port=params.get("PORT") or None,
        autocommit=True,
    )


def _postgres_exists(name: str) -> bool:
    with _postgres_admin_connection() as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    return row is not None


def _postgres_recreate(name: str) -> None:
    from psycopg import sql

    with _postgres_admin_connection() as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _postgres_drop(name: str) -> None:
    from psycopg import sql

    with _postgres_admin_connection() as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def _sqlite_files(path: Path) -> list[Path]:
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


def prepare_database(settings, *, reuse: bool) -> bool:
    """Create an empty benchmark database unless reusing one; True when it was (re)created."""
    db = settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.sqlite3":
        path = Path(db["NAME"])
        path.parent.mkdir(parents=True, exist_ok=True)
        if reuse and path.exists():
            return False
        for file in _sqlite_files(path):
            file.unlink(missing_ok=True)
        return True
    if reuse and _postgres_exists(db["NAME"]):
        return False
    _postgres_recreate(db["NAME"])
    return True


def drop_database(settings) -> None:
    from django.db import connections

    connections.close_all()
    db = settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.sqlite3":
        for file in _sqlite_files(Path(db["NAME"])):
            file.unlink(missing_ok=True)
    else:
        _postgres_drop(db["NAME"])


# -- measuring ---------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (p95 of 200 values is the 190th smallest)."""
    ordered = sorted(values)
    rank = max(1, round(fraction * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


def summary(times_ms: list[float]) -> dict[str, float]:
    return {
        "p50": statistics.median(times_ms),
        "p95": percentile(times_ms, 0.95),
        "max": max(times_ms),
        "n": len(times_ms),
    }


def timed(call, arguments: list, *, requests: int, warmup: int) -> tuple[list[float], list]:
    """Call `call(argument)` cycling over the arguments; return ms per call and the arguments."""
    for i in range(warmup):
        call(arguments[i % len(arguments)])
    times, used = [], []
    for i in range(requests):
        argument = arguments[i % len(arguments)]
        started = time.perf_counter()
        call(argument)
        times.append((time.perf_counter() - started) * 1000)
        used.append(argument)
    return times, used


def get_ok(client, path: str, query: dict | None = None, **headers) -> None:
    response = client.get(path, query, secure=True, headers=headers)
    if response.status_code != 200:
        raise SystemExit(f"GET {path} answered {response.status_code}: the benchmark cannot run")


@contextmanager
def stopwatch(into: dict, key: str):
    started = time.perf_counter()
    yield
    into[key] = time.perf_counter() - started


def choose_terms(accounts_total: int) -> list[tuple[str, str]]:
    """Realistic searches, taken from the data itself so that they match what was loaded."""
    from crm.customers.models import Account

    middle = Account.objects.order_by("pk")[accounts_total // 2 : accounts_total // 2 + 1].get()
    third = (
        Account.objects.exclude(phone="")
        .order_by("pk")[accounts_total // 3 : accounts_total // 3 + 1]
        .get()
    )
    return [
        ("company name word", "construcciones"),
        ("city", "getafe"),
        ("common city", "madrid"),
        ("first letters, as typed", "ma"),
        ("part of a NIF", middle.nif[1:7]),
        ("part of a phone", third.phone[3:9]),
        ("no match", NO_MATCH),
        ("accented (folded)", "Muñoz"),
        ("two words", "reformas madrid"),
    ]


def bench_once(*, clients, terms, requests: int, warmup: int) -> dict:
    from crm.customers.models import Account
    from crm.customers.selectors import search_filter

    results: dict[str, dict] = {}
    per_term: dict[str, dict[str, list[float]]] = {}
    words = [term for _kind, term in terms]
    manager = clients["manager"]

    times, _ = timed(
        lambda _: get_ok(manager, "/healthz"), [None], requests=requests, warmup=warmup
    )
    results["GET /healthz (baseline, manager session)"] = summary(times)
    times, _ = timed(
        lambda term: list(Account.objects.filter(search_filter(term))[:25]),
        words,
        requests=requests,
        warmup=warmup,
    )
    results["raw Account.objects.filter(search)[:25] (baseline)"] = summary(times)
    for role, client in clients.items():
        times, used = timed(
            lambda term, c=client: get_ok(c, "/accounts/", {"q": term}),
            words,
            requests=requests,
            warmup=warmup,
        )
        results[f"GET /accounts/?q=<term> as {role}"] = summary(times)
        for term, ms in zip(used, times, strict=True):
            per_term.setdefault(term, {}).setdefault(role, []).append(ms)
    for role, client in clients.items():
        # What typing in the search box sends: htmx asks for the results fragment only.
        times, _ = timed(
            lambda term, c=client: get_ok(c, "/accounts/", {"q": term}, **{"HX-Request": "true"}),
            words,
            requests=requests,
            warmup=warmup,
        )
        results[f"GET /accounts/?q=<term> htmx fragment as {role}"] = summary(times)
    for role, client in clients.items():
        for label, query in (("first page", {}), ("sort=-created", {"sort": "-created"})):
            times, _ = timed(
                lambda q, c=client: get_ok(c, "/accounts/", q),
                [query],
                requests=requests,
                warmup=warmup,
            )
            results[f"GET /accounts/ {label} as {role}"] = summary(times)
    return {"scenarios": results, "per_term": per_term}


def median_of_runs(runs: list[dict]) -> dict[str, dict[str, float]]:
    merged: dict[str, dict[str, float]] = {}
    for name in runs[0]["scenarios"]:
        merged[name] = {
            key: statistics.median(run["scenarios"][name][key] for run in runs)
            for key in ("p50", "p95", "max")
        }
    return merged


def per_term_table(runs: list[dict], terms, matches) -> list[str]:
    lines = [
        "| kind | term | matches (manager / admin) | manager p50 / p95 ms | admin p50 / p95 ms |",
        "| --- | --- | --- | --- | --- |",
    ]
    for kind, term in terms:
        cells = []
        for role in ("manager", "admin"):
            samples = [ms for run in runs for ms in run["per_term"][term][role]]
            cells.append(f"{statistics.median(samples):.1f} / {percentile(samples, 0.95):.1f}")
        lines.append(
            f"| {kind} | `{term}` | {matches[term]['manager']} / {matches[term]['admin']} | "
            f"{cells[0]} | {cells[1]} |"
        )
    return lines


def diagnose(users, terms) -> tuple[dict, list[str]]:
    """Matches per term, and where the time of one search goes (COUNT vs page query)."""
    from django.test import RequestFactory

    from crm.customers.filters import AccountFilter
    from crm.customers.selectors import account_list_for_user

    matches: dict[str, dict[str, int]] = {}
    lines = [
        "| user | term | COUNT(*) ms | page query ms |",
        "| --- | --- | --- | --- |",
    ]
    plans = []
    factory = RequestFactory()
    for role, user in users.items():
        for _kind, term in terms:
            request = factory.get("/accounts/", {"q": term})
            request.user = user
            qs = AccountFilter(
                request.GET, queryset=account_list_for_user(user=user), request=request
            ).qs
            matches.setdefault(term, {})[role] = qs.count()
            count_ms = statistics.median(_ms(lambda q=qs: q.count()) for _ in range(9))
            page_ms = statistics.median(_ms(lambda q=qs: list(q[:25])) for _ in range(9))
            lines.append(f"| {role} | `{term}` | {count_ms:.1f} | {page_ms:.1f} |")
            if term in (NO_MATCH, terms[0][1]):
                plans.append(f"#### {role}, q={term}: page query\n\n```\n{qs[:25].explain()}\n```")
                plans.append(f"#### {role}, q={term}: SQL\n\n```sql\n{qs[:25].query}\n```")
    return matches, lines + [""] + plans


def _ms(call) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def machine() -> dict[str, str]:
    from django.db import connection

    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("select sqlite_version()")
            database = f"SQLite {cursor.fetchone()[0]}"
        else:
            cursor.execute("show server_version")
            database = f"PostgreSQL {cursor.fetchone()[0]}"
    import django

    try:
        commit = subprocess.run(
            ["git", "describe", "--always", "--dirty"],  # noqa: S607
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": f"{cpu}, {os.cpu_count()} cores",
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "python": platform.python_version(),
        "django": django.get_version(),
        "database": database,
        "code": commit or "unknown",
    }


def main() -> None:
    args = parse_args()
    from django.conf import settings

    created = prepare_database(settings, reuse=args.reuse)

    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from bench.fixes import CANDIDATES
    from crm.customers.models import Account
    from crm.users.models import Role, User
    from crm.users.services import user_create

    candidates = [name.strip() for name in args.candidates.split(",") if name.strip()]
    unknown = set(candidates) - set(CANDIDATES)
    if unknown:
        raise SystemExit(f"Unknown candidate fixes: {sorted(unknown)}; known: {sorted(CANDIDATES)}")
    info = machine()
    timings: dict[str, float] = {}
    with stopwatch(timings, "migrate"):
        call_command("migrate", verbosity=0)
    if not created and Account.objects.count() != args.accounts:
        raise SystemExit(
            f"The existing benchmark database has {Account.objects.count()} accounts, "
            f"not {args.accounts}; run without --reuse."
        )
    seed_output = ""
    if created or not Account.objects.exists():
        out = StringIO()
        print(f"Loading {args.accounts} demo accounts…", flush=True)
        with stopwatch(timings, "seed"):
            call_command("seed_demo", accounts=args.accounts, seed=args.seed, stdout=out)
        seed_output = out.getvalue().strip().splitlines()[-1]
        print(seed_output, flush=True)

    manager = User.objects.filter(role=Role.MANAGER, is_active=True).order_by("pk").first()
    admin = User.objects.filter(username="bench.admin").first() or user_create(
        actor=None,
        fields={"username": "bench.admin", "first_name": "Bench", "role": Role.ADMIN},
        password=os.urandom(16).hex(),
    )
    users = {"manager": manager, "admin": admin}
    clients = {}
    for role, user in users.items():
        clients[role] = Client()
        clients[role].force_login(user)
    visible = {role: Account.objects.visible_to(user).count() for role, user in users.items()}
    terms = choose_terms(args.accounts)
    undo = []
    for name in candidates:
        print(f"Trying {name}…", flush=True)
        undo.append(CANDIDATES[name]())

    runs = []
    for number in range(1, args.runs + 1):
        print(f"Run {number}/{args.runs}…", flush=True)
        runs.append(
            bench_once(clients=clients, terms=terms, requests=args.requests, warmup=args.warmup)
        )
    matches, diagnosis = diagnose(users, terms)
    for undo_one in reversed(undo):
        undo_one()

    merged = median_of_runs(runs)
    healthz = merged["GET /healthz (baseline, manager session)"]["p95"]
    raw = merged["raw Account.objects.filter(search)[:25] (baseline)"]["p95"]
    lines = [
        f"## Account list benchmark: {info['database']}, {args.accounts:,} accounts",
        "",
        *(f"- {key}: {value}" for key, value in info.items()),
        f"- runs: {args.runs} × {args.requests} timed requests per scenario "
        f"(after {args.warmup} untimed); figures are the median over the runs",
        f"- seed_demo: {timings.get('seed', 0):.1f} s ({seed_output or 'reused database'})",
        f"- visible accounts: manager {visible['manager']:,} (team {manager.team}), "
        f"admin {visible['admin']:,}",
        f"- target: search p95 <= {TARGET_P95_MS:.0f} ms",
        f"- candidate fixes applied (bench/fixes.py): {', '.join(candidates) or 'none'}",
        "",
        "| scenario | p50 ms | p95 ms | max ms | p95 / healthz p95 | p95 / raw p95 |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, stats in merged.items():
        mark = ""
        if "q=<term> as" in name:
            mark = " ✅" if stats["p95"] <= TARGET_P95_MS else " ❌"
        lines.append(
            f"| {name}{mark} | {stats['p50']:.1f} | {stats['p95']:.1f} | {stats['max']:.1f} | "
            f"{stats['p95'] / healthz:.1f}× | {stats['p95'] / raw:.1f}× |"
        )
    lines += ["", "### Search, by term (all runs together)", ""]
    lines += per_term_table(runs, terms, matches)
    table = "\n".join(lines)
    print("\n" + table + "\n")

    results_dir = ROOT / "bench" / "results"
    results_dir.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    vendor = "sqlite" if "SQLite" in info["database"] else "postgresql"
    suffix = "".join(f"+{name}" for name in candidates)
    report = results_dir / f"{stamp}-{vendor}-{args.accounts}{suffix}.md"
    report.write_text(
        table
        + "\n\n### Where a search's database time goes (median of 9, outside the view)\n\n"
        + "\n".join(diagnosis)
        + "\n"
    )
    report.with_suffix(".json").write_text(
        json.dumps({"info": info, "args": vars(args), "timings": timings, "runs": runs}, indent=1)
    )
    print(f"Written to {report.relative_to(ROOT)}")

    if not (args.keep or args.reuse):
        drop_database(settings)


if __name__ == "__main__":
    main()
