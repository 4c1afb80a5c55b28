# Two entry points for a fresh machine: `make demo` (the quickstart experiment) and `make test`.
# Both install from requirements.lock (every package pinned with its hashes), so a new upstream
# release never changes what a fresh machine runs; `make lock` refreshes the lock on purpose.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
LOCK := requirements.lock

# llama.cpp is built from source: only the text library (no multimodal library).
LLAMA_CMAKE_ARGS ?= -DLLAVA_BUILD=OFF

.PHONY: demo test lint install lock

install: $(STAMP)

$(STAMP): pyproject.toml $(LOCK)
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q pip==26.3
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) \
		$(PY) -m pip install -q --require-hashes -r $(LOCK)
	$(PY) -m pip install -q --no-deps -e .
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/revthink run

test: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks

# The lock is for Linux x86_64 and CPython 3.11; torch resolves to its CPU wheel (2.13.0+cpu),
# found in TORCH_CPU_WHEELS (a folder of wheels, or a page of links to them).
TORCH_CPU_WHEELS ?= /opt/wheels
lock: $(STAMP)
	$(VENV)/bin/uv pip compile --quiet --generate-hashes --extra dev \
		--find-links $(TORCH_CPU_WHEELS) \
		--python-version 3.11 --python-platform x86_64-manylinux_2_28 \
		--custom-compile-command "make lock" -o $(LOCK) pyproject.toml
