# The book and its package, driven by real file dependencies: only what changed reruns.
#
#   book/chapters/X.md --jupytext--> _build/notebooks/X.ipynb
#       --papermill (default parameters)--> _build/executed/X.ipynb      (make book)
#       --papermill -p quick True-------> _build/test/executed/X.ipynb   (make test)
#   executed notebooks + book/ --stage, execution off--> jupyter-book --> HTML
#
# Run `make help` for the targets.

SHELL        := /bin/bash
.SHELLFLAGS  := -eu -o pipefail -c
.DEFAULT_GOAL := help
PYTHON       ?= python3.11
VENV         ?= .venv
BIN          := $(VENV)/bin
ENV_STAMP    := $(VENV)/.installed
BUILD        := _build
PKG_STAMP    := $(BUILD)/pdecore.stamp
PM_ARGS      ?=
PM_FLAGS     := --kernel python3 --log-level WARNING --progress-bar
JB_FLAGS     := -W -n --keep-going

# Every book page with a kernel in its front matter is a notebook; the others are text.
NOTEBOOK_MD  := $(shell grep -l '^kernelspec:' book/chapters/*.md)
NAMES        := $(basename $(notdir $(NOTEBOOK_MD)))
TEXT_PAGES   := $(filter-out $(NOTEBOOK_MD),$(shell find book -type f))
PKG_SOURCES  := $(shell find pdecore -name '*.py')
EXECUTED     := $(NAMES:%=$(BUILD)/executed/%.ipynb)
EXECUTED_Q   := $(NAMES:%=$(BUILD)/test/executed/%.ipynb)

.PHONY: help env book test unit chapters chapters-quick nbval html html-quick lint \
        clean distclean lock bench data
# (chapter-NAME is a pattern rule, so it cannot be .PHONY: Make skips implicit rules
# for phony targets.)

help: ## List the targets
	@echo "Targets (each sets up .venv from requirements.lock first if needed):"
	@grep -E '^[a-zA-Z_%-]+:.*## ' $(MAKEFILE_LIST) | \
	  awk 'BEGIN {FS = ":.*## "}; {printf "  make %-22s %s\n", $$1, $$2}'
	@echo "Chapters: $(NAMES)"

# Keep intermediate notebooks, so that an unchanged chapter is not executed again.
.SECONDARY:

# --- environment -------------------------------------------------------------------

env: $(ENV_STAMP) ## Create .venv from the pinned lock and install pdecore (editable)

$(ENV_STAMP): requirements.lock pyproject.toml
	@echo "==> Creating $(VENV) with $(PYTHON) from requirements.lock (first time: ~1-2 min)"
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 or run make PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

lock: ## Re-resolve requirements.in into requirements.lock (needs the package index)
	@echo "==> Resolving requirements.in in a scratch venv"
	rm -rf $(BUILD)/lockenv && $(PYTHON) -m venv $(BUILD)/lockenv
	$(BUILD)/lockenv/bin/pip install --quiet -r requirements.in
	{ echo "# Full pinned lock (pip freeze of a venv made from requirements.in, Python 3.11)."; \
	  echo "# Regenerate: make lock"; \
	  $(BUILD)/lockenv/bin/pip freeze --all | grep -v -E '^(pip|wheel)==' | \
	  sed 's/^torch==\(.*\)+cpu$$/torch==\1/'; } > requirements.lock.tmp
	mv requirements.lock.tmp requirements.lock

# A chapter depends on the whole package: this stamp is newer than every pdecore file.
$(PKG_STAMP): $(PKG_SOURCES) $(ENV_STAMP)
	@mkdir -p $(@D) && touch $@

# --- chapters ----------------------------------------------------------------------

$(BUILD)/notebooks/%.ipynb: book/chapters/%.md $(ENV_STAMP)
	@mkdir -p $(@D)
	@$(BIN)/jupytext --quiet --to ipynb $< -o $(@:.ipynb=.tmp.ipynb) && mv $(@:.ipynb=.tmp.ipynb) $@

# Write to a temporary file and rename: a killed run leaves nothing that Make trusts.
$(BUILD)/executed/%.ipynb: $(BUILD)/notebooks/%.ipynb $(PKG_STAMP)
	@mkdir -p $(@D)
	@echo "==> Executing chapter $* (default parameters)"
	@$(BIN)/papermill $< $(@:.ipynb=.tmp.ipynb) --cwd $(@D) $(PM_FLAGS)
	@mv $(@:.ipynb=.tmp.ipynb) $@

$(BUILD)/test/executed/%.ipynb: $(BUILD)/notebooks/%.ipynb $(PKG_STAMP)
	@mkdir -p $(@D)
	@echo "==> Executing chapter $* (quick=True)"
	@$(BIN)/papermill $< $(@:.ipynb=.tmp.ipynb) --cwd $(@D) $(PM_FLAGS) -p quick True
	@mv $(@:.ipynb=.tmp.ipynb) $@

chapters: $(EXECUTED) ## Execute every chapter at its default parameters

chapters-quick: $(EXECUTED_Q) ## Execute every chapter in quick (CI) mode

chapter-%: $(BUILD)/notebooks/%.ipynb $(PKG_STAMP) ## Rerun one chapter: make chapter-01_diffusion PM_ARGS="-p seed 3"
	@mkdir -p $(BUILD)/runs
	@echo "==> Executing chapter $* with: $(or $(PM_ARGS),default parameters)"
	@$(BIN)/papermill $< $(BUILD)/runs/$*.tmp.ipynb --cwd $(BUILD)/runs $(PM_FLAGS) $(PM_ARGS)
	@mv $(BUILD)/runs/$*.tmp.ipynb $(BUILD)/runs/$*.ipynb
	@echo "==> Wrote $(BUILD)/runs/$*.ipynb (open it in Jupyter; the book keeps the defaults)"

# --- the HTML book -----------------------------------------------------------------

# stage(executed-dir, stage-dir): the book tree with chapters replaced by executed
# notebooks and execution switched off, so that no chapter runs a second time.
define stage
	rm -rf $(2) && mkdir -p $(2)
	cp -r book $(2)/book
	rm -f $(addprefix $(2)/,$(NOTEBOOK_MD))
	cp $(1)/*.ipynb $(2)/book/chapters/
	rm -f $(2)/book/chapters/*.tmp.ipynb
	sed 's/^  execute_notebooks: cache/  execute_notebooks: "off"/' _config.yml > $(2)/_config.yml
	cp _toc.yml $(2)/_toc.yml
endef

$(BUILD)/html/index.html: $(EXECUTED) $(TEXT_PAGES) _config.yml _toc.yml
	@echo "==> Building the HTML book from the executed chapters"
	@$(call stage,$(BUILD)/executed,$(BUILD)/stage)
	$(BIN)/jupyter-book build $(BUILD)/stage --path-output . $(JB_FLAGS)
	@touch $@

$(BUILD)/test/_build/html/index.html: $(EXECUTED_Q) $(TEXT_PAGES) _config.yml _toc.yml
	@echo "==> Building the HTML book from the quick-mode chapters (warnings are errors)"
	@$(call stage,$(BUILD)/test/executed,$(BUILD)/test/stage)
	$(BIN)/jupyter-book build $(BUILD)/test/stage --path-output $(BUILD)/test $(JB_FLAGS)
	@touch $@

html: $(BUILD)/html/index.html ## Build the HTML book (executes chapters that changed)

book: html ## Set up, execute every chapter, build _build/html
	@echo "==> The book is in $(BUILD)/html/index.html"

# --- tests -------------------------------------------------------------------------

lint: $(ENV_STAMP) ## ruff on the package and the tests
	$(BIN)/ruff check pdecore tests benchmarks

unit: $(ENV_STAMP) ## Unit, property and doctest tests of pdecore
	@echo "==> Unit tests and docstring examples"
	$(BIN)/python -m pytest -q -p no:cacheprovider tests --doctest-modules pdecore

nbval: $(EXECUTED_Q) ## Re-execute the quick notebooks with nbval and compare key numbers
	@echo "==> nbval: re-executing the quick-mode chapters, comparing tagged outputs"
	$(BIN)/python -m pytest -q -p no:cacheprovider --nbval-lax --nbval-current-env $(EXECUTED_Q)

html-quick: $(BUILD)/test/_build/html/index.html ## Build the book from the quick-mode chapters

test: lint unit chapters-quick nbval html-quick ## Set up, unit tests, quick chapters, nbval, book build
	@echo "==> make test: all stages passed"

# --- data ------------------------------------------------------------------------

FMNIST_DIR := /usr/share/datasets/fashion-mnist

data: ## Install Fashion-MNIST (Debian package dataset-fashion-mnist; needs root)
	@if [ -f $(FMNIST_DIR)/t10k-labels-idx1-ubyte.gz ]; then \
	  echo "==> Fashion-MNIST is installed in $(FMNIST_DIR)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "==> Installing Fashion-MNIST (apt-get install dataset-fashion-mnist)"; \
	  apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1 || \
	  { apt-get update -q >/dev/null && apt-get install -y -q dataset-fashion-mnist >/dev/null; }; \
	else \
	  echo "error: Fashion-MNIST is missing; run as root: apt-get update && apt-get install -y dataset-fashion-mnist"; \
	  exit 1; \
	fi

# --- benchmarks --------------------------------------------------------------------

bench: $(ENV_STAMP) ## Time the kernels against numpy/scipy alternatives, print ratios
	@echo "==> Benchmarks (interleaved repeats, median; ratio < 1: pdecore faster)"
	$(BIN)/python benchmarks/bench.py
	$(BIN)/python benchmarks/bench_multigrid.py

# --- cleaning ----------------------------------------------------------------------

clean: ## Remove build outputs (keeps .venv)
	rm -rf $(BUILD)

distclean: clean ## Remove build outputs and .venv
	rm -rf $(VENV)
