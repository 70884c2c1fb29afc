"""Benchmark of the time-based automation rules: one cycle of `run_time_rules` over many open
records.

    .venv/bin/python bench/automation.py [--open 100000] [--idle-share 0.3] [--activities 50000]
                                         [--quotes 5000] [--runs 3]

With DATABASE_URL set it runs on that PostgreSQL server, in a database of its own
(crm_bench_automation, created and dropped here); without it on SQLite, in var/bench/. It
migrates (which installs the three default rules), loads demo accounts, bulk-creates --open open
deals (a share idle for more than 14 days, the others touched two days ago), --activities
pending activities on the busy deals (10 % overdue) and --quotes sent quotes valid for 0 to 30
more days, and adds two rules: "an activity is overdue: notify its assignee" and "a quote
expires in 3 days: notify the owner".

Each run measures
  first cycle    the cycle that fires: finds, logs and acts for every matching record
  steady cycle   the next cycle right after it: nothing new to fire (what each hour costs)
  baseline       plain COUNTs over the same candidates (open deals idle by stage date, pending
                 overdue activities, sent quotes in the window): what reading them costs at least
and between runs the rules' work is undone (firings, created activities, notifications), so
every run's first cycle does the same work. It prints a markdown table (medians over --runs)
and writes it to bench/results/automation_*.md. Target (issue): one cycle over 100,000 open
records within 10 s on PostgreSQL.
"""

import argparse
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

os.environ.setdefault("BENCH_DB_NAME", "crm_bench_automation")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import run as base  # noqa: E402  (sets DJANGO_SETTINGS_MODULE)

TARGET_SECONDS = 10.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--open", type=int, default=100_000, help="open opportunities")
    parser.add_argument("--idle-share", type=float, default=0.3)
    parser.add_argument("--activities", type=int, default=50_000, help="pending activities")
    parser.add_argument("--quotes", type=int, default=5_000, help="sent quotes")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="do not drop the database at the end")
    return parser.parse_args()


def load(args) -> dict[str, int]:
    from django.db import transaction
    from django.utils import timezone

    from bench.board import load_deals
    from crm.activities.models import Activity
    from crm.sales.models import Opportunity, Quote, QuoteStatus

    rng = random.Random(args.seed)
    load_deals(open_count=args.open, closed_count=0, seed=args.seed)
    now = timezone.now()
    ids = list(Opportunity.objects.order_by("id").values_list("id", "owner_id", "account_id"))
    busy = [row for row in ids if rng.random() >= args.idle_share]
    with transaction.atomic():
        _touch_in_chunks(busy, now)
        activities = []
        for index in range(args.activities):
            pk, owner, account = busy[index % len(busy)]
            overdue = index % 10 == 0
            activities.append(
                Activity(
                    kind="call",
                    subject=f"Llamada {index}",
                    assignee_id=owner,
                    opportunity_id=pk,
                    account_id=account,
                    due_at=now
                    + timedelta(days=-rng.randint(1, 20) if overdue else rng.randint(1, 30)),
                )
            )
        Activity.objects.bulk_create(activities, batch_size=2000)
        # Back-date them: a deal with only an old activity is idle too.
        Activity.objects.update(
            created_at=now - timedelta(days=2), updated_at=now - timedelta(days=2)
        )
        quotes = []
        for index in range(args.quotes):
            pk, _owner, _account = busy[index % len(busy)]
            quotes.append(
                Quote(
                    opportunity_id=pk,
                    title=f"Presupuesto {index}",
                    year=now.year,
                    sequence=index + 1,
                    number=f"P-{now.year}-{index + 1:04d}",
                    status=QuoteStatus.SENT,
                    sent_at=now - timedelta(days=5),
                    valid_until=(now + timedelta(days=rng.randint(0, 30))).date(),
                )
            )
        Quote.objects.bulk_create(quotes, batch_size=2000)
    return {"busy": len(busy), "idle": len(ids) - len(busy)}


def _touch_in_chunks(busy, now) -> None:
    from crm.sales.models import Opportunity

    for start in range(0, len(busy), 10_000):
        chunk = [pk for pk, _o, _a in busy[start : start + 10_000]]
        Opportunity.objects.filter(pk__in=chunk).update(stage_changed_at=now - timedelta(days=2))


def add_rules(admin) -> None:
    from crm.activities import automation

    automation.automation_rule_save(
        actor=admin,
        fields={
            "name": "Actividad vencida",
            "trigger": "activity.overdue",
            "actions": [
                {"type": "notify", "title": "Vencida: {activity.subject}", "recipient": "owner"}
            ],
        },
    )
    automation.automation_rule_save(
        actor=admin,
        fields={
            "name": "Presupuesto a punto de caducar",
            "trigger": "quote.expiring",
            "days": 3,
            "actions": [{"type": "notify", "title": "Caduca {quote.number}", "recipient": "owner"}],
        },
    )


def undo() -> None:
    """Take back what the rules did, so that the next run's first cycle fires the same."""
    from crm.activities.models import Activity, AutomationFiring
    from crm.alerts.models import Notification

    AutomationFiring.objects.all().delete()
    Activity.objects.filter(automation_rule__isnull=False).delete()
    Notification.objects.all().delete()


def baseline() -> tuple[float, int]:
    from django.utils import timezone

    from crm.activities.models import Activity
    from crm.sales.models import Opportunity, Quote

    now = timezone.now()
    started = time.perf_counter()
    total = (
        Opportunity.objects.filter(
            stage__kind="open", stage_changed_at__lt=now - timedelta(days=14)
        ).count()
        + Activity.objects.filter(status="pending", due_at__lt=now).count()
        + Quote.objects.filter(
            status="sent",
            valid_until__gte=now.date(),
            valid_until__lte=now.date() + timedelta(days=3),
        ).count()
    )
    return time.perf_counter() - started, total


def cycle() -> tuple[float, int]:
    from crm.activities import automation

    started = time.perf_counter()
    fired = automation.run_time_rules()
    return time.perf_counter() - started, sum(fired.values())


def main() -> None:
    args = parse_args()
    from django.conf import settings

    base.prepare_database(settings, reuse=False)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from crm.users.models import Role
    from crm.users.services import user_create

    info = base.machine()
    timings: dict[str, float] = {}
    try:
        with base.stopwatch(timings, "migrate"):
            call_command("migrate", verbosity=0)
        print(f"Loading {args.accounts} demo accounts…", flush=True)
        with base.stopwatch(timings, "seed"):
            call_command("seed_demo", accounts=args.accounts, seed=args.seed, stdout=StringIO())
        print(f"Creating {args.open} open deals, activities and quotes…", flush=True)
        with base.stopwatch(timings, "load"):
            shares = load(args)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        admin = user_create(
            actor=None,
            fields={"username": "bench.admin", "first_name": "Bench", "role": Role.ADMIN},
            password=os.urandom(16).hex(),
        )
        add_rules(admin)
        # What a worker process does once when it starts (not per cycle): load the URLs.
        from django.urls import reverse

        reverse("home")
        runs = []
        for number in range(1, args.runs + 1):
            print(f"Run {number}/{args.runs}…", flush=True)
            undo()
            base_s, candidates = baseline()
            first_s, fired = cycle()
            steady_s, again = cycle()
            runs.append(
                {
                    "baseline": base_s,
                    "first": first_s,
                    "steady": steady_s,
                    "fired": fired,
                    "again": again,
                    "candidates": candidates,
                }
            )
        med = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        lines = [
            f"## Automation cycle benchmark: {info['database']}, {args.open:,} open deals "
            f"({shares['idle']:,} idle), {args.activities:,} pending activities, "
            f"{args.quotes:,} sent quotes",
            "",
            *(f"- {key}: {value}" for key, value in info.items()),
            f"- rules: the 3 default ones + overdue activity (notify) + quote expiring in 3 days "
            f"(notify); runs: {args.runs}, medians",
            f"- records fired by the first cycle: {med['fired']:,.0f} "
            f"(baseline candidates {med['candidates']:,.0f}); by the steady cycle: "
            f"{med['again']:,.0f}",
            f"- target: one cycle <= {TARGET_SECONDS:.0f} s on PostgreSQL",
            "",
            "| measurement | seconds | within target |",
            "| --- | --- | --- |",
            f"| baseline: COUNT of the candidates | {med['baseline']:.2f} | |",
            f"| first cycle (fires, logs, acts) | {med['first']:.2f} | "
            f"{'yes' if med['first'] <= TARGET_SECONDS else '**no**'} |",
            f"| steady cycle (nothing new) | {med['steady']:.2f} | "
            f"{'yes' if med['steady'] <= TARGET_SECONDS else '**no**'} |",
        ]
        report = "\n".join(lines) + "\n"
        print()
        print(report)
        results = base.ROOT / "bench" / "results"
        results.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        name = f"automation_{stamp}-{connection.vendor}-{args.open}.md"
        (results / name).write_text(report, encoding="utf-8")
        print(f"Written to bench/results/{name}")
    finally:
        if not args.keep:
            base.drop_database(settings)


if __name__ == "__main__":
    main()
