PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test bench clean browser

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/barback demo

test: $(STAMP) browser
	$(BIN)/python -m pytest -q

browser:
	@bash tests/install_browser.sh

bench: $(STAMP)
	$(BIN)/python -m barback.simulation.benchmark

clean:
	rm -rf $(VENV) build *.egg-info out
