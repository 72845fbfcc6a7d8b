# Two commands: `make demo` (the whole story on the embedded default) and `make test`.
# Both create .venv at the repo root if missing and install the project into it; a
# second call reinstalls nothing unless pyproject.toml changed.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.d2rl-installed

# Which PyTorch build `make install` takes, before the project itself:
# - machines that keep a local PyTorch 2.14.1 wheel (this project's build machines): pinned
#   to it, nothing downloaded;
# - Linux without an NVIDIA driver (no nvidia-smi): PyTorch's CPU-only build from PyTorch's
#   own index, as pytorch.org documents it (about 200 MB of wheels instead of the CUDA
#   build's several GB);
# - elsewhere (a Linux GPU machine, macOS, Windows): PyPI's release for the platform, which
#   is the CUDA build on Linux and a CPU build on macOS and Windows.
# Override with `make install TORCH_BUILD=pypi` (or `=cpu`); docs/training.md, "Installing
# for a GPU", names a particular CUDA build.
TORCH_WHEELS ?= /opt/pypi-more/files
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu
LOCAL_TORCH := $(wildcard $(TORCH_WHEELS)/torch-2.14.1-*.whl)
ifneq ($(LOCAL_TORCH),)
TORCH_BUILD ?= local
else ifeq ($(shell uname -s)-$(shell command -v nvidia-smi >/dev/null 2>&1 && echo gpu),Linux-)
TORCH_BUILD ?= cpu
else
TORCH_BUILD ?= pypi
endif
ifeq ($(TORCH_BUILD),local)
TORCH_STEP := $(PY) -m pip install --quiet torch==2.14.1 torchvision==0.29.1
else ifeq ($(TORCH_BUILD),cpu)
TORCH_STEP := $(PY) -m pip install --quiet torch torchvision --index-url $(TORCH_CPU_INDEX)
else ifeq ($(TORCH_BUILD),pypi)
TORCH_STEP := $(PY) -m pip install --quiet torch torchvision
else
$(error TORCH_BUILD=$(TORCH_BUILD): use local, cpu or pypi)
endif

NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))
export MPLBACKEND := Agg

.PHONY: install demo test unit nbval bench browser-check book clean-venv

install: $(STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	@echo "PyTorch: the $(TORCH_BUILD) build (Makefile, TORCH_BUILD)"
	$(TORCH_STEP)
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)
	@echo "installed d2rl_lib into $(VENV)"

demo: install
	$(PY) -m d2rl_lib demo --config synthetic-classroom

test: install unit nbval

# The unit tests on both cores (pytest-xdist), each worker with one torch thread.
unit: install
	OMP_NUM_THREADS=1 $(PY) -m pytest -n 2 tests

nbval: install
	D2RL_PRESET=synthetic-ci $(PY) -m pytest --nbval-lax --nbval-current-env \
		--nbval-cell-timeout=600 -p no:cacheprovider $(NOTEBOOKS)

# Speed and memory (benchmarks/bench.py, not part of the library): results/bench.json and the
# table of docs/benchmarks.md. Flags through BENCH_ARGS, e.g. make bench BENCH_ARGS="--only eval".
bench: install
	$(PY) benchmarks/bench.py $(BENCH_ARGS)

# The notebooks rendered by JupyterLab in headless Chromium, and a widget moved with a live
# kernel, then every page of the book (built first, `make book`) (needs Debian's chromium:
# apt-get install chromium). Not part of `make test`.
browser-check: book
	$(PY) -m pip install --quiet -e ".[dev,browser]"
	$(PY) benchmarks/browser_check.py

# The course as a static HTML book (docs/book/): README as the landing page, the seven notebooks
# as saved (never executed), docs/*.md, DECISIONS.md and the API reference from the docstrings,
# in _build/book/html (open index.html). Installs the book extra (Sphinx, myst-nb, ...) first;
# make browser-check then opens every page of it in headless Chromium.
book: install
	$(PY) -m pip install --quiet -e ".[dev,book]"
	$(PY) docs/book/build.py

clean-venv:
	rm -rf $(VENV)
