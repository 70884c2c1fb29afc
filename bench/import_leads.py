"""Benchmark of the lead import: time and peak memory of importing a large CSV.

    .venv/bin/python bench/import_leads.py [--rows 100000] [--runs 3] [--batch-size 2000]

It writes a realistic Spanish CSV as Excel saves it (semicolons, Windows-1252, 12 columns:
names with accents, companies, e-mails, phones in mixed formats, valid NIF/CIF/NIE, provinces
by name, cities, channel, campaign, score, notes), with about 3 % invalid rows and 2 % rows that
repeat an earlier e-mail. Each measurement runs in a subprocess of its own, on a fresh database
(SQLite in var/bench/, or with DATABASE_URL the PostgreSQL database crm_bench_import, created
and dropped here), so that its peak memory (ru_maxrss) is that measurement's alone:

  import      lead_import_create (reading, detecting, counting) + lead_import_run (the job,
              synchronously): cleaning, duplicates, assignment, bulk writes, counters
  baseline    Lead.objects.bulk_create of the same rows, already parsed into Lead objects
              (no validation, no duplicates, no assignment): what the database costs at least

It prints a markdown table (medians of --runs) and writes it to bench/results/import_*.md and
.json. It measures; it never fails on a figure. Targets (issue): 100,000 rows in at most 20 s
on SQLite, at most 300 MB peak, import time at most 3x the baseline's.
"""

import argparse
import csv
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("BENCH_DB_NAME", "crm_bench_import")
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
warnings.filterwarnings("ignore", message="No directory at")

TARGET_SECONDS = 20.0
TARGET_MB = 300.0
TARGET_RATIO = 3.0

HEADERS = [
    "Nombre",
    "Apellidos",
    "Empresa",
    "Correo electrónico",
    "Teléfono",
    "CIF/NIF",
    "Provincia",
    "Población",
    "Canal",
    "Campaña",
    "Puntuación",
    "Observaciones",
]
FIRST = [
    "María",
    "José",
    "Antonio",
    "Carmen",
    "Manuel",
    "Lucía",
    "Javier",
    "Begoña",
    "Íñigo",
    "Núria",
    "Jordi",
    "Ángela",
    "Óscar",
    "Sofía",
    "Raúl",
    "Inés",
    "Andrés",
    "Elena",
    "Sergio",
    "Marta",
    "Álvaro",
    "Pilar",
    "Víctor",
    "Noelia",
    "Joaquín",
    "Rocío",
]
LAST = [
    "García",
    "Fernández",
    "González",
    "Rodríguez",
    "López",
    "Martínez",
    "Sánchez",
    "Pérez",
    "Gómez",
    "Martín",
    "Jiménez",
    "Ruiz",
    "Hernández",
    "Díaz",
    "Moreno",
    "Muñoz",
    "Álvarez",
    "Romero",
    "Alonso",
    "Gutiérrez",
    "Navarro",
    "Torres",
    "Domínguez",
    "Vázquez",
    "Ramos",
    "Gil",
    "Ramírez",
    "Serrano",
    "Blanco",
    "Molina",
    "Castaño",
    "Ibáñez",
    "Núñez",
    "Peña",
]
COMPANY_WORDS = [
    "Talleres",
    "Distribuciones",
    "Construcciones",
    "Asesoría",
    "Panadería",
    "Transportes",
    "Consultoría",
    "Hostelería",
    "Gráficas",
    "Reformas",
    "Suministros",
    "Clínica",
    "Academia",
    "Bodegas",
    "Ferretería",
    "Óptica",
]
FORMS = ["SL", "SA", "SLU", "SCoop", "CB"]
DOMAINS = ["gmail.com", "hotmail.es", "telefonica.net", "empresa.es", "correo.com"]
PROVINCES = [
    ("Madrid", "Madrid"),
    ("Barcelona", "Barcelona"),
    ("Valencia/València", "Valencia"),
    ("Sevilla", "Sevilla"),
    ("A Coruña", "Santiago de Compostela"),
    ("Bizkaia", "Bilbao"),
    ("Illes Balears", "Palma"),
    ("Málaga", "Marbella"),
    ("Zaragoza", "Zaragoza"),
    ("Gipuzkoa", "Donostia"),
    ("Murcia", "Cartagena"),
    ("Las Palmas", "Las Palmas de Gran Canaria"),
    ("Alicante", "Elche"),
    ("Asturias", "Gijón"),
]
CHANNELS = ["Web", "Feria", "Teléfono", "Recomendación", "Redes sociales", ""]
CAMPAIGNS = ["Primavera 2026", "Feria Construmat", "Newsletter", "Black Friday", ""]
DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3, help="rounds of measures (median)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--profile", action="store_true", help="cProfile one import, print top")
    parser.add_argument("--child", choices=["import", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--file", default="", help=argparse.SUPPRESS)
    return parser.parse_args()


# -- the file ---------------------------------------------------------------------------------


def _phone(rnd: random.Random) -> str:
    mobile = rnd.random() < 0.6
    digits = f"6{rnd.randrange(10**8):08d}" if mobile else f"91{rnd.randrange(10**7):07d}"
    style = rnd.randrange(5)
    if style == 0:
        return f"{digits[:3]} {digits[3:5]} {digits[5:7]} {digits[7:]}"
    if style == 1:
        return f"+34 {digits}"
    if style == 2:
        return "-".join([digits[:3], digits[3:6], digits[6:]])
    if style == 3:
        return f"(+34) {digits[:3]} {digits[3:6]} {digits[6:]}"
    return digits


def _nif(rnd: random.Random) -> str:
    from stdnum.es import cif

    kind = rnd.randrange(3)
    if kind == 0:  # DNI
        number = rnd.randrange(10**7, 10**8)
        return f"{number}{DNI_LETTERS[number % 23]}"
    if kind == 1:  # NIE
        prefix = rnd.choice("XYZ")
        number = rnd.randrange(10**7)
        value = int("XYZ".index(prefix).__str__() + f"{number:07d}")
        return f"{prefix}{number:07d}{DNI_LETTERS[value % 23]}"
    body = rnd.choice("ABG") + f"{rnd.randrange(10**7):07d}"
    return body + cif.calc_check_digits(body)[0]


def _slug(text: str) -> str:
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if c.isalnum() and not unicodedata.combining(c)).lower()


def generate(path: Path, rows: int, seed: int) -> dict[str, int]:
    """Write the CSV; return how many rows were made invalid and duplicated on purpose."""
    rnd = random.Random(seed)
    invalid = duplicates = 0
    emails: list[str] = []
    with path.open("w", encoding="cp1252", newline="") as handle:
        writer = csv.writer(handle, delimiter=";", lineterminator="\r\n")
        writer.writerow(HEADERS)
        for i in range(rows):
            first, last = rnd.choice(FIRST), f"{rnd.choice(LAST)} {rnd.choice(LAST)}"
            company = f"{rnd.choice(COMPANY_WORDS)} {rnd.choice(LAST)} {rnd.choice(FORMS)}"
            email = f"{_slug(first)}.{_slug(last.split()[0])}{i}@{rnd.choice(DOMAINS)}"
            phone, nif = _phone(rnd), _nif(rnd)
            province, city = rnd.choice(PROVINCES)
            notes = rnd.choice(["", "", "Llamar por la tarde", "Pide presupuesto; urgente"])
            if rnd.random() < 0.1:
                notes = "Visita en feria:\nquiere catálogo de 2026 (precio 1.200 €)"
            dice = rnd.random()
            if dice < 0.01:
                email, invalid = email.replace("@", " at "), invalid + 1
            elif dice < 0.02:
                phone, invalid = "12345", invalid + 1
            elif dice < 0.03:
                nif, invalid = nif[:-1] + ("A" if nif[-1] != "A" else "B"), invalid + 1
            elif dice < 0.05 and emails:
                email, duplicates = rnd.choice(emails), duplicates + 1
            emails.append(email)
            if len(emails) > 5000:
                emails = emails[-2500:]
            writer.writerow(
                [
                    first,
                    last,
                    company if rnd.random() < 0.85 else "",
                    email,
                    phone,
                    nif if rnd.random() < 0.7 else "",
                    province,
                    city,
                    rnd.choice(CHANNELS),
                    rnd.choice(CAMPAIGNS),
                    str(rnd.randrange(101)),
                    notes,
                ]
            )
    return {"invalid": invalid, "duplicates": duplicates}


# -- one measurement, in its own process ------------------------------------------------------


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child(args: argparse.Namespace) -> None:
    from django.conf import settings

    from bench.run import drop_database, prepare_database

    prepare_database(settings, reuse=False)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from crm.users.models import Role
    from crm.users.services import user_create

    admin = user_create(
        actor=None,
        fields={"username": "bench.admin", "first_name": "Bench", "role": Role.ADMIN},
        password=os.urandom(16).hex(),
    )
    vendor = connection.vendor
    before_mb = _peak_mb()
    path = Path(args.file)
    result: dict = {"vendor": vendor, "peak_mb_before": round(before_mb, 1)}
    if args.child == "import":
        from django.core.files import File

        from crm.leads import imports

        profiler = None
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        cpu_started = _cpu_seconds()
        started = time.perf_counter()
        with path.open("rb") as handle:
            lead_import = imports.lead_import_create(
                actor=admin, uploaded_file=File(handle, name=path.name)
            )
        read_s = time.perf_counter() - started
        imports.lead_import_start(
            actor=admin,
            lead_import=lead_import,
            mapping=imports.suggest_mapping(lead_import.headers),
            enqueue=False,
        )
        done = imports.lead_import_run(import_id=lead_import.pk, batch_size=args.batch_size)
        seconds = time.perf_counter() - started
        cpu = _cpu_seconds() - cpu_started
        if profiler:
            import pstats

            profiler.disable()
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(45)
        result |= {
            "seconds": seconds,
            "cpu_seconds": cpu,
            "read_seconds": read_s,
            "status": done.status,
            "error": done.error,
            "rows": done.total_rows,
            "created": done.created_count,
            "updated": done.updated_count,
            "skipped": done.skipped_count,
            "failed": done.failed_count,
        }
    else:
        from django.db import transaction

        from crm.leads.models import Lead

        leads = []
        with path.open(encoding="cp1252", newline="") as handle:
            reader = csv.reader(handle, delimiter=";")
            next(reader)
            for number, cells in enumerate(reader, start=2):
                first, last, company, email, phone, nif, _prov, city, _c, campaign, score, notes = (
                    cells
                )
                lead = Lead(
                    first_name=first,
                    last_name=last,
                    company=company,
                    email=email[:254],
                    phone=phone[:20],
                    nif=nif[:15],
                    city=city,
                    campaign=campaign,
                    score=int(score),
                    notes=notes,
                    created_by=admin,
                    import_row=number,
                )
                lead.refresh_search_text()
                leads.append(lead)
        cpu_started = _cpu_seconds()
        started = time.perf_counter()
        with transaction.atomic():
            Lead.objects.bulk_create(leads, batch_size=args.batch_size)
        seconds = time.perf_counter() - started
        cpu = _cpu_seconds() - cpu_started
        result |= {
            "seconds": seconds,
            "cpu_seconds": cpu,
            "rows": len(leads),
            "created": len(leads),
        }
    result["peak_mb"] = round(_peak_mb(), 1)
    drop_database(settings)
    print("RESULT " + json.dumps(result), flush=True)


def measure(kind: str, path: Path, args: argparse.Namespace) -> dict:
    command = [
        sys.executable,
        __file__,
        "--child",
        kind,
        "--file",
        str(path),
        "--batch-size",
        str(args.batch_size),
    ]
    if args.profile:
        command.append("--profile")
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)  # noqa: S603
    if args.profile and done.stderr:
        print(done.stderr[-20000:], file=sys.stderr)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode or not lines:
        raise SystemExit(f"{kind} measurement failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(lines[-1][len("RESULT ") :])


def machine() -> dict[str, str]:
    import platform

    cpu = platform.machine()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    database = "PostgreSQL" if os.environ.get("DATABASE_URL", "").startswith("postgres") else ""
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": f"{cpu}, {os.cpu_count()} cores",
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "python": platform.python_version(),
        "database": database or "SQLite",
    }


def main() -> None:
    args = parse_args()
    if args.child:
        child(args)
        return
    bench_dir = ROOT / "var" / "bench"
    bench_dir.mkdir(parents=True, exist_ok=True)
    path = bench_dir / f"import_leads_{args.rows}_{args.seed}.csv"
    print(f"Writing {args.rows:,} rows to {path.relative_to(ROOT)}…", flush=True)
    made = generate(path, args.rows, args.seed)
    info = machine()
    runs = []
    for number in range(1, args.runs + 1):
        print(f"Run {number}/{args.runs}…", flush=True)
        imported = measure("import", path, args)
        baseline = measure("baseline", path, args)
        runs.append({"import": imported, "baseline": baseline})
        print(
            f"  import {imported['seconds']:.1f} s, {imported['peak_mb']:.0f} MB; "
            f"baseline {baseline['seconds']:.1f} s, {baseline['peak_mb']:.0f} MB",
            flush=True,
        )
        if args.profile:
            break
    median = {
        kind: {
            key: statistics.median(run[kind][key] for run in runs)
            for key in ("seconds", "cpu_seconds", "peak_mb")
        }
        for kind in ("import", "baseline")
    }
    ratio = median["import"]["seconds"] / median["baseline"]["seconds"]
    last = runs[-1]["import"]

    def mark(ok: bool) -> str:
        return "✅" if ok else "❌"

    lines = [
        f"## Lead import benchmark: {info['database']}, "
        f"{args.rows:,} rows × {len(HEADERS)} columns",
        "",
        *(f"- {key}: {value}" for key, value in info.items()),
        f"- file: {path.stat().st_size / 2**20:.1f} MB, semicolons, Windows-1252; "
        f"{made['invalid']} invalid and {made['duplicates']} duplicated rows on purpose",
        f"- runs: {len(runs)} (median), batch size {args.batch_size}, each in its own process",
        f"- result: {last['status']}: created {last['created']:,}, updated {last['updated']:,}, "
        f"skipped {last['skipped']:,}, failed {last['failed']:,}",
        "",
        "| measure | wall time s | CPU time s | peak memory MB (process) | target |",
        "| --- | --- | --- | --- | --- |",
        f"| import (create + run) | {median['import']['seconds']:.1f} | "
        f"{median['import']['cpu_seconds']:.1f} | "
        f"{median['import']['peak_mb']:.0f} | ≤ {TARGET_SECONDS:.0f} s "
        f"{mark(median['import']['seconds'] <= TARGET_SECONDS)}, ≤ {TARGET_MB:.0f} MB "
        f"{mark(median['import']['peak_mb'] <= TARGET_MB)} |",
        f"| baseline bulk_create | {median['baseline']['seconds']:.1f} | "
        f"{median['baseline']['cpu_seconds']:.1f} | "
        f"{median['baseline']['peak_mb']:.0f} | |",
        f"| ratio import / baseline | {ratio:.1f}× | | | ≤ {TARGET_RATIO:.0f}× "
        f"{mark(ratio <= TARGET_RATIO)} |",
        "",
        f"Reading and counting the file (part of the import): {last['read_seconds']:.1f} s. "
        f"Peak memory of a process after Django set-up and migrate, before measuring: "
        f"{last['peak_mb_before']:.0f} MB.",
    ]
    table = "\n".join(lines)
    print("\n" + table + "\n")
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    vendor = "postgresql" if info["database"] == "PostgreSQL" else "sqlite"
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    report = results / f"import_{stamp}-{vendor}-{args.rows}.md"
    report.write_text(table + "\n")
    report.with_suffix(".json").write_text(
        json.dumps({"info": info, "args": vars(args), "made": made, "runs": runs}, indent=1)
    )
    print(f"Written to {report.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
