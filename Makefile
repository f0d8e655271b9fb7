PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test bench clean browser lint bytecode

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(MAKE) --no-print-directory bytecode
	touch $(STAMP)

# an editable install leaves the sources uncompiled, and where PYTHONDONTWRITEBYTECODE is set every
# command would compile them again (70 ms of each start): compile them once, as pip does for a wheel
bytecode:
	$(BIN)/python -m compileall -q analysis sensor barback firmware_spec recordings > /dev/null

demo: $(STAMP)
	$(BIN)/barback demo

test: $(STAMP) browser lint
	$(BIN)/python -m pytest -q

# ruff over the whole repository; mypy over the installed namespace. The card's folders sit at the
# top of the repository but install as barback.analysis, barback.sensor, ...: mypy reads them
# through a tree of links laid out as installed.
TYPECHECK := build/typecheck
lint: $(STAMP)
	$(BIN)/ruff check .
	@rm -rf $(TYPECHECK) && mkdir -p $(TYPECHECK)/barback
	@for f in barback/*; do ln -s "$(CURDIR)/$$f" $(TYPECHECK)/barback/; done
	@for d in analysis sensor firmware_spec recordings; do ln -s "$(CURDIR)/$$d" $(TYPECHECK)/barback/$$d; done
	cd $(TYPECHECK) && $(CURDIR)/$(BIN)/mypy --config-file $(CURDIR)/pyproject.toml -p barback

browser:
	@bash tests/install_browser.sh

bench: $(STAMP) bytecode
	$(BIN)/python -m barback.simulation.benchmark

clean:
	rm -rf $(VENV) build *.egg-info out
