"""Benchmark of the opportunities board: server time of its first paint.

    .venv/bin/python bench/board.py [--accounts 2000] [--open 5000] [--closed 1000] [--runs 3]

With DATABASE_URL set it runs on that PostgreSQL server, in a database of its own
(crm_bench_board, created and dropped here); without it on SQLite, in var/bench/. It migrates,
loads demo accounts with seed_demo, then bulk-creates --open open deals (plus --closed won or
lost ones) over those accounts, each with its StageChange rows, owned by the accounts' owners.
It measures through the whole Django stack (django.test.Client: middleware, view, filters,
grouped totals, cards, template) as an administrator and as a sales manager:

  /healthz                         the same middleware, one SELECT 1: what any page costs
  /opportunities/board/            the full first paint (the first columns' cards inline)
  /opportunities/board/?owner=...  the same with a filter
  /opportunities/board/columns/ID/ one lazy column (a page of 20 cards)

It prints a markdown table (medians over --runs of each run's p50 / p95 / max) and writes it to
bench/results/board_*.md. The target (issue): first paint p95 <= 300 ms with 5,000 open deals.
"""

import argparse
import os
import random
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO
from pathlib import Path

os.environ.setdefault("BENCH_DB_NAME", "crm_bench_board")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import run as base  # noqa: E402  (sets DJANGO_SETTINGS_MODULE)

TARGET_P95_MS = 300.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--open", type=int, default=5000, help="open opportunities")
    parser.add_argument("--closed", type=int, default=1000, help="won or lost opportunities")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="do not drop the database at the end")
    return parser.parse_args()


def load_deals(*, open_count: int, closed_count: int, seed: int) -> None:
    """Deals over the demo accounts, in bulk, each with the moves that brought it to its stage."""
    from django.db import transaction
    from django.utils import timezone

    from crm.customers.models import Account
    from crm.sales.models import LostReason, Opportunity, Pipeline, StageChange

    rng = random.Random(seed)
    pipeline = Pipeline.objects.get(is_default=True)
    stages = list(pipeline.stages.order_by("position"))
    open_stages = [s for s in stages if s.is_open]
    won = [s for s in stages if s.is_won]
    lost = [s for s in stages if s.is_lost]
    reasons = list(LostReason.objects.all())
    accounts = list(Account.objects.select_related("owner").only("id", "owner", "team", "channel"))
    now = timezone.now()
    deals, paths = [], []
    for index in range(open_count + closed_count):
        account = accounts[index % len(accounts)]
        stage = rng.choice(open_stages) if index < open_count else rng.choice(won + lost)
        path = open_stages[: open_stages.index(stage) + 1] if stage.is_open else open_stages[:2]
        if not stage.is_open:
            path = [*path, stage]
        amount = None if rng.random() < 0.05 else Decimal(rng.randint(300, 90_000))
        created = now - timedelta(days=rng.randint(5, 400))
        deals.append(
            Opportunity(
                title=f"Oportunidad {index + 1} · {account.name[:40]}",
                account_id=account.pk,
                owner_id=account.owner_id,
                team_id=account.owner.team_id,
                channel_id=account.channel_id,
                pipeline=pipeline,
                stage=stage,
                amount=amount,
                probability=stage.probability,
                expected_close_date=(now + timedelta(days=rng.randint(-30, 180))).date(),
                lost_reason=rng.choice(reasons) if stage.is_lost else None,
                closed_at=None if stage.is_open else now,
                stage_changed_at=created,
                search_text=f"oportunidad {index + 1}",
                created_at=created,
            )
        )
        paths.append((path, created))
    with transaction.atomic():
        Opportunity.objects.bulk_create(deals, batch_size=1000)
        changes = []
        for deal, (path, created) in zip(deals, paths, strict=True):
            previous = None
            for step, stage in enumerate(path):
                changes.append(
                    StageChange(
                        opportunity_id=deal.pk,
                        from_stage=previous,
                        to_stage=stage,
                        actor_id=deal.owner_id,
                        changed_at=created + timedelta(days=step * 7),
                    )
                )
                previous = stage
        StageChange.objects.bulk_create(changes, batch_size=2000)


def bench_once(*, clients, paths, requests: int, warmup: int) -> dict:
    results = {}
    for role, client in clients.items():
        for label, path in paths[role]:

            def call(p, client=client):
                base.get_ok(client, p)

            times, _used = base.timed(call, [path], requests=requests, warmup=warmup)
            results[f"{label} as {role}"] = base.summary(times)
    return {"scenarios": results}


def main() -> None:
    args = parse_args()
    from django.conf import settings

    base.prepare_database(settings, reuse=False)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from crm.sales.models import Opportunity, Pipeline
    from crm.users.models import Role, User
    from crm.users.services import user_create

    info = base.machine()
    timings: dict[str, float] = {}
    try:
        with base.stopwatch(timings, "migrate"):
            call_command("migrate", verbosity=0)
        out = StringIO()
        print(f"Loading {args.accounts} demo accounts…", flush=True)
        with base.stopwatch(timings, "seed"):
            call_command("seed_demo", accounts=args.accounts, seed=args.seed, stdout=out)
        print(f"Creating {args.open} open and {args.closed} closed deals…", flush=True)
        with base.stopwatch(timings, "deals"):
            load_deals(open_count=args.open, closed_count=args.closed, seed=args.seed)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        manager = User.objects.filter(role=Role.MANAGER, is_active=True).order_by("pk").first()
        admin = user_create(
            actor=None,
            fields={"username": "bench.admin", "first_name": "Bench", "role": Role.ADMIN},
            password=os.urandom(16).hex(),
        )
        users = {"admin": admin, "manager": manager}
        clients = {}
        for role, user in users.items():
            clients[role] = Client()
            clients[role].force_login(user)
        pipeline = Pipeline.objects.get(is_default=True)
        lazy_stage = pipeline.stages.filter(kind="won").first()
        owner = Opportunity.objects.filter(owner__team=manager.team).values("owner_id").first()
        paths = {
            role: [
                ("GET /healthz (baseline)", "/healthz"),
                ("GET /opportunities/board/ (first paint)", "/opportunities/board/"),
                (
                    "GET /opportunities/board/?owner=… (filtered)",
                    f"/opportunities/board/?owner={owner['owner_id']}",
                ),
                (
                    "GET /opportunities/board/columns/<won>/ (lazy column)",
                    f"/opportunities/board/columns/{lazy_stage.pk}/",
                ),
            ]
            for role in users
        }
        visible = {
            role: Opportunity.objects.visible_to(user).open().count()
            for role, user in users.items()
        }
        runs = []
        for number in range(1, args.runs + 1):
            print(f"Run {number}/{args.runs}…", flush=True)
            runs.append(
                bench_once(clients=clients, paths=paths, requests=args.requests, warmup=args.warmup)
            )
        merged = base.median_of_runs(runs)
        lines = [
            f"## Opportunities board benchmark: {info['database']}, "
            f"{args.open:,} open deals (+{args.closed:,} closed) over {args.accounts:,} accounts",
            "",
            *(f"- {key}: {value}" for key, value in info.items()),
            f"- runs: {args.runs} × {args.requests} timed requests per scenario "
            f"(after {args.warmup} untimed); figures are the median over the runs",
            f"- seed_demo: {timings['seed']:.1f} s; deals and stage history: "
            f"{timings['deals']:.1f} s",
            f"- open deals visible: admin {visible['admin']:,}, manager {visible['manager']:,} "
            f"(team {manager.team})",
            f"- target: board first paint p95 <= {TARGET_P95_MS:.0f} ms",
            "",
            "| scenario | p50 ms | p95 ms | max ms | within target |",
            "| --- | --- | --- | --- | --- |",
        ]
        for name, stats in merged.items():
            mark = ""
            if "first paint" in name or "filtered" in name:
                mark = "yes" if stats["p95"] <= TARGET_P95_MS else "**no**"
            lines.append(
                f"| {name} | {stats['p50']:.1f} | {stats['p95']:.1f} | {stats['max']:.1f} "
                f"| {mark} |"
            )
        report = "\n".join(lines) + "\n"
        print()
        print(report)
        results = base.ROOT / "bench" / "results"
        results.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        name = f"board_{stamp}-{connection.vendor}-{args.open}.md"
        (results / name).write_text(report, encoding="utf-8")
        print(f"Written to bench/results/{name}")
    finally:
        if not args.keep:
            base.drop_database(settings)


if __name__ == "__main__":
    main()
