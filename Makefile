# xmplatform: `make demo` to try it, `make test` to check it.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PG_URL ?= postgres://postgres@127.0.0.1:5432/postgres
REDIS ?= redis://127.0.0.1:6379/0
# The integration pass (real workers and the fault drills, mostly waiting on processes and
# outages) runs beside the unit pass in two halves, each on a Redis database and a test database
# of its own: the workers' tests, and the fault drills (tests/integration).
REDIS_INTEGRATION ?= redis://127.0.0.1:6379/1
REDIS_DRILLS ?= redis://127.0.0.1:6379/2
PG_DRILLS_URL ?= $(PG_URL)_drills
HOST ?= 127.0.0.1
PORT ?= 8000
# Settings the PostgreSQL pass and the production runners need besides the two URLs.
PROD_ENV := SECRET_KEY=$${SECRET_KEY:-local-production-like-key-0123456789abcdef0123456789abcdef-$$(hostname)} \
	SECURE_SSL_REDIRECT=$${SECURE_SSL_REDIRECT:-0} SESSION_COOKIE_SECURE=$${SESSION_COOKIE_SECURE:-0} \
	CSRF_COOKIE_SECURE=$${CSRF_COOKIE_SECURE:-0}

# Compiled modules are kept (__pycache__, ignored by git) even where the environment says not to
# write them: each test worker, fault-drill process and start-up check would otherwise compile
# the project and rewrite every test module's asserts again (half of a worker's start).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: install demo test test-sqlite test-postgres drills lint format bench run serve worker beat messages clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: install
	env -u DATABASE_URL -u REDIS_URL $(BIN)/python manage.py migrate --noinput
	env -u DATABASE_URL -u REDIS_URL $(BIN)/python manage.py seed_demo
	@echo "Serving on http://$(HOST):$(PORT)/  (admin: http://$(HOST):$(PORT)/admin/)"
	env -u DATABASE_URL -u REDIS_URL $(BIN)/python manage.py runserver $(HOST):$(PORT)

# The PostgreSQL pass leaves the browser and start-up tests, and the tests of pages, words, sign-in
# and the admin's guards (tests/conftest.py, SQLITE_PASS_ONLY), to the SQLite pass: they check
# what is shown, through the ORM alone; their tests of PostgreSQL's own behaviour stay. Its
# integration pass (real workers, fault drills) runs beside its unit pass. Workers steal work
# from each other, so one long browser test does not leave the other worker idle at the end.
SQLITE_ENV := env -u DATABASE_URL -u REDIS_URL
PG_ENV := env DATABASE_URL=$(PG_URL) REDIS_URL=$(REDIS) $(PROD_ENV)
PYTEST := $(BIN)/python -m pytest -q -p no:cacheprovider
PARALLEL := -n 2 --dist worksteal

test: install test-sqlite test-postgres

test-sqlite: install
	$(SQLITE_ENV) $(PYTEST) $(PARALLEL)

test-postgres: install
	@if env DATABASE_URL=$(PG_URL) REDIS_URL=$(REDIS) $(BIN)/python -m tests.support.services; then \
		log=$$(mktemp); drills_log=$$(mktemp); \
		env DATABASE_URL=$(PG_URL) REDIS_URL=$(REDIS_INTEGRATION) $(PROD_ENV) \
			$(PYTEST) -m integration --ignore=tests/integration >$$log 2>&1 & ipid=$$!; \
		env DATABASE_URL=$(PG_DRILLS_URL) REDIS_URL=$(REDIS_DRILLS) $(PROD_ENV) \
			$(PYTEST) -m integration tests/integration >$$drills_log 2>&1 & dpid=$$!; \
		$(PG_ENV) $(PYTEST) $(PARALLEL) -m "not integration and not browser and not startup"; unit=$$?; \
		wait $$ipid; integration=$$?; echo "--- integration pass (real workers):"; cat $$log; \
		wait $$dpid; drills=$$?; echo "--- integration pass (fault drills):"; cat $$drills_log; \
		rm -f $$log $$drills_log; \
		test $$unit -eq 0 && test $$integration -eq 0 && test $$drills -eq 0; \
	elif [ "$$CI" = "true" ]; then \
		echo "FAIL: PostgreSQL or Redis is not reachable and CI=true; the PostgreSQL pass cannot be skipped."; exit 1; \
	else \
		echo "SKIP: PostgreSQL pass skipped: PostgreSQL ($(PG_URL)) or Redis ($(REDIS)) is not reachable."; \
	fi

# The fault drills alone (part of test-postgres): Redis stopped for 30 s, a worker SIGKILLed,
# PostgreSQL restarted (a private cluster under /tmp), two beats at once; about two minutes.
drills: install
	env DATABASE_URL=$(PG_URL) REDIS_URL=$(REDIS) $(PROD_ENV) \
		$(BIN)/python -m pytest -q -p no:cacheprovider -m integration tests/integration

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	env -u DATABASE_URL -u REDIS_URL $(BIN)/python manage.py makemigrations --check --dry-run
	env -u DATABASE_URL -u REDIS_URL DEBUG=0 SECRET_KEY=lint-check-$$(hostname)-a-long-random-value-for-check-deploy-0123456789 \
		DEFAULT_FROM_EMAIL='xmplatform <surveys@example.com>' \
		$(BIN)/python manage.py check --deploy --fail-level WARNING
	env -u DATABASE_URL -u REDIS_URL $(BIN)/python -m xmplatform.i18n_check

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Benchmarks drive thousands of requests from one address: the per-address rate limit is
# raised out of reach (still counted, so its cost stays in the figures).
# `make bench ONLY="search admin"` runs only bench_search and bench_admin.
bench: install
	env DATABASE_URL=$${DATABASE_URL:-$(PG_URL)} REDIS_URL=$${REDIS_URL:-$(REDIS)} $(PROD_ENV) \
		HOSTED_RATE_LIMIT_PER_IP=$${HOSTED_RATE_LIMIT_PER_IP:-100000000/m} \
		$(BIN)/python bench/run.py $(ONLY)

messages: install
	cd $(CURDIR) && $(BIN)/python manage.py makemessages -l tr -l en --ignore '.venv/*' --ignore 'bench/*' --ignore 'tests/*'
	$(BIN)/python manage.py compilemessages --ignore '.venv/*'

# The production stack (Procfile, run by honcho): gunicorn with whitenoise, a Celery worker and
# beat, against DATABASE_URL and REDIS_URL. HOST=0.0.0.0 listens beyond loopback.
serve: install
	@if [ -z "$$DATABASE_URL" ] || [ -z "$$REDIS_URL" ] || [ -z "$$SECRET_KEY" ]; then \
		echo "make serve runs production settings: set DATABASE_URL, REDIS_URL and SECRET_KEY (README: Running in production)."; exit 1; \
	fi
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput -v 0
	PATH="$(CURDIR)/$(BIN):$$PATH" HOST=$(HOST) PORT=$(PORT) $(BIN)/honcho start -f Procfile

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

worker: install
	$(BIN)/celery -A xmplatform worker -l info -Q default,bulk

beat: install
	$(BIN)/celery -A xmplatform beat -l info

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles
