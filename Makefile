# Two commands do all set-up on a fresh Debian machine: `make demo` and `make test`.
VENV := .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: system venv setup demo test lint bench clean

system:
	$(SUDO) bash scripts/install-system.sh

$(VENV)/.installed: pyproject.toml
	[ -x $(PY) ] || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]' --config-settings editable_mode=compat
	touch $@

venv: $(VENV)/.installed

setup: system venv

demo: setup
	$(VENV)/bin/hotline setup
	$(VENV)/bin/hotline demo $(if $(SPEECH),--speech "$(SPEECH)")

test: setup
	$(VENV)/bin/pytest -q -rs --durations=15

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports  # the one-way house: .importlinter, ARCHITECTURE.md
	$(VENV)/bin/mypy $$(ls -d foundation agi asr ivr_flows api tickets routing prompts hotline deadlines \
	  accounts notify escalation callbacks reports knowledge console tests bench 2>/dev/null)

# Each script ends with one line of key=value figures. bench/load.py takes --calls 1,50,100,200 or
# --peak-day; it is left out here because it needs the machine to itself for about half an hour.
bench: setup
	$(PY) bench/router.py
	$(PY) bench/asr.py
	$(PY) bench/turn_latency.py
	$(PY) bench/screen_pop.py
	$(PY) bench/dialer.py
	$(PY) bench/on_call_sweep.py
	$(PY) bench/sweep_escalation.py
	$(PY) bench/hot_issues.py
	$(PY) bench/open311.py
	$(PY) bench/hardening.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
