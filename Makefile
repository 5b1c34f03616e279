# fraudloop: `make run` starts everything on a laptop, `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint format benchmarks clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch first and pinned: an unpinned torch pulls a multi-GB CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The development server: DEBUG on (the public development key, plain-HTTP cookies).
run: export DEBUG = true
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py quickstart
	@echo "fraudloop: web on http://127.0.0.1:8000 with Celery workers (light tasks, training) and beat; Ctrl-C stops them all."
	$(BIN)/honcho start -f Procfile

test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

benchmarks: export DEBUG = true
benchmarks: install
	$(BIN)/python benchmarks/import_speed.py
	$(BIN)/python benchmarks/cold_start.py
	$(BIN)/python benchmarks/cold_start.py --generated
	$(BIN)/python benchmarks/label_efficiency.py
	$(BIN)/python benchmarks/retrain_cycle.py
	$(BIN)/python benchmarks/annotate_speed.py --review --browser
	$(BIN)/python benchmarks/export_speed.py
	$(BIN)/python benchmarks/answer_cost.py
	$(BIN)/python benchmarks/load.py

clean:
	rm -rf $(VENV) var db.sqlite3
