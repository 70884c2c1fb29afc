"""Settings of the benchmark: the project's own, on a database of its own.

SQLite: var/bench/crm_bench.sqlite3 (never the user's var/crm.sqlite3).
PostgreSQL (DATABASE_URL set): the same server, database `crm_bench` (BENCH_DB_NAME).
Everything else (middleware, templates, session handling, DEBUG off) is production's.
"""

import os
import secrets

# Production settings refuse to start without a secret; the benchmark's is thrown away.
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))

from config.settings import *  # noqa: E402, F403
from config.settings import DATABASES, HUEY, STORAGES, VAR_DIR  # noqa: E402

BENCH_DIR = VAR_DIR / "bench"
BENCH_DB_NAME = os.environ.get("BENCH_DB_NAME", "crm_bench")

DEBUG = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["NAME"] = BENCH_DIR / f"{BENCH_DB_NAME}.sqlite3"
else:
    DATABASES["default"]["NAME"] = BENCH_DB_NAME
# django.test.Client talks to "testserver".
ALLOWED_HOSTS = ["testserver"]
# The manifest of collected static files does not exist in a checkout; the pages only need
# the files' URLs.
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if "filename" in HUEY:
    HUEY = {**HUEY, "filename": str(BENCH_DIR / "huey.sqlite3")}
