# Two commands: `make run` and `make test`. Each creates .venv, installs what is missing, then acts.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
QT_DEBS := libegl1 libxkbcommon0 libfontconfig1 libdbus-1-3 libgl1 libpulse0 libxkbcommon-x11-0

.PHONY: run test lint bench system-deps clean

# Qt's xcb/offscreen platforms need these shared libraries; install the missing ones when root.
system-deps:
	@missing=""; for p in $(QT_DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Qt system libraries:$$missing"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null) \
	      || echo "warning: could not install$$missing"; \
	  else echo "note: Qt may need these system packages:$$missing"; fi; \
	fi

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[export,dev]'
	touch $(STAMP)

run: system-deps $(STAMP)
	$(BIN)/clipseek-app

test: system-deps $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q
	$(BIN)/ruff check .

lint: $(STAMP)
	$(BIN)/ruff check .

# Figures quoted in README; ~10 min on a 2-core machine (the 1e6-segment ANN build is most of it).
bench: $(STAMP)
	$(BIN)/python benchmarks/indexing.py --arch ViT-B-32 --json bench-out/indexing.json
	$(BIN)/python benchmarks/encoders.py --bundle bench-out/bundles/ViT-B-32-meanP-random --cpu

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
