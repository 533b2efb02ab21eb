# Two commands on a fresh machine:
#   make run    build what is missing (venv, packages, demo database) and start the dashboard
#   make test   run the whole test suite
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8501
DB := data/monitor.db

.PHONY: run test demo bench evaluate clean

$(VENV)/.installed: requirements.txt
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(DB): $(VENV)/.installed
	$(PY) -m monitor demo --db $(DB)

demo: $(DB)

run: $(DB)
	$(PY) -m streamlit run dashboard.py --server.port $(PORT) --server.headless true --browser.gatherUsageStats false

test: $(VENV)/.installed
	$(PY) -m pytest -q -n auto --maxprocesses 4 --dist loadscope tests

evaluate: $(VENV)/.installed
	$(PY) -m monitor evaluate --write docs/EVALUATION.md

bench: $(VENV)/.installed
	$(PY) -m monitor bench

clean:
	rm -rf $(VENV) data/cache $(DB) $(DB)-wal $(DB)-shm
