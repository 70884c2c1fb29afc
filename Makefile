# The only commands a newcomer needs: make run, make test (and make bench, make lint).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# A local try-out runs with DEBUG on (plain HTTP, console e-mail) and answers any host name,
# so that a phone on the same network can open it (make run HOST=0.0.0.0).
RUN_ENV := DEBUG=$${DEBUG:-1} ALLOWED_HOSTS=$${ALLOWED_HOSTS:-*}

.PHONY: install run test lint format bench messages lock clean

$(BIN)/.installed: requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements.lock
	touch $@

install: $(BIN)/.installed

run: install
	mkdir -p var
	$(RUN_ENV) $(BIN)/python manage.py migrate --noinput
	$(RUN_ENV) $(BIN)/python manage.py bootstrap
	@echo "Serving http://$(HOST):$(PORT)/ with the background worker (Ctrl+C stops both)."
	@trap 'kill 0' INT TERM EXIT; \
	$(RUN_ENV) $(BIN)/python manage.py run_huey --logfile var/worker.log & \
	$(RUN_ENV) $(BIN)/python manage.py runserver $(HOST):$(PORT)

test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	CRM_TESTING=1 $(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	$(BIN)/python bench/run.py
	$(BIN)/python bench/import_leads.py
	$(BIN)/python bench/board.py
	$(BIN)/python bench/quote_pdf.py
	$(BIN)/python bench/automation.py
	@case "$$DATABASE_URL" in postgres*) $(BIN)/python bench/reports.py --reuse --keep ;; \
	*) echo "bench/reports.py runs on PostgreSQL only: set DATABASE_URL=postgres://... (skipped)" ;; esac

messages: install
	CRM_TESTING=1 $(BIN)/python manage.py makemessages -l es -l en --ignore=.venv --ignore=var --ignore=bench --ignore=tests
	CRM_TESTING=1 $(BIN)/python manage.py compilemessages --ignore=.venv

# Re-pin every dependency (with hashes) after changing pyproject.toml.
lock:
	$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links --extra dev \
		--output-file requirements.lock pyproject.toml

clean:
	rm -rf $(VENV) var/static
