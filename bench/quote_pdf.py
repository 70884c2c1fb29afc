"""Benchmark of a quote's PDF: how long a 200-line quote takes to become a PDF.

    .venv/bin/python bench/quote_pdf.py [--lines 200] [--runs 5]

It builds one quote of --lines realistic lines (catalog-like Spanish descriptions of several
lengths, quantities with decimals, discounts, VAT 21/10/4/0 % and exempt, some monthly and
yearly services) in a database of its own (SQLite in var/bench/, or with DATABASE_URL the
PostgreSQL database crm_bench_pdf, created and dropped here), then measures, each --runs times
after one warm-up, in the same process:

  pdf         crm.sales.pdf.quote_pdf: read the quote and its lines, format them, render the
              template, WeasyPrint (layout + PDF): what the PDF page and the e-mail cost
  html        quote_document + the same template rendered alone (no PDF): the baseline
  weasyprint  html_to_pdf of the already rendered HTML: WeasyPrint's share

It prints a markdown table (median, min, max in ms; pages and size of the PDF) and writes it to
bench/results/quote_pdf_*.md and .json. It measures; it never fails on a figure. The target
(issue): a quote of 200 lines renders its PDF in at most 2 s.
"""

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
import warnings
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("BENCH_DB_NAME", "crm_bench_pdf")
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
warnings.filterwarnings("ignore", message="No directory at")

TARGET_MS = 2000.0

ITEMS = [
    "Central de alarma AX-500 con módulo 4G y batería de respaldo",
    "Detector volumétrico PIR de doble tecnología, inmune a mascotas de hasta 25 kg",
    "Cámara IP exterior 4 MP con visión nocturna de 30 m y analítica de vídeo",
    "Instalación y puesta en marcha (hora de técnico)",
    "Cable UTP categoría 6 para exterior, bobina de 305 m",
    "Sirena exterior autoalimentada con flash",
    "Teclado de control con lector de proximidad",
    "Grabador NVR de 16 canales con disco duro de 4 TB",
    "Licencia anual de la aplicación móvil para 5 usuarios",
    "Servicio de conexión a central receptora de alarmas",
    "Mantenimiento preventivo con dos visitas al año y revisión de baterías",
    "Curso de formación a usuarios del sistema",
    "Desplazamiento fuera de la provincia",
    "Contrato de soporte remoto 24×7",
    "Pan de molde integral sin azúcar añadido",
    "Libro técnico de referencia",
]
VATS = ["21"] * 6 + ["10", "10", "4", "0", "exempt"]
RECURRENCES = ["one_off"] * 8 + ["monthly", "yearly"]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    return parser.parse_args()


def build_quote(lines: int):
    from crm.customers.models import Account, AccountKind, Contact
    from crm.sales import services
    from crm.sales.models import Quote, QuoteLine
    from crm.users.models import Role
    from crm.users.services import user_create

    owner = user_create(
        actor=None,
        fields={"username": "bench.rep", "first_name": "Laura", "role": Role.ADMIN},
        password=os.urandom(16).hex(),
    )
    account = Account.objects.create(
        kind=AccountKind.COMPANY,
        name="Talleres Pérez Hermanos SL",
        nif="B12345674",
        owner=owner,
        billing_street="Polígono Industrial Las Arenas, nave 7",
        billing_postal_code="28905",
        billing_city="Getafe",
        billing_province="28",
    )
    contact = Contact.objects.create(
        account=account, first_name="Ana", last_name="Gil", email="ana@talleresperez.es"
    )
    opportunity = services.opportunity_create(
        actor=owner,
        fields={"title": "Seguridad de la nave", "account": account, "contact": contact},
    )
    quote = Quote.objects.create(
        opportunity=opportunity,
        contact=contact,
        title="Sistema de seguridad integral",
        valid_until=datetime.now(UTC).date() + timedelta(days=30),
        term_months=36,
        notes="Precios válidos para pedidos antes de fin de mes.\nPlazo de instalación: 2 semanas.",
    )
    rnd = random.Random(2026)
    QuoteLine.objects.bulk_create(
        QuoteLine(
            quote=quote,
            position=n,
            description=(
                f"{rnd.choice(ITEMS)}" + (f" — referencia {rnd.randint(1000, 9999)}" * (n % 3))
            ),
            quantity=Decimal(rnd.choice(["1", "2", "3.5", "12", "0.750", "100"])),
            unit=rnd.choice(["ud.", "h", "m", "kg"]),
            unit_price=Decimal(rnd.randint(100, 250000)) / 100,
            discount_percent=Decimal(rnd.choice(["0", "0", "5", "10", "12.5"])),
            vat_rate=rnd.choice(VATS),
            recurrence=rnd.choice(RECURRENCES),
        )
        for n in range(lines)
    )
    return services.quote_recalculate(quote)


def timed(function, runs: int) -> tuple[list[float], list[float], object]:
    """Wall-clock and CPU milliseconds of each run (CPU time shows how much of the wall time a
    busy machine added), and the last result."""
    result = function()  # warm-up: template loading, fonts, CSS parsing caches
    times, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = function()
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return times, cpu, result


def machine() -> dict[str, str]:
    cpu = platform.machine()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    database = "PostgreSQL" if os.environ.get("DATABASE_URL", "").startswith("postgres") else ""
    import weasyprint

    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": f"{cpu}, {os.cpu_count()} cores",
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "python": platform.python_version(),
        "weasyprint": weasyprint.__version__,
        "database": database or "SQLite",
    }


def main() -> None:
    args = parse_args()
    import django
    from django.conf import settings

    from bench.run import drop_database, prepare_database

    prepare_database(settings, reuse=False)
    django.setup()
    import logging

    from django.core.management import call_command

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    call_command("migrate", verbosity=0)
    try:
        from weasyprint import HTML

        from crm.sales import pdf

        quote = build_quote(args.lines)
        info = machine()
        figures = {}
        pdf_times, pdf_cpu, data = timed(lambda: pdf.quote_pdf(quote), args.runs)
        html_times, html_cpu, html = timed(lambda: pdf.render_quote_html(quote), args.runs)
        wp_times, wp_cpu, _ = timed(lambda: pdf.html_to_pdf(html), args.runs)
        pages = len(
            HTML(string=html, base_url=pdf.BASE_URL, url_fetcher=pdf.LockedURLFetcher())
            .render()
            .pages
        )
        for name, times, cpu in (
            ("pdf", pdf_times, pdf_cpu),
            ("html", html_times, html_cpu),
            ("weasyprint", wp_times, wp_cpu),
        ):
            figures[name] = {
                "median": statistics.median(times),
                "min": min(times),
                "max": max(times),
                "cpu_median": statistics.median(cpu),
                "runs": times,
            }
    finally:
        if not args.keep:
            drop_database(settings)

    ok = figures["pdf"]["median"] <= TARGET_MS
    rows = [
        ("PDF (quote_pdf: read, format, template, WeasyPrint)", figures["pdf"]),
        ("baseline: HTML alone (quote_document + template)", figures["html"]),
        ("WeasyPrint alone (html_to_pdf of that HTML)", figures["weasyprint"]),
    ]
    table = [
        "| measure | median ms | min ms | max ms | CPU median ms |",
        "| --- | ---: | ---: | ---: | ---: |",
        *(
            f"| {label} | {f['median']:.0f} | {f['min']:.0f} | {f['max']:.0f} "
            f"| {f['cpu_median']:.0f} |"
            for label, f in rows
        ),
    ]
    ratio = figures["pdf"]["median"] / max(figures["html"]["median"], 0.001)
    lines = [
        f"# Quote PDF: {args.lines} lines, {args.runs} runs after a warm-up",
        "",
        *(f"- {key}: {value}" for key, value in info.items()),
        f"- PDF: {pages} pages, {len(data) / 1024:.0f} KiB; HTML: {len(html) / 1024:.0f} KiB",
        "",
        *table,
        "",
        f"PDF median {figures['pdf']['median']:.0f} ms against the target of "
        f"{TARGET_MS:.0f} ms: {'met' if ok else 'NOT met'}; "
        f"{ratio:.0f}× the HTML alone.",
        "",
    ]
    report = "\n".join(lines)
    print(report)
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    name = f"quote_pdf_{stamp}-{info['database'].lower()}-{args.lines}"
    (results / f"{name}.md").write_text(report, encoding="utf-8")
    payload = {"machine": info, "lines": args.lines, "pages": pages, "bytes": len(data)}
    (results / f"{name}.json").write_text(json.dumps(payload | {"figures": figures}, indent=2))


if __name__ == "__main__":
    main()
