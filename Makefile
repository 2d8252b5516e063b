# Entry points: make demo (the main job on SQLite, no services), make run, make serve, make test,
# make lint, make bench.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | md5sum | cut -c1-12)

.PHONY: venv demo run serve test lint format bench-remediation bench-sync bench-webhooks bench-scale bench-admin clean

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $@

demo: $(STAMP)
	PYTHON=$(PY) ./scripts/demo.sh

run: $(STAMP)
	PYTHON=$(PY) ./scripts/run.sh

# Production mode, the web process only (scripts/serve.sh web|worker|beat; see README Deploying).
serve: $(STAMP)
	PYTHON=$(PY) ./scripts/serve.sh web

# Two processes (pytest-xdist), a test file each at a time: files share module fixtures.
test: $(STAMP)
	$(PY) -m pytest -n $${TEST_PROCESSES:-2} --dist loadfile

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench-remediation: $(STAMP)
	$(PY) bench/remediation.py --scale $${SCALE:-0.05}

bench-sync: $(STAMP)
	$(PY) bench/sync.py --scale $${SCALE:-1.0}

bench-webhooks: $(STAMP)
	$(PY) bench/webhooks.py --scale $${SCALE:-0.1}

bench-scale: $(STAMP)
	$(PY) bench/scale.py --companies $${COMPANIES:-50}

bench-admin: $(STAMP)
	$(PY) bench/admin.py --scale $${SCALE:-0.2}

clean:
	rm -rf var/demo.sqlite3 .pytest_cache
