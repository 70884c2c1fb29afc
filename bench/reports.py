"""Benchmark of the dashboard and the reports: server time on a large PostgreSQL database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/reports.py --reuse [--runs 3] [--requests 5] [--only REGEX]

PostgreSQL only. It creates and migrates a database of its own (crm_bench_reports, --database)
and fills it with set-based SQL (INSERT ... SELECT ... FROM generate_series, random()):
48 users in 6 teams, 50,000 accounts, 1,000,000 opportunities over six fiscal years with their
stage history (sales_stagechange, left_at filled), 300,000 leads (a fifth converted into those
deals), 400,000 quotes with about three lines each over 500 products in 20 categories, and
2,000,000 activities; then VACUUM ANALYZE. --scale multiplies every count (0.01 for a quick
try). Generating takes minutes: --reuse keeps using the database when it holds that data
(checked by counting), --keep leaves it in place at the end (--reuse implies it).

It then measures server time through the whole Django stack (django.test.Client: middleware,
view, metrics, template) as an administrator, a sales manager of one team and a sales rep:

  baselines           /healthz (one SELECT 1) and a raw SELECT count(*) FROM sales_opportunity
  dashboard           /?period=month|year|custom (target 500 ms)
  reports             /reports/pipeline/, /reports/?measure=&dimension=&granularity=&view=
                      for every measure and ratio, every dimension, view and granularity, and a
                      ten-year custom period; /reports/planning/ and the drill-down
                      /reports/records/ (target 1 s)

A URL that does not answer 200 is reported with its status and the start of its body, and not
timed. Figures are the median over --runs rounds of each round's p50 / p95 / max. It prints a
markdown table, with the ratios to the baselines, and writes it to
bench/results/reports_<date>.md with EXPLAIN (ANALYZE, BUFFERS) of the slowest page's slowest
queries and the process's peak RSS. This measures; it never fails on a figure.

The target (issue 6): with 1,000,000 opportunities and 2,000,000 activities, the dashboard in
at most 500 ms and any report view in at most 1 s of server time.
"""

import argparse
import datetime as dt
import json
import os
import re
import resource
import statistics
import sys
import time
from collections.abc import Callable
from html import unescape
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import run as base  # noqa: E402  (sets DJANGO_SETTINGS_MODULE)

DEFAULT_DATABASE = "crm_bench_reports"
TARGET_DASHBOARD_MS = 500.0
TARGET_REPORT_MS = 1000.0
TIME_ZONE = "Europe/Madrid"
RAW_QUERY = "SELECT count(*) FROM sales_opportunity"  # the database baseline
FOLD_FROM = "áàâäãéèêëíìîïóòôöõúùûüñçÁÀÂÄÃÉÈÊËÍÌÎÏÓÒÔÖÕÚÙÛÜÑÇ"
FOLD_TO = "aaaaaeeeeiiiiooooouuuuncaaaaaeeeeiiiiooooouuuunc"

# What is generated at --scale 1 (the figures, and a plausible business around them).
SIZES = {
    "accounts": 50_000,
    "opportunities": 1_000_000,
    "leads": 300_000,
    "quotes": 400_000,
    "activities": 2_000_000,
    "products": 500,
}
TABLES = {
    "accounts": "customers_account",
    "opportunities": "sales_opportunity",
    "leads": "leads_lead",
    "quotes": "sales_quote",
    "activities": "activities_activity",
    "products": "sales_product",
}
# Tables loaded in bulk: their secondary indexes are dropped first and built again at the end
# (from their own definitions), which is several times faster than maintaining them row by row.
BULK_TABLES = [
    "customers_account",
    "sales_opportunity",
    "sales_stagechange",
    "leads_lead",
    "sales_quote",
    "sales_quoteline",
    "activities_activity",
]
# (child table, column, parent table) checked after a load that ran without foreign key
# triggers: every reference must exist.
FOREIGN_KEYS = [
    ("customers_account", "owner_id", "users_user"),
    ("customers_account", "sector_id", "core_sector"),
    ("customers_account", "channel_id", "core_channel"),
    ("sales_opportunity", "account_id", "customers_account"),
    ("sales_opportunity", "owner_id", "users_user"),
    ("sales_opportunity", "stage_id", "sales_stage"),
    ("sales_opportunity", "lost_reason_id", "sales_lostreason"),
    ("sales_stagechange", "opportunity_id", "sales_opportunity"),
    ("sales_stagechange", "to_stage_id", "sales_stage"),
    ("leads_lead", "converted_opportunity_id", "sales_opportunity"),
    ("leads_lead", "converted_account_id", "customers_account"),
    ("leads_lead", "disqualify_reason_id", "leads_disqualifyreason"),
    ("leads_lead", "owner_id", "users_user"),
    ("sales_quote", "opportunity_id", "sales_opportunity"),
    ("sales_quoteline", "quote_id", "sales_quote"),
    ("sales_quoteline", "product_id", "sales_product"),
    ("sales_product", "category_id", "sales_productcategory"),
    ("activities_activity", "opportunity_id", "sales_opportunity"),
    ("activities_activity", "account_id", "customers_account"),
    ("activities_activity", "lead_id", "leads_lead"),
    ("activities_activity", "assignee_id", "users_user"),
]

TEAMS = ["Norte", "Sur", "Este", "Oeste", "Centro", "Islas"]
# Manager -> the teams they lead (the first is their own). The first leads one team only: the
# benchmark's manager.
MANAGERS = {
    ("marta.iglesias", "Marta", "Iglesias"): ["Norte"],
    ("manuel.romero", "Manuel", "Romero"): ["Sur", "Este"],
    ("elena.castro", "Elena", "Castro"): ["Oeste", "Centro", "Islas"],
}
ADMINS = [("bench.admin", "Bench", "Admin"), ("laura.serrano", "Laura", "Serrano")]
REPS = 43
EXTRA_CATEGORIES = [
    "Software",
    "Hardware",
    "Redes",
    "Seguridad",
    "Formación",
    "Consultoría",
    "Cloud",
    "Telefonía",
    "Impresión",
    "Mobiliario",
    "Iluminación",
    "Climatización",
    "Energía solar",
    "Licencias",
    "Soporte",
    "Marketing",
    "Logística",
]
DEAL_WORDS = [
    "Renovación del contrato",
    "Mantenimiento anual",
    "Instalación",
    "Ampliación",
    "Suministro",
    "Proyecto",
    "Licencias",
    "Consultoría",
    "Formación del equipo",
    "Reforma",
    "Migración a la nube",
    "Auditoría",
]
STREETS = [
    "Calle Mayor",
    "Calle Real",
    "Avenida de la Constitución",
    "Gran Vía",
    "Calle del Sol",
    "Plaza de España",
    "Paseo de la Estación",
    "Calle de Cervantes",
    "Avenida de Europa",
    "Calle de la Industria",
    "Ronda del Comercio",
    "Calle Nueva",
]
LEGAL_FORMS = ["S.L.", "S.L.", "S.L.", "S.L.", "S.L.U.", "S.A.", "S.Coop.", "C.B."]
ACTIVITY_SUBJECTS = {
    "task": ["Preparar la propuesta", "Enviar documentación", "Revisar el contrato"],
    "call": ["Llamada de seguimiento", "Primer contacto", "Llamar para cerrar"],
    "meeting": ["Reunión de presentación", "Reunión de negociación", "Demostración"],
    "email": ["E-mail con la oferta", "E-mail de seguimiento", "Enviar catálogo"],
    "visit": ["Visita comercial", "Visita técnica", "Visita a la obra"],
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", default=DEFAULT_DATABASE, help="benchmark database name")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every count")
    parser.add_argument("--seed", type=float, default=0.42, help="setseed() of the generator")
    parser.add_argument("--runs", type=int, default=3, help="rounds of measures (median)")
    parser.add_argument("--requests", type=int, default=5, help="timed requests per URL")
    parser.add_argument("--warmup", type=int, default=1, help="untimed requests per URL")
    parser.add_argument(
        "--roles", default="admin,manager,rep", help="comma-separated: admin, manager, rep"
    )
    parser.add_argument("--only", default="", help="time only the URLs matching this regex")
    parser.add_argument("--explain", type=int, default=3, help="slowest queries to EXPLAIN")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep using the database if it already holds the data (implies --keep)",
    )
    parser.add_argument("--keep", action="store_true", help="do not drop the database at the end")
    parser.add_argument("--generate-only", action="store_true", help="generate, do not time")
    return parser.parse_args()


def sizes_for(scale: float) -> dict[str, int]:
    sizes = {key: max(1, round(value * scale)) for key, value in SIZES.items()}
    sizes["products"] = max(20, sizes["products"])
    sizes["accounts"] = max(50, sizes["accounts"])
    return sizes


def peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- generation ---------------------------------------------------------------------------------


class Loader:
    """Runs the generator's statements on Django's connection, timing and printing each."""

    def __init__(self, cursor):
        self.cursor = cursor
        self.timings: dict[str, float] = {}
        self.now = None  # the generation's "now", one moment for every statement

    def run(self, label: str, sql: str, params: dict | None = None) -> int:
        started = time.perf_counter()
        self.cursor.execute(sql, params)
        elapsed = time.perf_counter() - started
        self.timings[label] = self.timings.get(label, 0.0) + elapsed
        rows = self.cursor.rowcount
        shown = f"{rows:,} rows" if rows and rows > 0 else ""
        print(f"  {label:<42} {elapsed:7.1f} s  {shown}", flush=True)
        return rows

    def value(self, sql: str, params: dict | None = None):
        self.cursor.execute(sql, params)
        return self.cursor.fetchone()[0]

    def words(self, table: str, words: list[str] | tuple[str, ...]) -> int:
        """A temporary table `table` (k, word), k from 1: pick one with k = 1 + floor(r * n)."""
        self.cursor.execute(f"CREATE TEMP TABLE {table} (k int PRIMARY KEY, word text NOT NULL)")
        self.cursor.executemany(
            f"INSERT INTO {table} VALUES (%s, %s)",  # noqa: S608 - a constant table name
            list(enumerate(words, start=1)),
        )
        return len(words)


def counts() -> dict[str, int]:
    from django.db import connection

    found = {}
    with connection.cursor() as cursor:
        for key, table in TABLES.items():
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - constant names
            found[key] = cursor.fetchone()[0]
    return found


def create_people() -> None:
    """Teams, managers, reps and administrators (48 users); none can log in with a password,
    the benchmark logs them in with force_login."""
    from django.contrib.auth.hashers import make_password

    from crm.core.models import Channel, Sector
    from crm.customers.management.commands.seed_demo import (
        COMMON_SURNAMES,
        FEMALE_NAMES,
        MALE_NAMES,
    )
    from crm.users.models import Role, Team, User

    if not Channel.objects.exists():
        Channel.objects.bulk_create(
            Channel(name=name, position=i) for i, name in enumerate(["Web", "Teléfono", "Feria"])
        )
    if not Sector.objects.exists():
        Sector.objects.bulk_create(
            Sector(name=name, position=i)
            for i, name in enumerate(["Comercio", "Industria", "Servicios profesionales"])
        )
    unusable = make_password(None)
    teams = {name: Team.objects.create(name=name) for name in TEAMS}
    for username, first, last in ADMINS:
        User.objects.create(
            username=username,
            first_name=first,
            last_name=last,
            role=Role.ADMIN,
            password=unusable,
            email=f"{username}@example.es",
        )
    for (username, first, last), led in MANAGERS.items():
        manager = User.objects.create(
            username=username,
            first_name=first,
            last_name=last,
            role=Role.MANAGER,
            team=teams[led[0]],
            password=unusable,
            email=f"{username}@example.es",
        )
        for name in led:
            Team.objects.filter(pk=teams[name].pk).update(manager=manager)
    first_names = [*FEMALE_NAMES, *MALE_NAMES]
    reps = []
    for index in range(REPS):
        first = first_names[(index * 7) % len(first_names)]
        last = COMMON_SURNAMES[(index * 11) % len(COMMON_SURNAMES)]
        username = f"rep{index + 1:02d}"
        reps.append(
            User(
                username=username,
                first_name=first,
                last_name=last,
                role=Role.SALES,
                team=teams[TEAMS[index % len(TEAMS)]],
                password=unusable,
                email=f"{username}@example.es",
            )
        )
    User.objects.bulk_create(reps)


def create_catalog(load: Loader, *, products: int) -> None:
    """Twenty categories (the migration's three and more) and the products."""
    from crm.sales.models import ProductCategory

    existing = set(ProductCategory.objects.values_list("name", flat=True))
    ProductCategory.objects.bulk_create(
        ProductCategory(name=name, position=10 + i)
        for i, name in enumerate(EXTRA_CATEGORIES)
        if name not in existing
    )
    load.run(
        "products",
        """
        INSERT INTO sales_product (code, name, description, kind, category_id, unit, unit_price,
            vat_rate, recurrence, is_active, search_text, created_at, updated_at)
        SELECT 'P-' || lpad(g.i::text, 4, '0'), x.name, '', x.kind, x.category_id, x.unit,
            x.price, '21', x.recurrence, true,
            pg_temp.fold(concat_ws(' ', 'P-' || lpad(g.i::text, 4, '0'), x.name)),
            %(now)s::timestamptz - interval '7 years', %(now)s::timestamptz - interval '7 years'
        FROM generate_series(1, %(n)s) g(i)
        CROSS JOIN LATERAL (
            SELECT c.name || ' ' || (ARRAY['Básico', 'Estándar', 'Pro', 'Plus', 'Premium',
                       'Empresa', 'Lite', 'XL'])[1 + mod(g.i, 8)] || ' ' || g.i AS name,
                   CASE WHEN mod(g.i, 3) = 0 THEN 'service' ELSE 'product' END AS kind,
                   CASE WHEN mod(g.i, 3) = 0 THEN 'h' ELSE 'ud.' END AS unit,
                   CASE WHEN mod(g.i, 7) = 0 THEN 'monthly' WHEN mod(g.i, 11) = 0 THEN 'yearly'
                        ELSE 'one_off' END AS recurrence,
                   round((10 * power(200, mod(g.i * 37, 100) / 100.0))::numeric, 2) AS price,
                   c.id AS category_id
            FROM (SELECT id, name, row_number() OVER (ORDER BY id) AS n
                  FROM sales_productcategory) c
            WHERE c.n = 1 + mod(g.i, (SELECT count(*) FROM sales_productcategory))
        ) x
        """,
        {"n": products, "now": load.now},
    )


def create_lookups(load: Loader) -> dict[str, int]:
    """Temporary tables the generator picks from: places, names, words, owners, weighted
    channels and sectors. Returns how many rows each has."""
    from crm.core.models import Channel, Sector
    from crm.customers.management.commands.seed_demo import (
        CHANNEL_WEIGHTS,
        COMMON_SURNAMES,
        FANTASY,
        FEMALE_NAMES,
        MALE_NAMES,
        PROVINCE_DATA,
        SECTOR_WEIGHTS,
        SECTOR_WORDS,
    )
    from crm.users.models import Role, User

    cursor = load.cursor
    sizes: dict[str, int] = {}
    sizes["first"] = load.words("w_first", [*FEMALE_NAMES, *MALE_NAMES])
    sizes["surname"] = load.words("w_surname", COMMON_SURNAMES)
    sizes["fantasy"] = load.words("w_fantasy", FANTASY)
    sizes["legal"] = load.words("w_legal", LEGAL_FORMS)
    sizes["street"] = load.words("w_street", STREETS)
    sizes["deal"] = load.words("w_deal", DEAL_WORDS)

    # A place is picked about in proportion to the province's population; a province's first
    # city (its capital) three times as often as each of the others.
    places = []
    for code, (weight, area_codes, cities) in PROVINCE_DATA.items():
        for position, (city, first_postal, span) in enumerate(cities):
            for _ in range(weight * (3 if position == 0 else 1)):
                places.append((code, city, int(first_postal), span, area_codes[0]))
    cursor.execute(
        "CREATE TEMP TABLE w_place (n serial PRIMARY KEY, province text, city text,"
        " postal int, span int, area text)"
    )
    cursor.executemany(
        "INSERT INTO w_place (province, city, postal, span, area) VALUES (%s, %s, %s, %s, %s)",
        places,
    )
    sizes["place"] = len(places)

    channels = []
    for channel in Channel.objects.order_by("position", "id"):
        channels += [channel.pk] * CHANNEL_WEIGHTS.get(channel.name, 3)
    cursor.execute("CREATE TEMP TABLE w_channel (n serial PRIMARY KEY, id bigint)")
    cursor.executemany("INSERT INTO w_channel (id) VALUES (%s)", [(pk,) for pk in channels])
    sizes["channel"] = len(channels)

    # Sectors by weight, each with the words that start its companies' names.
    cursor.execute(
        "CREATE TEMP TABLE w_sector (n serial PRIMARY KEY, id bigint, words int)"
        "; CREATE TEMP TABLE w_sector_word (sector_id bigint, k int, word text,"
        " PRIMARY KEY (sector_id, k))"
    )
    sector_rows, word_rows = [], []
    for sector in Sector.objects.order_by("position", "id"):
        words = SECTOR_WORDS.get(sector.name) or ("Servicios", "Comercial", "Grupo")
        weight = SECTOR_WEIGHTS.get(sector.name, 3) or 1
        sector_rows += [(sector.pk, len(words))] * weight
        word_rows += [(sector.pk, k, word) for k, word in enumerate(words, start=1)]
    cursor.executemany("INSERT INTO w_sector (id, words) VALUES (%s, %s)", sector_rows)
    cursor.executemany("INSERT INTO w_sector_word VALUES (%s, %s, %s)", word_rows)
    sizes["sector"] = len(sector_rows)

    # Owners of records: the reps, and the managers a little (they sell too).
    owners = []
    for user in User.objects.filter(role__in=[Role.SALES, Role.MANAGER]).order_by("pk"):
        owners += [(user.pk, user.team_id)] * (3 if user.role == Role.SALES else 1)
    cursor.execute("CREATE TEMP TABLE w_owner (n serial PRIMARY KEY, id bigint, team_id bigint)")
    cursor.executemany("INSERT INTO w_owner (id, team_id) VALUES (%s, %s)", owners)
    sizes["owner"] = len(owners)

    # The product catalog, numbered.
    cursor.execute(
        "CREATE TEMP TABLE w_product AS SELECT row_number() OVER (ORDER BY id) AS n, id, name,"
        " unit, unit_price, vat_rate, recurrence FROM sales_product"
        "; ALTER TABLE w_product ADD PRIMARY KEY (n)"
    )
    sizes["product"] = load.value("SELECT count(*) FROM w_product")
    return sizes


def create_accounts(load: Loader, *, n: int, w: dict[str, int]) -> None:
    load.run(
        "accounts",
        """
        INSERT INTO customers_account (id, kind, name, nif, lifecycle, phone, email, website,
            sector_id, size_segment, channel_id, owner_id, team_id, notes, billing_street,
            billing_postal_code, billing_city, billing_province, billing_country,
            shipping_street, shipping_postal_code, shipping_city, shipping_province,
            shipping_country, created_by_id, updated_by_id, search_text, created_at,
            updated_at)
        SELECT row_number() OVER (ORDER BY x.created_at), x.kind, x.name, x.nif, x.lifecycle,
            x.phone, x.email, '', x.sector_id, x.size_segment, x.channel_id, x.owner_id,
            x.team_id, '', x.street, x.postal, x.city, x.province, 'ES', '', '', '', '', 'ES',
            x.owner_id, NULL,
            pg_temp.fold(concat_ws(' ', x.name, x.nif, x.email, x.phone, x.city)),
            x.created_at, x.created_at
        FROM (
            SELECT
                CASE WHEN g.r_kind < 0.1 THEN 'individual' ELSE 'company' END AS kind,
                CASE WHEN g.r_kind < 0.1 THEN fn.word || ' ' || sn.word || ' ' || sn2.word
                     WHEN g.r_kind < 0.4 THEN sw.word || ' ' || fa.word || ' ' || lf.word
                     ELSE sw.word || ' ' || sn.word || ' ' || lf.word END AS name,
                CASE WHEN g.r_nif < 0.15 THEN ''
                     WHEN g.r_kind < 0.1 THEN lpad(floor(g.r_num * 1e8)::bigint::text, 8, '0')
                                              || 'X'
                     ELSE (CASE WHEN lf.word = 'S.A.' THEN 'A' ELSE 'B' END)
                          || lpad(floor(g.r_num * 1e8)::bigint::text, 8, '0') END AS nif,
                CASE WHEN g.r_life < 0.45 THEN 'customer' WHEN g.r_life < 0.9 THEN 'prospect'
                     ELSE 'inactive' END AS lifecycle,
                CASE WHEN g.r_phone < 0.1 THEN ''
                     ELSE '+34' || p.area || lpad(floor(g.r_num * power(10, 9 - length(p.area)))
                                                  ::bigint::text, 9 - length(p.area), '0')
                     END AS phone,
                (ARRAY['info', 'contacto', 'administracion', 'ventas'])
                    [1 + floor(g.r_mail * 4)::int]
                    || '@' || regexp_replace(pg_temp.fold(sw.word || sn.word), '[^a-z0-9]', '',
                                             'g') || '.es' AS email,
                s.id AS sector_id,
                CASE WHEN g.r_size < 0.15 THEN '' WHEN g.r_size < 0.5 THEN '0-2'
                     WHEN g.r_size < 0.8 THEN '3-9' WHEN g.r_size < 0.95 THEN '10-49'
                     ELSE '50+' END AS size_segment,
                ch.id AS channel_id, o.id AS owner_id, o.team_id,
                st.word || ', ' || (1 + floor(g.r_num * 120)) AS street,
                lpad((p.postal + floor(g.r_mail * p.span))::int::text, 5, '0') AS postal,
                p.city, p.province,
                %(now)s::timestamptz - interval '1 day' * (7 * 365 * (1 - sqrt(g.r_age)))
                    AS created_at
            FROM (
                SELECT i, random() AS r_kind, random() AS r_nif, random() AS r_num,
                    random() AS r_life, random() AS r_phone, random() AS r_mail,
                    random() AS r_size, random() AS r_age, random() AS r_place,
                    random() AS r_sector, random() AS r_word, random() AS r_owner,
                    random() AS r_channel, random() AS r_a, random() AS r_b, random() AS r_c
                FROM generate_series(1, %(n)s) i
            ) g
            JOIN w_place p ON p.n = 1 + floor(g.r_place * %(place)s)::int
            JOIN w_sector s ON s.n = 1 + floor(g.r_sector * %(sector)s)::int
            JOIN w_sector_word sw ON sw.sector_id = s.id AND sw.k = 1 + floor(g.r_word * s.words)
            JOIN w_owner o ON o.n = 1 + floor(g.r_owner * %(owner)s)::int
            JOIN w_channel ch ON ch.n = 1 + floor(g.r_channel * %(channel)s)::int
            JOIN w_first fn ON fn.k = 1 + floor(g.r_a * %(first)s)::int
            JOIN w_surname sn ON sn.k = 1 + floor(g.r_b * %(surname)s)::int
            JOIN w_surname sn2 ON sn2.k = 1 + floor(g.r_c * %(surname)s)::int
            JOIN w_fantasy fa ON fa.k = 1 + floor(g.r_b * %(fantasy)s)::int
            JOIN w_legal lf ON lf.k = 1 + floor(g.r_c * %(legal)s)::int
            JOIN w_street st ON st.k = 1 + floor(g.r_a * %(street)s)::int
        ) x
        """,
        {**w, "n": n, "now": load.now},
    )


def create_opportunities(load: Loader, *, n: int, accounts: int, w: dict[str, int]) -> None:
    """Deals created over six years (more lately); ~70 % closed 5 to 180 days after, of which
    ~40 % won; the rest open, with the stage's probability and an expected close date around
    today. Ids follow creation, as they would."""
    from crm.sales.models import LostReason, Pipeline, StageKind

    pipeline = Pipeline.objects.get(is_default=True)
    stages = list(pipeline.stages.order_by("position"))
    open_ids = [s.pk for s in stages if s.kind == StageKind.OPEN]
    won = [s.pk for s in stages if s.kind == StageKind.WON][0]
    lost = [s.pk for s in stages if s.kind == StageKind.LOST]
    reasons = list(LostReason.objects.order_by("position").values_list("pk", flat=True))
    load.run(
        "opportunities",
        """
        INSERT INTO sales_opportunity (id, title, account_id, contact_id, owner_id, team_id,
            channel_id, pipeline_id, stage_id, amount, expected_close_date, probability,
            probability_overridden, next_step, products_of_interest, lost_reason_id, lost_note,
            closed_at, stage_changed_at, version, created_by_id, updated_by_id, search_text,
            created_at, updated_at)
        SELECT row_number() OVER (ORDER BY y.created_at), y.title, y.account_id, NULL,
            y.owner_id, u.team_id, y.channel_id, %(pipeline)s, y.stage_id, y.amount,
            y.expected_close_date, st.probability, false, '', '',
            CASE WHEN st.kind = 'lost' THEN (%(reasons)s::bigint[])
                 [1 + floor(y.r_reason * %(n_reasons)s)::int] END,
            '', y.closed_at, y.stage_changed_at, 1, y.owner_id, NULL, pg_temp.fold(y.title),
            y.created_at, y.stage_changed_at
        FROM (
            SELECT x.*,
                CASE WHEN x.is_open THEN NULL ELSE x.closing END AS closed_at,
                CASE WHEN NOT x.is_open THEN x.closing
                     WHEN x.stage_id = (%(open)s::bigint[])[1] THEN x.created_at
                     ELSE x.created_at + least(%(now)s::timestamptz - x.created_at,
                                               interval '120 days') * (0.3 + 0.7 * x.r_moved)
                     END AS stage_changed_at,
                CASE WHEN x.is_open
                     THEN (%(now)s::timestamptz AT TIME ZONE %(tz)s)::date
                          + floor(x.r_ecd * 361)::int - 180
                     ELSE (x.closing AT TIME ZONE %(tz)s)::date
                          + floor(x.r_ecd * 31)::int - 15 END AS expected_close_date
            FROM (
                SELECT g.*, a.id AS account_id,
                    CASE WHEN g.r_owner < 0.85 THEN a.owner_id ELSE o.id END AS owner_id,
                    CASE WHEN g.r_channel < 0.7 AND a.channel_id IS NOT NULL THEN a.channel_id
                         ELSE ch.id END AS channel_id,
                    d.word || ' · ' || left(a.name, 120) AS title,
                    round((500 * power(100, g.r_amount))::numeric / 10) * 10 AS amount,
                    g.closing > %(now)s::timestamptz OR g.r_state < 0.25 AS is_open,
                    CASE WHEN g.closing > %(now)s::timestamptz OR g.r_state < 0.25 THEN
                             CASE WHEN g.r_stage < 0.5 THEN (%(open)s::bigint[])[1]
                                  WHEN g.r_stage < 0.8 THEN (%(open)s::bigint[])[2]
                                  ELSE (%(open)s::bigint[])[3] END
                         WHEN g.r_stage < 0.4 THEN %(won)s
                         WHEN g.r_stage < 0.88 THEN (%(lost)s::bigint[])[1]
                         ELSE (%(lost)s::bigint[])[2] END AS stage_id
                FROM (
                    SELECT h.*, h.created_at + interval '1 day' * (5 + h.r_days * 175)
                        AS closing
                    FROM (
                        SELECT i, random() AS r_account, random() AS r_owner,
                            random() AS r_channel, random() AS r_amount, random() AS r_state,
                            random() AS r_stage, random() AS r_days, random() AS r_ecd,
                            random() AS r_moved, random() AS r_reason, random() AS r_deal,
                            random() AS r_o,
                            %(now)s::timestamptz
                                - interval '1 day' * (6 * 365 * (1 - sqrt(random())))
                                AS created_at
                        FROM generate_series(1, %(n)s) i
                    ) h
                ) g
                JOIN customers_account a ON a.id = 1 + floor(g.r_account * %(accounts)s)::int
                JOIN w_owner o ON o.n = 1 + floor(g.r_o * %(owner)s)::int
                JOIN w_channel ch ON ch.n = 1 + floor(g.r_channel * %(channel)s)::int
                JOIN w_deal d ON d.k = 1 + floor(g.r_deal * %(deal)s)::int
            ) x
        ) y
        JOIN sales_stage st ON st.id = y.stage_id
        JOIN users_user u ON u.id = y.owner_id
        """,
        {
            **w,
            "n": n,
            "accounts": accounts,
            "now": load.now,
            "tz": TIME_ZONE,
            "pipeline": pipeline.pk,
            "open": open_ids[:3] + [open_ids[-1]] * (3 - len(open_ids[:3])),
            "won": won,
            "lost": lost[:2] + [lost[0]] * (2 - len(lost[:2])),
            "reasons": reasons,
            "n_reasons": len(reasons),
        },
    )
    # The stage history: the creation row, then a move into each open stage in order up to
    # the current one (for a closed deal, up to a random open stage, then to won or lost),
    # evenly spaced from creation to the last move; left_at is the next move's time.
    load.run(
        "stage history",
        """
        INSERT INTO sales_stagechange (id, opportunity_id, from_stage_id, to_stage_id, actor_id,
            changed_at, left_at)
        SELECT row_number() OVER (ORDER BY z.changed_at, z.opportunity_id), z.*
        FROM (
            SELECT x.id AS opportunity_id,
                CASE WHEN k > 1 THEN x.path[k - 1] END AS from_stage_id,
                x.path[k] AS to_stage_id, x.owner_id AS actor_id,
                x.created_at + (x.stage_changed_at - x.created_at)
                    * ((k - 1)::float8 / greatest(cardinality(x.path) - 1, 1)) AS changed_at,
                CASE WHEN k < cardinality(x.path) THEN
                    x.created_at + (x.stage_changed_at - x.created_at)
                        * (k::float8 / (cardinality(x.path) - 1)) END AS left_at
            FROM (
                SELECT o.id, o.owner_id, o.created_at, o.stage_changed_at,
                    CASE WHEN st.kind = 'open' THEN
                             (%(open)s::bigint[])[1:array_position(%(open)s::bigint[], o.stage_id)]
                         ELSE (%(open)s::bigint[])[1:1 + mod(abs(hashint8(o.id)::bigint), 3)]
                              || o.stage_id END AS path
                FROM sales_opportunity o JOIN sales_stage st ON st.id = o.stage_id
            ) x
            CROSS JOIN LATERAL generate_series(1, cardinality(x.path)) k
        ) z
        """,
        {"open": open_ids},
    )

    # What the moves record on the deal: the furthest open stage of its history (the funnel).
    load.run(
        "furthest stage",
        """
        UPDATE sales_opportunity o SET furthest_stage_id = f.stage_id
        FROM (
            SELECT DISTINCT ON (c.opportunity_id) c.opportunity_id, c.to_stage_id AS stage_id
            FROM sales_stagechange c JOIN sales_stage st ON st.id = c.to_stage_id
            WHERE st.kind = 'open'
            ORDER BY c.opportunity_id, st.position DESC
        ) f
        WHERE f.opportunity_id = o.id
        """,
    )


def create_leads(load: Loader, *, n: int, opportunities: int, w: dict[str, int]) -> None:
    """Leads over six years; a fifth converted, each into its own deal (created when the lead
    was converted, 1 to 60 days after it came in), the others new, worked or disqualified."""
    from crm.leads.models import DisqualifyReason

    reasons = list(DisqualifyReason.objects.order_by("position").values_list("pk", flat=True))
    converted = min(round(n * 0.2), opportunities)
    step = next(p for p in (7919, 7927, 7933, 104729) if opportunities % p)
    load.run(
        "leads",
        """
        INSERT INTO leads_lead (id, first_name, last_name, company, position, email, phone,
            mobile, nif, province, city, sector_id, size_segment, channel_id, campaign,
            products_of_interest, status, disqualify_reason_id, score, owner_id, team_id,
            assignment_rule_id, notes, lead_import_id, import_row, web_form_id,
            converted_account_id, converted_contact_id, converted_opportunity_id, converted_at,
            created_by_id, updated_by_id, search_text, created_at, updated_at)
        SELECT row_number() OVER (ORDER BY y.created_at), y.first_name, y.last_name, y.company,
            '', y.email, y.phone, y.mobile, '', y.province, y.city, y.sector_id, y.size_segment,
            y.channel_id, y.campaign, '', y.status,
            CASE WHEN y.status = 'disqualified' THEN (%(reasons)s::bigint[])
                 [1 + floor(y.r_reason * %(n_reasons)s)::int] END,
            y.score, y.owner_id, y.team_id, NULL, '', NULL, NULL, NULL, y.account_id, NULL,
            y.opportunity_id, y.converted_at, NULL, NULL,
            pg_temp.fold(concat_ws(' ', y.first_name, y.last_name, y.company, y.email, y.phone,
                                   y.mobile, y.city, y.campaign)),
            y.created_at, coalesce(y.converted_at, y.created_at)
        FROM (
            SELECT fn.word AS first_name, sn.word || ' ' || sn2.word AS last_name,
                CASE WHEN g.i <= %(converted)s THEN a.name
                     WHEN g.r_company < 0.7 THEN sw.word || ' ' || sn2.word || ' S.L.'
                     ELSE '' END AS company,
                regexp_replace(pg_temp.fold(fn.word || '.' || sn.word), '[^a-z0-9.]', '', 'g')
                    || mod(g.i, 97) || '@' || (ARRAY['gmail.com', 'hotmail.com', 'yahoo.es',
                    'outlook.es', 'empresa.es'])[1 + floor(g.r_mail * 5)::int] AS email,
                CASE WHEN g.r_phone < 0.5 THEN ''
                     ELSE '+34' || p.area || lpad(floor(g.r_num * power(10, 9 - length(p.area)))
                                                  ::bigint::text, 9 - length(p.area), '0')
                     END AS phone,
                '+346' || lpad(floor(g.r_num * 1e8)::bigint::text, 8, '0') AS mobile,
                CASE WHEN g.i <= %(converted)s THEN a.billing_province ELSE p.province END
                    AS province,
                CASE WHEN g.i <= %(converted)s THEN a.billing_city ELSE p.city END AS city,
                CASE WHEN g.i <= %(converted)s THEN a.sector_id ELSE s.id END AS sector_id,
                CASE WHEN g.i <= %(converted)s THEN a.size_segment
                     WHEN g.r_size < 0.3 THEN '' WHEN g.r_size < 0.6 THEN '0-2'
                     WHEN g.r_size < 0.85 THEN '3-9' WHEN g.r_size < 0.97 THEN '10-49'
                     ELSE '50+' END AS size_segment,
                CASE WHEN g.i <= %(converted)s THEN o.channel_id ELSE ch.id END AS channel_id,
                CASE WHEN g.r_campaign < 0.2
                     THEN 'Campaña ' || extract(year from g.created_at)::int ELSE '' END
                     AS campaign,
                CASE WHEN g.i <= %(converted)s THEN 'converted'
                     WHEN g.r_status < 0.3 THEN 'new' WHEN g.r_status < 0.55 THEN 'contacted'
                     WHEN g.r_status < 0.7 THEN 'qualified' ELSE 'disqualified' END AS status,
                floor(g.r_score * 101)::int AS score,
                CASE WHEN g.i <= %(converted)s THEN o.owner_id
                     WHEN g.r_owner < 0.05 THEN NULL ELSE ow.id END AS owner_id,
                CASE WHEN g.i <= %(converted)s THEN o.team_id
                     WHEN g.r_owner < 0.05 THEN NULL ELSE ow.team_id END AS team_id,
                CASE WHEN g.i <= %(converted)s THEN o.account_id END AS account_id,
                o.id AS opportunity_id,
                o.created_at AS converted_at,
                CASE WHEN g.i <= %(converted)s
                     THEN o.created_at - interval '1 day' * (1 + g.r_days * 59)
                     ELSE g.created_at END AS created_at,
                g.r_reason
            FROM (
                SELECT i, random() AS r_company, random() AS r_mail, random() AS r_phone,
                    random() AS r_num, random() AS r_size, random() AS r_campaign,
                    random() AS r_status, random() AS r_score, random() AS r_owner,
                    random() AS r_days, random() AS r_reason, random() AS r_place,
                    random() AS r_sector, random() AS r_word, random() AS r_channel,
                    random() AS r_a, random() AS r_b, random() AS r_c, random() AS r_o,
                    %(now)s::timestamptz - interval '1 day' * (6 * 365 * (1 - sqrt(random())))
                        AS created_at
                FROM generate_series(1, %(n)s) i
            ) g
            LEFT JOIN sales_opportunity o
                ON g.i <= %(converted)s
                AND o.id = 1 + mod(g.i::bigint * %(step)s, %(opportunities)s)
            LEFT JOIN customers_account a ON a.id = o.account_id
            JOIN w_place p ON p.n = 1 + floor(g.r_place * %(place)s)::int
            JOIN w_sector s ON s.n = 1 + floor(g.r_sector * %(sector)s)::int
            JOIN w_sector_word sw ON sw.sector_id = s.id AND sw.k = 1 + floor(g.r_word * s.words)
            JOIN w_owner ow ON ow.n = 1 + floor(g.r_o * %(owner)s)::int
            JOIN w_channel ch ON ch.n = 1 + floor(g.r_channel * %(channel)s)::int
            JOIN w_first fn ON fn.k = 1 + floor(g.r_a * %(first)s)::int
            JOIN w_surname sn ON sn.k = 1 + floor(g.r_b * %(surname)s)::int
            JOIN w_surname sn2 ON sn2.k = 1 + floor(g.r_c * %(surname)s)::int
        ) y
        """,
        {
            **w,
            "n": n,
            "now": load.now,
            "converted": converted,
            "step": step,
            "opportunities": opportunities,
            "reasons": reasons,
            "n_reasons": len(reasons),
        },
    )


def create_quotes(load: Loader, *, n: int, opportunities: int, w: dict[str, int]) -> None:
    """Quotes on random deals, sent during the deal's life (a few drafts), answered as the deal
    went; about three lines each, priced from the catalog so that a quote is about the deal's
    amount. Numbered per year in the order they were sent, as the application does."""
    load.run(
        "quotes (plan)",
        """
        CREATE TEMP TABLE w_quote AS
        SELECT row_number() OVER (ORDER BY y.created_at) AS id, y.*
        FROM (
            SELECT x.*,
                CASE WHEN x.status IN ('accepted', 'rejected') THEN
                    least(x.sent_at + interval '1 day' * (1 + x.r_answer * 20),
                          greatest(coalesce(x.closed_at, %(now)s::timestamptz), x.sent_at))
                    END AS answered_at,
                (coalesce(x.sent_at, x.drafted_at) AT TIME ZONE %(tz)s)::date AS issue_date,
                coalesce(x.sent_at - interval '1 hour' * (x.r_answer * 72), x.drafted_at)
                    AS created_at
            FROM (
                SELECT g.*, o.id AS opportunity_id, o.owner_id, o.amount, o.closed_at,
                    CASE WHEN g.r_draft < 0.05 THEN NULL
                         ELSE o.created_at + (coalesce(o.closed_at, %(now)s::timestamptz)
                                              - o.created_at) * (0.05 + 0.9 * g.r_when)
                         END AS sent_at,
                    o.created_at + (coalesce(o.closed_at, %(now)s::timestamptz) - o.created_at)
                        * g.r_when AS drafted_at,
                    CASE WHEN g.r_draft < 0.05 THEN 'draft'
                         WHEN st.kind = 'won' THEN
                             CASE WHEN g.r_status < 0.75 THEN 'accepted'
                                  WHEN g.r_status < 0.85 THEN 'rejected' ELSE 'expired' END
                         WHEN st.kind = 'lost' THEN
                             CASE WHEN g.r_status < 0.55 THEN 'rejected' ELSE 'expired' END
                         WHEN g.r_status < 0.7 THEN 'sent'
                         WHEN g.r_status < 0.9 THEN 'expired' ELSE 'rejected' END AS status
                FROM (
                    SELECT i, random() AS r_opportunity, random() AS r_draft,
                        random() AS r_when, random() AS r_status, random() AS r_answer,
                        1 + floor(random() * 5)::int AS lines
                    FROM generate_series(1, %(n)s) i
                ) g
                JOIN sales_opportunity o
                    ON o.id = 1 + floor(g.r_opportunity * %(opportunities)s)::int
                JOIN sales_stage st ON st.id = o.stage_id
            ) x
        ) y
        """,
        {"n": n, "opportunities": opportunities, "now": load.now, "tz": TIME_ZONE},
    )
    load.cursor.execute("ALTER TABLE w_quote ADD PRIMARY KEY (id)")
    load.run(
        "quote lines (plan)",
        """
        CREATE TEMP TABLE w_line AS
        SELECT row_number() OVER (ORDER BY y.quote_id, y.position) AS id, y.*,
            round(y.quantity * y.unit_price * (1 - y.discount_percent / 100), 2) AS base
        FROM (
            SELECT s.quote_id, s.position, p.id AS product_id, p.name AS description, p.unit,
                p.unit_price, s.discount_percent, p.vat_rate, p.recurrence,
                greatest(1, round((coalesce(s.amount, 1000) / s.lines
                                   * (0.6 + 0.8 * s.r_quantity) / greatest(p.unit_price, 1))
                                  ::numeric)) AS quantity
            FROM (
                SELECT q.id AS quote_id, k AS position, q.amount, q.lines,
                    random() AS r_product, random() AS r_quantity,
                    (ARRAY[0, 0, 0, 5, 10])[1 + floor(random() * 5)::int]::numeric
                        AS discount_percent
                FROM w_quote q CROSS JOIN LATERAL generate_series(1, q.lines) k
            ) s
            JOIN w_product p ON p.n = 1 + floor(s.r_product * %(product)s)::int
        ) y
        """,
        w,
    )
    load.run(
        "quotes",
        """
        INSERT INTO sales_quote (id, opportunity_id, contact_id, title, year, sequence, number,
            version, previous_id, status, issue_date, valid_until, term_months, notes, subtotal,
            tax_total, total, sent_at, answered_at, answered_by_name, answered_ip, answer_note,
            created_by_id, created_at, updated_at)
        SELECT q.id, q.opportunity_id, NULL, 'Presupuesto', n.year, n.sequence,
            CASE WHEN n.sequence IS NULL THEN ''
                 ELSE 'P-' || n.year || '-' || lpad(n.sequence::text, 4, '0') END,
            1, NULL,
            CASE WHEN q.status = 'expired' AND q.issue_date + 30 >= %(today)s THEN 'sent'
                 ELSE q.status END,
            q.issue_date, q.issue_date + 30, 12, '', t.subtotal,
            round(t.subtotal * 0.21, 2), t.subtotal + round(t.subtotal * 0.21, 2), q.sent_at,
            q.answered_at, CASE WHEN q.answered_at IS NOT NULL THEN 'Cliente' ELSE '' END, NULL,
            '', q.owner_id, q.created_at, coalesce(q.answered_at, q.sent_at, q.created_at)
        FROM w_quote q
        JOIN (SELECT quote_id, sum(base) AS subtotal FROM w_line GROUP BY quote_id) t
            ON t.quote_id = q.id
        JOIN (
            SELECT id,
                CASE WHEN sent_at IS NOT NULL THEN extract(year from issue_date)::int END
                    AS year,
                CASE WHEN sent_at IS NOT NULL THEN row_number() OVER (
                    PARTITION BY sent_at IS NULL, extract(year from issue_date)
                    ORDER BY sent_at, id) END AS sequence
            FROM w_quote
        ) n ON n.id = q.id
        ORDER BY q.id
        """,
        {"today": load.now.astimezone(ZoneInfo(TIME_ZONE)).date()},
    )
    load.run(
        "quote lines",
        """
        INSERT INTO sales_quoteline (id, quote_id, position, product_id, description, quantity,
            unit, unit_price, discount_percent, vat_rate, recurrence, base)
        SELECT id, quote_id, position, product_id, description, quantity, unit, unit_price,
            discount_percent, vat_rate, recurrence, base
        FROM w_line ORDER BY id
        """,
    )
    load.run(
        "quote numbers",
        """
        INSERT INTO sales_quotesequence (year, last_number)
        SELECT year, max(sequence) FROM sales_quote WHERE sequence IS NOT NULL GROUP BY year
        ON CONFLICT (year) DO UPDATE SET last_number = EXCLUDED.last_number
        """,
    )


def create_activities(
    load: Loader, *, n: int, opportunities: int, accounts: int, leads: int, w: dict[str, int]
) -> None:
    """Activities on deals (half), accounts (30 %) and leads (20 %, never with an account),
    mostly assigned to the record's owner; 80 % done (completed during the record's life),
    18 % pending and due within 60 days either side of today, 2 % cancelled."""
    subjects = [s for kind in ACTIVITY_SUBJECTS.values() for s in kind]
    load.run(
        "activities",
        """
        INSERT INTO activities_activity (id, kind, subject, description, due_at, all_day,
            duration_minutes, priority, assignee_id, status, outcome, completed_at, lead_id,
            account_id, contact_id, opportunity_id, quote_id, follows_id, automation_rule_id,
            created_by_id, created_at, updated_at)
        SELECT row_number() OVER (ORDER BY z.created_at), z.kind, z.subject, '', z.due_at,
            false, z.duration, z.priority, z.assignee_id, z.status,
            CASE WHEN z.status = 'done' AND z.r_kind < 0.3 THEN 'Hecho.' ELSE '' END,
            z.completed_at, z.lead_id, z.account_id, NULL, z.opportunity_id, NULL, NULL, NULL,
            z.assignee_id, z.created_at, coalesce(z.completed_at, z.created_at)
        FROM (
            SELECT y.*,
                least(y.due_at, %(now)s::timestamptz) - interval '1 day' * (y.r_created * 10)
                    AS created_at
            FROM (
                SELECT x.*,
                    CASE WHEN x.status = 'done'
                             THEN x.completed_at - interval '1 hour' * (x.r_due * 48)
                         WHEN x.status = 'pending'
                             THEN %(now)s::timestamptz + interval '1 day' * (x.r_due * 120 - 60)
                         ELSE x.moment END AS due_at
                FROM (
                    SELECT g.*,
                        (%(kinds)s::text[])[1 + floor(g.r_kind * 5)::int] AS kind,
                        (%(subjects)s::text[])[1 + floor(g.r_kind * 5)::int * 3
                                                 + floor(g.r_subject * 3)::int] AS subject,
                        CASE WHEN g.r_kind >= 0.4 AND g.r_kind < 0.6
                             THEN 30 + 30 * floor(g.r_subject * 4)::int END AS duration,
                        CASE WHEN g.r_priority < 0.15 THEN 'high'
                             WHEN g.r_priority < 0.25 THEN 'low' ELSE 'normal' END AS priority,
                        CASE WHEN g.r_status < 0.8 THEN 'done'
                             WHEN g.r_status < 0.98 THEN 'pending' ELSE 'cancelled' END AS status,
                        CASE WHEN g.r_assignee < 0.85
                             THEN coalesce(o.owner_id, a.owner_id, l.owner_id, ow.id)
                             ELSE ow.id END AS assignee_id,
                        o.id AS opportunity_id, coalesce(o.account_id, a.id) AS account_id,
                        l.id AS lead_id,
                        CASE WHEN o.id IS NOT NULL THEN
                                 o.created_at + (coalesce(o.closed_at, %(now)s::timestamptz)
                                                 - o.created_at) * g.r_when
                             WHEN a.id IS NOT NULL THEN
                                 %(now)s::timestamptz
                                     - interval '1 day' * (6 * 365 * (1 - sqrt(g.r_when)))
                             ELSE l.created_at + least(%(now)s::timestamptz - l.created_at,
                                                       interval '30 days') * g.r_when
                             END AS moment,
                        CASE WHEN g.r_status < 0.8 THEN
                            CASE WHEN o.id IS NOT NULL THEN
                                     o.created_at + (coalesce(o.closed_at, %(now)s::timestamptz)
                                                     - o.created_at) * g.r_when
                                 WHEN a.id IS NOT NULL THEN
                                     %(now)s::timestamptz
                                         - interval '1 day' * (6 * 365 * (1 - sqrt(g.r_when)))
                                 ELSE l.created_at + least(%(now)s::timestamptz - l.created_at,
                                                           interval '30 days') * g.r_when
                                 END
                            END AS completed_at
                    FROM (
                        SELECT i, random() AS r_link, random() AS r_target, random() AS r_kind,
                            random() AS r_subject, random() AS r_priority, random() AS r_status,
                            random() AS r_assignee, random() AS r_when, random() AS r_due,
                            random() AS r_created, random() AS r_o
                        FROM generate_series(1, %(n)s) i
                    ) g
                    LEFT JOIN sales_opportunity o ON g.r_link < 0.5
                        AND o.id = 1 + floor(g.r_target * %(opportunities)s)::int
                    LEFT JOIN customers_account a ON g.r_link >= 0.5 AND g.r_link < 0.8
                        AND a.id = 1 + floor(g.r_target * %(accounts)s)::int
                    LEFT JOIN leads_lead l ON g.r_link >= 0.8
                        AND l.id = 1 + floor(g.r_target * %(leads)s)::int
                    JOIN w_owner ow ON ow.n = 1 + floor(g.r_o * %(owner)s)::int
                ) x
            ) y
        ) z
        """,
        {
            **w,
            "n": n,
            "opportunities": opportunities,
            "accounts": accounts,
            "leads": leads,
            "now": load.now,
            "kinds": list(ACTIVITY_SUBJECTS),
            "subjects": subjects,
        },
    )


def secondary_indexes(cursor, tables: list[str]) -> list[tuple[str, str, str]]:
    """(table, index, definition) of the indexes that back no constraint."""
    cursor.execute(
        """
        SELECT t.relname, i.relname, pg_get_indexdef(i.oid)
        FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_class t ON t.oid = x.indrelid
        JOIN pg_namespace s ON s.oid = t.relnamespace AND s.nspname = current_schema()
        WHERE t.relname = ANY(%s)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
        ORDER BY t.relname, i.relname
        """,
        [tables],
    )
    return cursor.fetchall()


def generate(sizes: dict[str, int], *, seed: float) -> dict[str, float]:
    """Fill the empty, migrated database; one transaction, so a failure leaves nothing."""
    from django.db import connection, transaction
    from django.utils import timezone

    timings: dict[str, float] = {}
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        load = Loader(cursor)
        load.now = timezone.now()
        # Bulk load: no foreign key triggers (every reference is checked afterwards), more
        # memory for sorts and index builds, no wait for the WAL flush.
        cursor.execute(
            "SET LOCAL session_replication_role = replica; SET LOCAL work_mem = '256MB';"
            " SET LOCAL maintenance_work_mem = '1GB'; SET LOCAL synchronous_commit = off"
        )
        cursor.execute("SELECT setseed(%s)", [seed])
        cursor.execute(
            "CREATE FUNCTION pg_temp.fold(text) RETURNS text LANGUAGE sql IMMUTABLE AS"
            f" $$ SELECT translate(lower($1), '{FOLD_FROM}', '{FOLD_TO}') $$"
        )
        indexes = secondary_indexes(cursor, BULK_TABLES)
        for _table, name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        print(f"  dropped {len(indexes)} secondary indexes for the load", flush=True)
        create_people()
        create_catalog(load, products=sizes["products"])
        w = create_lookups(load)
        create_accounts(load, n=sizes["accounts"], w=w)
        create_opportunities(load, n=sizes["opportunities"], accounts=sizes["accounts"], w=w)
        create_leads(load, n=sizes["leads"], opportunities=sizes["opportunities"], w=w)
        create_quotes(load, n=sizes["quotes"], opportunities=sizes["opportunities"], w=w)
        create_activities(
            load,
            n=sizes["activities"],
            opportunities=sizes["opportunities"],
            accounts=sizes["accounts"],
            leads=sizes["leads"],
            w=w,
        )
        for table in BULK_TABLES:
            definitions = [d for t, _name, d in indexes if t == table]
            load.run(
                f"indexes of {table} ({len(definitions)})",
                ";\n".join(definitions) if definitions else "SELECT 1",
            )
        # Explicit ids: the identity sequences go on after them.
        for table in BULK_TABLES + ["sales_product"]:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"  # noqa: S608
                f" (SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
            )
        for child, column, parent in FOREIGN_KEYS:
            missing = load.value(
                f"SELECT count(*) FROM {child} c WHERE c.{column} IS NOT NULL"  # noqa: S608
                f" AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE p.id = c.{column})"
            )
            if missing:
                raise RuntimeError(f"{missing} rows of {child}.{column} point to no {parent}")
        timings.update(load.timings)
    vacuum_analyze(timings)
    timings["total"] = time.perf_counter() - started
    return timings


def _show(value) -> str:
    return f"{value:,}" if isinstance(value, int) and value > 9999 else str(value)


def pending_migrations() -> list[str]:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]


def vacuum_analyze(timings: dict) -> None:
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    timings["vacuum analyze"] = time.perf_counter() - started
    print(f"  {'vacuum analyze':<42} {timings['vacuum analyze']:7.1f} s", flush=True)


def describe_data() -> list[str]:
    """A few facts about what is in the database, for the report."""
    from django.db import connection

    queries = {
        "opportunities by stage kind": (
            "SELECT st.kind, count(*), round(avg(o.amount)) FROM sales_opportunity o"
            " JOIN sales_stage st ON st.id = o.stage_id GROUP BY st.kind ORDER BY st.kind"
        ),
        "opportunities created per year": (
            "SELECT extract(year from created_at)::int, count(*) FROM sales_opportunity"
            " GROUP BY 1 ORDER BY 1"
        ),
        "stage changes": "SELECT count(*), count(left_at) FROM sales_stagechange",
        "leads by status": "SELECT status, count(*) FROM leads_lead GROUP BY 1 ORDER BY 1",
        "quotes by status": "SELECT status, count(*) FROM sales_quote GROUP BY 1 ORDER BY 1",
        "quote lines": "SELECT count(*) FROM sales_quoteline",
        "activities by status": (
            "SELECT status, count(*) FROM activities_activity GROUP BY 1 ORDER BY 1"
        ),
        "table sizes (heap+indexes)": (
            "SELECT relname, pg_size_pretty(pg_total_relation_size(oid)) FROM pg_class"
            " WHERE relname IN ('sales_opportunity', 'sales_stagechange', 'activities_activity',"
            " 'leads_lead', 'sales_quote', 'sales_quoteline', 'customers_account')"
            " ORDER BY pg_total_relation_size(oid) DESC"
        ),
    }
    lines = []
    with connection.cursor() as cursor:
        for label, sql in queries.items():
            cursor.execute(sql)
            rows = cursor.fetchall()
            shown = "; ".join(" ".join(_show(v) for v in row) for row in rows)
            lines.append(f"- {label}: {shown}")
    return lines


def missing_model_indexes() -> list[str]:
    """Indexes the models declare that the database lacks (a migration not written or not
    applied): the figures would not be those of the code being measured."""
    from django.apps import apps
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")
        present = {row[0] for row in cursor.fetchall()}
    missing = []
    for model in apps.get_models():
        for index in model._meta.indexes:
            if index.name and index.name not in present:
                missing.append(f"{model._meta.label}.{index.name}")
    return missing


# -- timing -------------------------------------------------------------------------------------


def main() -> None:
    args = parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://", "pgsql://")):
        raise SystemExit(
            "This benchmark runs on PostgreSQL only: set DATABASE_URL, e.g. "
            "DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres"
        )
    os.environ["BENCH_DB_NAME"] = args.database
    from django.conf import settings

    sizes = sizes_for(args.scale)
    created = base.prepare_database(settings, reuse=args.reuse)
    # The task queue's SQLite file lives there (bench/settings.py).
    Path(settings.BENCH_DIR).mkdir(parents=True, exist_ok=True)
    import django

    django.setup()
    from django.core.management import call_command

    info = base.machine()
    timings: dict[str, float] = {}
    keep = args.keep or args.reuse
    try:
        applied = pending_migrations()
        with base.stopwatch(timings, "migrate"):
            call_command("migrate", verbosity=0)
        print(
            f"Migrated in {timings['migrate']:.1f} s: {applied or 'nothing to apply'}", flush=True
        )
        found = counts()
        if found == sizes:
            print(f"Reusing {args.database}: {found}", flush=True)
            if applied:
                # A migration may have rewritten rows (an UPDATE of every deal): what
                # autovacuum would do before long, so that index-only scans work again.
                vacuum_analyze(timings)
        elif not created and any(found[key] for key in ("accounts", "opportunities")):
            raise SystemExit(
                f"{args.database} holds {found}, not {sizes}: run without --reuse "
                "(or with the --scale it was made with)."
            )
        else:
            print(f"Generating {sizes} in {args.database}…", flush=True)
            generation = generate(sizes, seed=args.seed)
            timings["generation"] = generation["total"]
            print(f"Generated in {generation['total']:.1f} s", flush=True)
        missing = missing_model_indexes()
        if missing:
            print(f"WARNING: indexes declared by the models but absent: {missing}", flush=True)
        facts = describe_data()
        print("\n".join(facts), flush=True)
        if args.generate_only:
            return
        measure(args, info=info, timings=timings, sizes=sizes, facts=facts, missing=missing)
    finally:
        if not keep:
            base.drop_database(settings)


# -- the report tables: targets and daily snapshots -----------------------------------------------


def fill_report_tables() -> list[str]:
    """Targets (every rep and team, each month of this fiscal year and the last two, about
    what they sold) and daily pipeline snapshots per owner over six years (today's figures
    scaled back in time), when those tables exist and are empty; then the hourly summary job.
    Apart from the generation because their schema is the newest; a failure is reported, not
    fatal."""
    from django.db import connection, transaction
    from django.utils import timezone

    notes = []
    tables = set(connection.introspection.table_names())
    today = timezone.localdate()
    steps = {
        "reports_target": """
            INSERT INTO reports_target (created_at, updated_at, month, metric, value, team_id,
                updated_by_id, user_id)
            WITH months AS (
                SELECT m::date AS month FROM generate_series(
                    date_trunc('year', %(today)s::date) - interval '2 years',
                    date_trunc('year', %(today)s::date) + interval '11 months',
                    interval '1 month') m
            ), per_owner AS (
                SELECT o.owner_id, count(*) / 12.0 AS deals, sum(o.amount) / 12 AS revenue
                FROM sales_opportunity o JOIN sales_stage st ON st.id = o.stage_id
                WHERE st.kind = 'won' AND o.closed_at >= %(today)s::date - 365
                GROUP BY o.owner_id
            ), per_assignee AS (
                SELECT assignee_id, count(*) / 12.0 AS done FROM activities_activity
                WHERE status = 'done' AND completed_at >= %(today)s::date - 365
                GROUP BY assignee_id
            ), user_targets AS (
                SELECT u.id AS user_id, u.team_id, m.month, x.metric,
                    round(x.value * (1.05 + 0.1 * mod(u.id, 3)), x.digits) AS value
                FROM users_user u
                JOIN per_owner p ON p.owner_id = u.id
                LEFT JOIN per_assignee a ON a.assignee_id = u.id
                CROSS JOIN months m
                CROSS JOIN LATERAL (VALUES ('revenue_won', p.revenue, -2),
                                           ('deals_won', p.deals, 0),
                                           ('activities_done', coalesce(a.done, 0), 0))
                    x(metric, value, digits)
                WHERE u.role IN ('sales', 'manager')
            )
            SELECT now(), now(), month, metric, value, NULL::bigint, NULL::bigint, user_id
            FROM user_targets
            UNION ALL
            SELECT now(), now(), month, metric, sum(value), team_id, NULL, NULL
            FROM user_targets WHERE team_id IS NOT NULL GROUP BY team_id, month, metric
        """,
        "reports_pipelinesnapshot": """
            INSERT INTO reports_pipelinesnapshot (day, open_deals, open_amount, weighted_amount,
                overdue_activities, owner_id, team_id)
            WITH now_ AS (
                SELECT o.owner_id, o.team_id, count(*) AS n, sum(o.amount) AS amount,
                    sum(o.amount * o.probability) / 100 AS weighted
                FROM sales_opportunity o JOIN sales_stage st ON st.id = o.stage_id
                WHERE st.kind = 'open' GROUP BY o.owner_id, o.team_id
            ), overdue AS (
                SELECT a.assignee_id, u.team_id, count(*) AS n FROM activities_activity a
                JOIN users_user u ON u.id = a.assignee_id
                WHERE a.status = 'pending' AND a.due_at < now()
                GROUP BY a.assignee_id, u.team_id
            ), owners AS (
                SELECT coalesce(d.owner_id, v.assignee_id) AS owner_id,
                    coalesce(d.team_id, v.team_id) AS team_id, coalesce(d.n, 0) AS n,
                    coalesce(d.amount, 0) AS amount, coalesce(d.weighted, 0) AS weighted,
                    coalesce(v.n, 0) AS overdue
                FROM now_ d FULL JOIN overdue v
                    ON v.assignee_id = d.owner_id AND v.team_id IS NOT DISTINCT FROM d.team_id
            )
            SELECT day::date, round(o.n * f), round(o.amount * f::numeric, 2),
                round(o.weighted * f::numeric, 2), round(o.overdue * f), o.owner_id, o.team_id
            FROM generate_series(%(today)s::date - 6 * 365, %(today)s::date - 1,
                                 interval '1 day') day
            CROSS JOIN owners o
            CROSS JOIN LATERAL (
                SELECT (0.3 + 0.7 * (day::date - (%(today)s::date - 6 * 365)) / (6 * 365.0))
                       * (0.9 + 0.2 * random()) AS f
            ) k
        """,
    }
    with connection.cursor() as cursor:
        for table, sql in steps.items():
            if table not in tables:
                notes.append(f"{table}: no such table, not filled")
                continue
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - constant names
            if cursor.fetchone()[0]:
                continue
            started = time.perf_counter()
            try:
                with transaction.atomic():
                    cursor.execute(sql, {"today": today})
                    rows = cursor.rowcount
                cursor.execute(f"ANALYZE {table}")
            except Exception as error:  # noqa: BLE001 - a schema in flux: report, go on
                notes.append(f"{table}: not filled ({error.__class__.__name__}: {error})")
                continue
            note = f"{table}: {rows:,} rows in {time.perf_counter() - started:.1f} s"
            print(f"  {note}", flush=True)
            notes.append(note)
    notes.append(refresh_summaries())
    return notes


def refresh_summaries() -> str:
    """Run the application's hourly summary job (today's pipeline snapshot and the daily
    figures before the live window) as production would have run it before anyone asks;
    its duration is a figure of its own at this size."""
    import multiprocessing

    from django.db import connections

    try:
        from crm.reports.tasks import refresh_report_summaries
    except ImportError as error:
        return f"summaries: no hourly job to run ({error})"
    # In a child process, so that its memory (it holds the whole summary in Python) does not
    # count in the serving process's peak RSS, and is measured on its own.
    connections.close_all()
    started = time.perf_counter()
    results = multiprocessing.get_context("fork").Queue()
    child = multiprocessing.get_context("fork").Process(
        target=_summary_job, args=(refresh_report_summaries, results)
    )
    child.start()
    result = results.get()
    child.join()
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    note = (
        f"hourly summary job (crm.reports.tasks.refresh_report_summaries): {result} in "
        f"{time.perf_counter() - started:.1f} s, peak RSS {peak:.0f} MB"
    )
    print(f"  {note}", flush=True)
    return note


def _summary_job(task, results) -> None:
    try:
        results.put(task.call_local())
    except Exception as error:  # noqa: BLE001 - reported by the parent
        results.put(f"failed: {error.__class__.__name__}: {error}")


# -- timing -------------------------------------------------------------------------------------


class Scenario:
    def __init__(self, group: str, label: str, path: str, target_ms: float | None):
        self.group = group  # baseline, dashboard, report
        self.label = label
        self.path = path
        self.target_ms = target_ms


def scenarios(*, today: dt.date) -> list[Scenario]:
    """The URLs timed, each once (the matrix asked for, without repeats)."""
    from crm.reports import metrics

    year = "period=year"
    found: dict[str, Scenario] = {}

    def add(group: str, label: str, path: str, target: float | None) -> None:
        found.setdefault(path, Scenario(group, label, path, target))

    add("baseline", "/healthz (baseline)", "/healthz", None)
    add("dashboard", "dashboard, this month", "/?period=month", TARGET_DASHBOARD_MS)
    add("dashboard", "dashboard, this fiscal year", "/?period=year", TARGET_DASHBOARD_MS)
    add(
        "dashboard",
        "dashboard, custom 2021-01-01..2026-11-27",
        "/?period=custom&start=2021-01-01&end=2026-11-27",
        TARGET_DASHBOARD_MS,
    )
    add("report", "pipeline", f"/reports/pipeline/?{year}", TARGET_REPORT_MS)

    def report(measure: str, dimension: str = "", granularity="month", view="monthly", period=year):
        query = {"measure": measure, "dimension": dimension, "granularity": granularity}
        query["view"] = view
        path = "/reports/?" + "&".join(f"{k}={v}" for k, v in query.items()) + "&" + period
        label = f"report {measure} by {dimension or '-'}, {granularity}, {view}"
        if period != year:
            label += ", 10 years"
        add("report", label, path, TARGET_REPORT_MS)

    for key in [*metrics.MEASURES, *metrics.RATIOS]:
        report(key)
        if "owner" in metrics.dimensions_for(key):
            report(key, "owner")
    for dimension in metrics.DIMENSIONS:
        measure = next(
            key
            for key in ["revenue_won", "product_sold", "activities_done", *metrics.MEASURES]
            if dimension in metrics.dimensions_for(key)
        )
        report(measure, dimension)
    for view in ["monthly", "cumulative", "yoy"]:
        report("revenue_won", view=view)
        report("revenue_won", "owner", view=view)
    for granularity in ["month", "quarter", "year"]:
        report("revenue_won", granularity=granularity)
    ten_years = "period=custom&start=2016-12-01&end=2026-11-27"
    report("revenue_won", period=ten_years)
    report("revenue_won", "owner", period=ten_years)
    report("revenue_won", "owner", "quarter", "cumulative", period=ten_years)
    report("activities_per_won", "owner", period=ten_years)
    report("product_sold", "product", period=ten_years)
    report("win_rate", "stage", period=ten_years)
    add("report", "planning", "/reports/planning/", TARGET_REPORT_MS)
    add(
        "report",
        "records deals_won, period=year (as asked)",
        "/reports/records/?measure=deals_won&period=year",
        TARGET_REPORT_MS,
    )
    add(
        "report",
        "records deals_won, this fiscal year (as linked)",
        f"/reports/records/?measure=deals_won&start={today.year}-01-01&end={today.isoformat()}",
        TARGET_REPORT_MS,
    )
    add(
        "report",
        "records activities_done, 10 years, page 2",
        f"/reports/records/?measure=activities_done&start=2016-12-01&end={today.isoformat()}"
        "&page=2",
        TARGET_REPORT_MS,
    )
    return list(found.values())


class Failure(Exception):
    def __init__(self, status: int, body: str):
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


def page_text(html: str) -> str:
    """What a page says, without its head, scripts and tags: the reason of an error page."""
    main = re.search(r"(?is)<main\b.*?</main>", html)
    body = main.group(0) if main else html
    body = re.sub(r"(?is)<head.*?</head>|<script.*?</script>|<style.*?</style>", " ", body)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", body)).split())


def get(client, path: str) -> None:
    response = client.get(path, secure=True)
    if response.status_code != 200:
        text = page_text(response.content.decode("utf-8", "replace"))
        raise Failure(response.status_code, text[:500])


def timed_calls(call: Callable[[], None], *, requests: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        call()
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def count_opportunities() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(RAW_QUERY)
        cursor.fetchone()


def bench_users() -> dict:
    from crm.users.models import Role, User

    manager_username = next(iter(MANAGERS))[0]
    return {
        "admin": User.objects.get(username=ADMINS[0][0]),
        "manager": User.objects.get(username=manager_username),
        "rep": User.objects.filter(role=Role.SALES, team__name=TEAMS[0])
        .order_by("username")
        .first(),
    }


def run_once(
    *, clients, chosen, requests: int, warmup: int, failures: dict, rss: dict, verbose: bool
) -> dict:
    results: dict[tuple[str, str], dict] = {}
    times = timed_calls(count_opportunities, requests=requests, warmup=warmup)
    results[f"{RAW_QUERY} (baseline)", "-"] = base.summary(times)
    for role, client in clients.items():
        for scenario in chosen:
            key = (scenario.path, role)
            if key in failures:
                continue
            try:
                times = timed_calls(
                    lambda c=client, p=scenario.path: get(c, p), requests=requests, warmup=warmup
                )
            except Failure as failure:
                failures[key] = failure
                print(f"  {role} {scenario.path}: {failure.status} {failure.body!r}", flush=True)
                continue
            results[key] = base.summary(times)
            rss[key] = max(rss.get(key, 0.0), peak_rss_mb())
            if verbose:
                print(f"  {role:<8} {results[key]['p50']:8.0f} ms  {scenario.path}", flush=True)
    return results


def merge(runs: list[dict]) -> dict:
    merged = {}
    for key in runs[0]:
        present = [run[key] for run in runs if key in run]
        merged[key] = {
            stat: statistics.median(r[stat] for r in present) for stat in ("p50", "p95", "max")
        }
    return merged


def _plan_nodes(plan: dict, found: list) -> float:
    """Walk an EXPLAIN (FORMAT JSON) plan: each node with its own time (total minus its
    children's), so that what dominates stands out."""
    loops = plan.get("Actual Loops", 1) or 1
    total = plan.get("Actual Total Time", 0.0) * loops
    children = sum(_plan_nodes(child, found) for child in plan.get("Plans", []))
    found.append(
        {
            "node": plan.get("Node Type", ""),
            "relation": plan.get("Relation Name") or plan.get("Index Name") or "",
            "index": plan.get("Index Name", ""),
            "rows": plan.get("Actual Rows", 0) * loops,
            "self_ms": max(total - children, 0.0),
            "hit": plan.get("Shared Hit Blocks", 0),
            "read": plan.get("Shared Read Blocks", 0),
            "temp": plan.get("Temp Written Blocks", 0),
            "workers": plan.get("Workers Launched", 0),
        }
    )
    return total


def database_share(client, path: str) -> dict:
    """One request with its queries captured: how many, their time, the page's size."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, secure=True)
    return {
        "queries": len(captured.captured_queries),
        "db_ms": sum(float(q["time"]) for q in captured.captured_queries) * 1000,
        "kib": len(response.content) / 1024,
    }


def explain(client, scenario: Scenario, role: str, *, top: int) -> list[str]:
    """Capture the queries of one request, EXPLAIN (ANALYZE, BUFFERS) the slowest ones."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        get(client, scenario.path)
    queries = sorted(captured.captured_queries, key=lambda q: -float(q["time"]))
    total = sum(float(q["time"]) for q in queries) * 1000
    lines = [
        f"### EXPLAIN: {scenario.label}, as {role}",
        "",
        f"`{scenario.path}`: {len(queries)} queries, {total:.0f} ms in the database "
        "(as timed by Django, one request)",
        "",
    ]
    for number, query in enumerate(queries[:top], start=1):
        sql = query["sql"]
        if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
            continue
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}")
            document = cursor.fetchone()[0]
            document = json.loads(document) if isinstance(document, str) else document
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
            text = "\n".join(row[0] for row in cursor.fetchall())
        root = document[0]
        nodes: list[dict] = []
        _plan_nodes(root["Plan"], nodes)
        nodes.sort(key=lambda n: -n["self_ms"])
        dominant = "; ".join(
            f"{n['node']}{' on ' + n['relation'] if n['relation'] else ''} "
            f"{n['self_ms']:.0f} ms, {n['rows']:,.0f} rows"
            f"{', buffers hit ' + format(n['hit'], ',') if n['hit'] else ''}"
            f"{', read ' + format(n['read'], ',') if n['read'] else ''}"
            f"{', temp ' + format(n['temp'], ',') if n['temp'] else ''}"
            for n in nodes[:3]
        )
        lines += [
            f"#### Query {number}: {float(query['time']) * 1000:.0f} ms in the request, "
            f"execution {root.get('Execution Time', 0):.0f} ms, "
            f"planning {root.get('Planning Time', 0):.1f} ms",
            "",
            f"Dominant nodes (own time, summed over parallel workers): {dominant}",
            "",
            "```sql",
            sql,
            "```",
            "",
            "```",
            text,
            "```",
            "",
        ]
    return lines


def measure(args, *, info, timings, sizes, facts, missing) -> None:
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from crm.sales.models import Opportunity

    notes = fill_report_tables()
    users = bench_users()
    roles = [r.strip() for r in args.roles.split(",") if r.strip()]
    clients = {}
    for role in roles:
        clients[role] = Client()
        clients[role].force_login(users[role])
    today = timezone.localdate()
    chosen = scenarios(today=today)
    if args.only:
        pattern = re.compile(args.only)
        chosen = [s for s in chosen if s.group == "baseline" or pattern.search(s.path)]
    visible = {role: Opportunity.objects.visible_to(users[role]).count() for role in clients}
    for client in clients.values():  # the process's first requests load code and templates
        get(client, "/healthz")
        client.get("/", secure=True)
    rss_before = peak_rss_mb()
    print(
        f"Timing {len(chosen)} URLs × {len(clients)} users, {args.runs} runs × "
        f"{args.requests} requests (after {args.warmup})…",
        flush=True,
    )
    failures: dict[tuple[str, str], Failure] = {}
    rss: dict[tuple[str, str], float] = {}
    runs = []
    started = time.perf_counter()
    for number in range(1, args.runs + 1):
        print(f"Run {number}/{args.runs}…", flush=True)
        runs.append(
            run_once(
                clients=clients,
                chosen=chosen,
                requests=args.requests,
                warmup=args.warmup,
                failures=failures,
                rss=rss,
                verbose=number == 1,
            )
        )
    timings["timing"] = time.perf_counter() - started
    merged = merge(runs)
    print("One more request per URL and user, its queries captured…", flush=True)
    shares = {}
    for role, client in clients.items():
        for scenario in chosen:
            if (scenario.path, role) not in failures:
                shares[scenario.path, role] = database_share(client, scenario.path)
    raw = merged[f"{RAW_QUERY} (baseline)", "-"]
    healthz = {role: merged.get(("/healthz", role)) for role in clients}

    table = [
        "| URL | user | p50 ms | p95 ms | max ms | target ms | within (p95) | p50 / healthz "
        "| p50 / count(*) | database ms (queries) | HTML KiB |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        f"| raw `{RAW_QUERY}` | - | {raw['p50']:.1f} | "
        f"{raw['p95']:.1f} | {raw['max']:.1f} | | | | 1.0× | | |",
    ]
    verdicts = {"pass": 0, "fail": 0, "error": 0}
    ranked = []
    for scenario in chosen:
        for role in clients:
            key = (scenario.path, role)
            target = f"{scenario.target_ms:.0f}" if scenario.target_ms else ""
            if key in failures:
                failure = failures[key]
                verdicts["error"] += 1
                table.append(
                    f"| `{scenario.path}` | {role} | | | | {target} | "
                    f"**HTTP {failure.status}** | | | | |"
                )
                continue
            stats = merged[key]
            verdict = ""
            if scenario.target_ms:
                ok = stats["p95"] <= scenario.target_ms
                verdicts["pass" if ok else "fail"] += 1
                verdict = "yes" if ok else "**NO**"
                ranked.append((stats["p50"], scenario, role, shares[key]["db_ms"]))
            base_ms = healthz[role]["p50"] if healthz[role] else None
            ratio = f"{stats['p50'] / base_ms:.0f}×" if base_ms else ""
            table.append(
                f"| `{scenario.path}` | {role} | {stats['p50']:.0f} | {stats['p95']:.0f} | "
                f"{stats['max']:.0f} | {target} | {verdict} | {ratio} | "
                f"{stats['p50'] / raw['p50']:.1f}× | {shares[key]['db_ms']:.0f} "
                f"({shares[key]['queries']}) | {shares[key]['kib']:.0f} |"
            )
    ranked.sort(key=lambda item: -item[0])
    # The slowest dashboard, the slowest report, and the report that spends the most time in
    # the database (the slowest may be slow in Python).
    slowest = []
    for group in ("dashboard", "report"):
        worst = next((item for item in ranked if item[1].group == group), None)
        if worst:
            slowest.append(worst)
    by_database = sorted((i for i in ranked if i[1].group == "report"), key=lambda i: -i[3])
    if by_database and by_database[0] not in slowest:
        slowest.append(by_database[0])
    explains = []
    for _p50, scenario, role, _db_ms in slowest:
        print(f"EXPLAIN of {scenario.path} as {role}…", flush=True)
        explains += explain(clients[role], scenario, role, top=args.explain)
    failure_lines = [
        f"- `{path}` as {role}: HTTP {failure.status}: {failure.body}"
        for (path, role), failure in failures.items()
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, setting, unit FROM pg_settings WHERE name IN ('shared_buffers',"
            " 'work_mem', 'effective_cache_size', 'max_parallel_workers_per_gather', 'jit',"
            " 'random_page_cost')"
        )
        server = ", ".join(f"{n}={v}{u or ''}" for n, v, u in cursor.fetchall())
    rss_after = peak_rss_mb()
    worst_rss = sorted(rss.items(), key=lambda item: -item[1])[:3]
    header = [
        f"## Reports benchmark: {info['database']}, {sizes['opportunities']:,} opportunities, "
        f"{sizes['activities']:,} activities",
        "",
        *(f"- {key}: {value}" for key, value in info.items()),
        f"- server settings: {server}",
        f"- command: `{' '.join(sys.argv)}`",
        f"- runs: {args.runs} × {args.requests} timed requests per URL and user (after "
        f"{args.warmup} untimed); figures are the median over the runs of each run's "
        "p50 / p95 / max",
        f"- generation: {timings['generation']:.0f} s"
        if "generation" in timings
        else "- generation: reused database",
        f"- timing took {timings['timing']:.0f} s; load average at the end: "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
        + " (a shared machine: others' work runs at the same time)",
        "- p50 / healthz and p50 / count(*): the page's median against the same user's "
        "/healthz median and the raw count's; database ms (queries): one more request with "
        "its queries captured (Django's timing of each query)",
        f"- users: admin {users['admin'].username}, manager {users['manager'].username} "
        f"(teams {users['manager'].scope_team_ids()}), rep {users['rep'].username}; "
        "opportunities visible: "
        + ", ".join(f"{role} {count:,}" for role, count in visible.items()),
        f"- targets: dashboard p95 <= {TARGET_DASHBOARD_MS:.0f} ms, reports p95 <= "
        f"{TARGET_REPORT_MS:.0f} ms; within target {verdicts['pass']}, over "
        f"{verdicts['fail']}, not 200 {verdicts['error']}",
        f"- peak RSS of the process: {rss_before:.0f} MB before serving, {rss_after:.0f} MB "
        "after; highest marks reached during: "
        + "; ".join(f"`{path}` as {role} {mb:.0f} MB" for (path, role), mb in worst_rss),
        *(f"- report tables: {note}" for note in notes),
        *(
            [f"- WARNING, indexes the models declare but the database lacks: {missing}"]
            if missing
            else []
        ),
        "",
        "### Data",
        "",
        *facts,
        "",
        "### Results",
        "",
    ]
    report = "\n".join(header + table)
    print("\n" + report + "\n")
    if failure_lines:
        print("\n".join(["### Not 200", "", *failure_lines]))
    for line in explains:
        if line.startswith(("### ", "#### ", "Dominant", "`/")):
            print(line)
    results = base.ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    name = f"reports_{stamp}.md"
    body = [report, ""]
    if failure_lines:
        body += ["### Not 200", "", *failure_lines, ""]
    body += explains
    (results / name).write_text("\n".join(body) + "\n", encoding="utf-8")
    print(f"Written to bench/results/{name}")


if __name__ == "__main__":
    main()
