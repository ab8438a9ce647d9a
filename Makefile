# Two commands on a fresh machine:  `make run`  (set up + launch the app)  and  `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
DATA_DIR ?=

.PHONY: setup run test test-fast lint bench clean-venv installer

setup:
	bash installers/setup_env.sh

run: setup
	$(PY) -m purrsight_app $(if $(DATA_DIR),--data-dir $(DATA_DIR),)

test: setup
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

test-fast: setup
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -m "not slow"

lint: setup
	$(VENV)/bin/ruff check purrsight_app purrsight_model tests benchmarks installers
	$(VENV)/bin/lint-imports

clean-venv:
	rm -rf $(VENV)

installer:  # INSTALLER_ARGS="--bundle DIR" to ship another model (see installers/README.md)
	bash installers/build.sh --smoke $(INSTALLER_ARGS)
