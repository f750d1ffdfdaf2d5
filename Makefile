# Two commands: `make run` and `make test`. Each creates .venv, installs what is missing, then acts.
# `make run` installs the app's runtime only (no PyTorch); `make test` adds the `export` and `dev`
# extras (PyTorch, open_clip, pytest, ruff, mypy) on top. Neither removes what the other installed.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
# With an NVIDIA driver, the CUDA runtime and cuDNN wheels ONNX Runtime's CUDA provider loads
# (the `cuda` extra: onnxruntime-gpu[cuda,cudnn]); without one, nothing of CUDA is installed.
NVIDIA_DRIVER := $(shell { nvidia-smi >/dev/null 2>&1 || [ -e /proc/driver/nvidia/version ]; } && echo yes)
RUN_EXTRAS := $(if $(NVIDIA_DRIVER),[cuda])
comma := ,
TEST_EXTRAS := [$(if $(NVIDIA_DRIVER),cuda$(comma))export,dev]

# What Qt's xcb platform, widgets and multimedia link from the system (`ldd` on
# PySide6/Qt/plugins/platforms/libqxcb.so; desktop_app/startup_checks.py maps each library to its
# package, and a test keeps the two lists in step).
QT_DEBS := libegl1 libgl1 libfontconfig1 libfreetype6 libdbus-1-3 libglib2.0-0 libpulse0 \
	libxkbcommon0 libxkbcommon-x11-0 libx11-6 libx11-xcb1 libxext6 libxrandr2 libxcb1 \
	libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render0 \
	libxcb-render-util0 libxcb-shape0 libxcb-shm0 libxcb-sync1 libxcb-util1 libxcb-xfixes0 \
	libxcb-xkb1
# What the tests use besides Python: speech synthesised at known times (issue 26's real words).
TEST_DEBS := espeak-ng

.PHONY: install run test lint bench system-deps test-deps debs clean

# Install the missing Qt system libraries when root (apt-get); otherwise say which are missing.
system-deps:
	@$(MAKE) -s debs DEBS="$(QT_DEBS)" WHAT="Qt system libraries"

test-deps:
	@$(MAKE) -s debs DEBS="$(TEST_DEBS)" WHAT="tools the tests use"

debs:
	@missing=""; for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing $(WHAT):$$missing"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null) \
	      || echo "warning: could not install$$missing"; \
	  else echo "note: $(WHAT) need these system packages:$$missing"; fi; \
	fi

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# The app's runtime: `pip install -e .` (plus the `cuda` extra where an NVIDIA driver is present).
$(RUN_STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install -q -c constraints.txt -e '.$(RUN_EXTRAS)'
	touch $@

# Tests, lint and benchmarks: the runtime plus the export and dev extras (torch from constraints.txt).
$(TEST_STAMP): $(RUN_STAMP) pyproject.toml constraints.txt
	$(BIN)/pip install -q -c constraints.txt -e '.$(TEST_EXTRAS)'
	touch $@

install: $(RUN_STAMP)

run: system-deps install
	$(BIN)/clipseek-app

test: system-deps test-deps $(TEST_STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q
	$(BIN)/ruff check .
	$(BIN)/mypy core desktop_app export

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy core desktop_app export

# Figures quoted in README; ~10 min on a 2-core machine (the 1e6-segment ANN build is most of it).
bench: $(TEST_STAMP)
	$(BIN)/python benchmarks/indexing.py --arch ViT-B-32 --json bench-out/indexing.json
	$(BIN)/python benchmarks/vector_index.py --json bench-out/vector_index.json
	$(BIN)/python benchmarks/date_filter.py --json bench-out/date_filter.json
	$(BIN)/python benchmarks/encoders.py --bundle bench-out/bundles/ViT-B-32-meanP-random --cpu

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
