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
# Torch's OpenMP threads sleep when idle instead of spinning: with anything else running
# (a second chapter, nbval, another program) spinning threads starve each other.
# No number depends on it.
RUN_ENV      := OMP_WAIT_POLICY=PASSIVE
JB_FLAGS     := -W -n --keep-going
# Fashion-MNIST (chapter 7 and make paper): Debian's package, or any folder with the four
# *-ubyte.gz files (FMNIST_DIR=..., no root needed); pdecore reads the same variable.
FMNIST_DIR   ?= $(or $(PDECORE_FASHION_MNIST_DIR),/usr/share/datasets/fashion-mnist)
FMNIST_FILE  := $(FMNIST_DIR)/t10k-labels-idx1-ubyte.gz
export PDECORE_FASHION_MNIST_DIR := $(FMNIST_DIR)
CHROMIUM     ?= /usr/bin/chromium
# Run times are measured, not typed: every stage appends its end to $(BUILD)/stages.log and
# `make book`/`make test` end by writing $(BUILD)/timings.json (book/_ext/timings.py).
# Sub-makes (make book runs `chapters`, then `html`) report to the same run.
ifndef PDECORE_RUN_START
PDECORE_RUN_START := $(shell date +%s)
endif
export PDECORE_RUN_START
mark          = @mkdir -p $(BUILD) && echo "$(1) $(PDECORE_RUN_START) $$(date +%s)" >> $(BUILD)/stages.log
TIMINGS       = $(BIN)/python book/_ext/timings.py record --start $(PDECORE_RUN_START)

# Every book page with a kernel in its front matter is a notebook; the others are text.
# Appendix notebooks (the benchmark page) are executed like chapters, staged in appendix/.
APPENDIX_MD  := $(shell grep -l '^kernelspec:' book/appendix/*.md)
APPENDIX     := $(basename $(notdir $(APPENDIX_MD)))
NOTEBOOK_MD  := $(shell grep -l '^kernelspec:' book/chapters/*.md) $(APPENDIX_MD)
# The longest chapters first: run JOBS at a time, they do not end on one of them alone.
SLOW         := 07_image_classification 05_multigrid_unet 06_learned_activations
ALL_NAMES    := $(basename $(notdir $(NOTEBOOK_MD)))
NAMES        := $(foreach n,$(SLOW),$(filter $(n),$(ALL_NAMES))) $(filter-out $(SLOW),$(ALL_NAMES))
TEXT_PAGES   := $(filter-out $(NOTEBOOK_MD),$(shell find book -type f))
PKG_SOURCES  := $(shell find pdecore -name '*.py')
EXECUTED     := $(NAMES:%=$(BUILD)/executed/%.ipynb)
EXECUTED_Q   := $(NAMES:%=$(BUILD)/test/executed/%.ipynb)

.PHONY: help env book test unit chapters chapters-quick nbval html html-quick lint \
        clean distclean lock bench data chromium browser browser-book paper lab browser-lab
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
	@echo "==> Creating $(VENV) with $(PYTHON) from requirements.lock (once; later runs reuse it)"
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

# Every output is written to a unique temporary file in the target's folder (hidden, so
# no glob picks it up) and renamed when complete: a killed or concurrent run leaves
# either the complete notebook or nothing that Make trusts.
# atomically(target, command writing to $$tmp): the command runs in the background so
# that a TERM/INT/HUP is passed on and its exit awaited before the temporary file is
# removed (papermill catches TERM and writes the notebook once more on its way out).
define atomically
	@mkdir -p $(dir $(1))
	@tmp=$$(mktemp $(dir $(1)).$(notdir $(basename $(1))).XXXXXX.ipynb); pid=; \
	  trap 'rm -f "$$tmp"' EXIT; \
	  trap 'if [ -n "$$pid" ]; then kill -TERM $$pid 2>/dev/null || true; wait $$pid || true; fi; exit 143' TERM INT HUP; \
	  $(2) & pid=$$!; wait $$pid; chmod a+r "$$tmp"; mv -f "$$tmp" $(1)
endef

# Chapters and appendix notebooks: one conversion rule, the sources found through vpath.
vpath %.md book/chapters book/appendix
$(BUILD)/notebooks/%.ipynb: %.md $(ENV_STAMP)
	$(call atomically,$@,$(BIN)/jupytext --quiet --to ipynb $< -o "$$tmp")

# The benchmark page renders the stored results of `make bench`.
BENCH_RESULTS := benchmarks/results.json benchmarks/multigrid_results.json
$(BUILD)/executed/benchmarks.ipynb $(BUILD)/test/executed/benchmarks.ipynb: $(BENCH_RESULTS)

$(BUILD)/executed/%.ipynb: $(BUILD)/notebooks/%.ipynb $(PKG_STAMP)
	@echo "==> Executing chapter $* (default parameters)"
	$(call atomically,$@,$(RUN_ENV) $(BIN)/papermill $< "$$tmp" --cwd $(@D) $(PM_FLAGS))

$(BUILD)/test/executed/%.ipynb: $(BUILD)/notebooks/%.ipynb $(PKG_STAMP)
	@echo "==> Executing chapter $* (quick=True)"
	$(call atomically,$@,$(RUN_ENV) $(BIN)/papermill $< "$$tmp" --cwd $(@D) $(PM_FLAGS) -p quick True)

# Only chapter 7 reads Fashion-MNIST (order-only: installing it never reruns a chapter).
DATA_CHAPTER := 07_image_classification
$(BUILD)/executed/$(DATA_CHAPTER).ipynb $(BUILD)/test/executed/$(DATA_CHAPTER).ipynb: | $(FMNIST_FILE)
chapter-$(DATA_CHAPTER): | $(FMNIST_FILE)

# The reproduction report reads the other chapters' executed notebooks: it runs after them.
REPORT := 08_reproduction_report
$(BUILD)/executed/$(REPORT).ipynb: $(filter-out %/$(REPORT).ipynb,$(EXECUTED))
$(BUILD)/test/executed/$(REPORT).ipynb: $(filter-out %/$(REPORT).ipynb,$(EXECUTED_Q))

# Chapters run JOBS at a time (the report waits for the others), each on one torch thread;
# nbval and the unit tests run on JOBS workers: 2 cores, 2 jobs.
JOBS         ?= 2

chapters: $(ENV_STAMP) ## Execute every chapter at its default parameters
	@$(MAKE) --no-print-directory -j$(JOBS) $(EXECUTED)

chapters-quick: $(ENV_STAMP) ## Execute every chapter in quick (CI) mode
	@$(MAKE) --no-print-directory -j$(JOBS) $(EXECUTED_Q)
	$(call mark,chapters-quick)

chapter-%: $(BUILD)/notebooks/%.ipynb $(PKG_STAMP) ## Rerun one chapter: make chapter-01_diffusion PM_ARGS="-p seed 3"
	@$(BIN)/python book/_ext/check_params.py $< $(PM_ARGS)
	@echo "==> Executing chapter $* with: $(or $(PM_ARGS),default parameters)"
	$(call atomically,$(BUILD)/runs/$*.ipynb,$(RUN_ENV) $(BIN)/papermill $< "$$tmp" --cwd $(BUILD)/runs $(PM_FLAGS) $(PM_ARGS))
	@echo "==> Wrote $(BUILD)/runs/$*.ipynb (open it in Jupyter; the book keeps the defaults)"

# --- the HTML book -----------------------------------------------------------------

# stage(executed-dir, stage-dir): the book tree with chapters replaced by executed
# notebooks (execution is off in _config.yml, so no chapter runs a second time).
define stage
	rm -rf $(2) && mkdir -p $(2)
	cp -r book $(2)/book
	rm -f $(addprefix $(2)/,$(NOTEBOOK_MD))
	cp $(1)/*.ipynb $(2)/book/chapters/
	$(foreach a,$(APPENDIX),mv $(2)/book/chapters/$(a).ipynb $(2)/book/appendix/;)
	$(BIN)/python book/_ext/stage_notebooks.py $(2)/book/chapters/*.ipynb $(2)/book/appendix/*.ipynb
	cp _config.yml _toc.yml $(2)/
endef

$(BUILD)/html/index.html: $(EXECUTED) $(TEXT_PAGES) _config.yml _toc.yml
	$(call mark,chapters)
	@echo "==> Building the HTML book from the executed chapters"
	@$(call stage,$(BUILD)/executed,$(BUILD)/stage)
	$(BIN)/jupyter-book build $(BUILD)/stage --path-output . $(JB_FLAGS)
	@touch $@
	$(call mark,html)

$(BUILD)/test/_build/html/index.html: $(EXECUTED_Q) $(TEXT_PAGES) _config.yml _toc.yml
	@echo "==> Building the HTML book from the quick-mode chapters (warnings are errors)"
	@$(call stage,$(BUILD)/test/executed,$(BUILD)/test/stage)
	$(BIN)/jupyter-book build $(BUILD)/test/stage --path-output $(BUILD)/test $(JB_FLAGS)
	@touch $@
	$(call mark,html-quick)

html: $(BUILD)/html/index.html ## Build the HTML book (executes chapters that changed)

book: $(ENV_STAMP) ## Set up, execute every chapter, build _build/html
	@$(MAKE) --no-print-directory chapters
	@$(MAKE) --no-print-directory html
	@$(TIMINGS) --target book --executed $(BUILD)/executed --out $(BUILD)/timings.json
	@echo "==> The book is in $(BUILD)/html/index.html"

# --- tests -------------------------------------------------------------------------

lint: $(ENV_STAMP) ## ruff on the package and the tests; workflows and CITATION.cff against their schemas
	$(BIN)/ruff check pdecore tests benchmarks book/_ext
	@echo "==> Workflows and citation metadata against their schemas (shipped with check-jsonschema)"
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(BIN)/check-jsonschema --builtin-schema vendor.citation-file-format CITATION.cff
	$(call mark,lint)

unit: $(ENV_STAMP) ## Unit, property and doctest tests of pdecore
	@echo "==> Unit tests and docstring examples"
	$(RUN_ENV) $(BIN)/python -m pytest -q -p no:cacheprovider -n $(JOBS) tests \
	  --ignore=tests/browser --ignore=tests/lab --doctest-modules pdecore
	$(call mark,unit)

# The second execution is the point: nbval runs every quick chapter again in a fresh
# kernel and compares the outputs tagged nbval-check-output with papermill's run, so a
# chapter whose numbers depend on anything but its seeds fails here (the experiments' unit
# tests check the same below the chapters, bit for bit).
nbval: $(EXECUTED_Q) ## Re-execute the quick notebooks with nbval and compare key numbers
	@echo "==> nbval: re-executing the quick-mode chapters, comparing tagged outputs"
	$(RUN_ENV) PYTHONPATH=book/_ext $(BIN)/python -m pytest -q -p no:cacheprovider \
	  -p nbval_patience -n $(JOBS) --dist loadfile --nbval-lax --nbval-current-env $(EXECUTED_Q)
	$(call mark,nbval)

html-quick: $(BUILD)/test/_build/html/index.html ## Build the book from the quick-mode chapters

# Every page of a built book opened from disk in headless Chromium with the network off:
# console errors, images, MathJax, internal links; a screenshot of each page.
define browser_test
	@echo "==> Browser test: every page of $(1) in headless Chromium, network off"
	@echo "    (console errors, images, math, internal links; screenshots in $(2))"
	BOOK_HTML=$(1) BOOK_SCREENSHOTS=$(2) CHROMIUM=$(CHROMIUM) \
	  $(BIN)/python -m pytest -q -p no:cacheprovider tests/browser
endef

browser: $(BUILD)/test/_build/html/index.html $(ENV_STAMP) | $(CHROMIUM) ## Open every page of the quick book offline in Chromium; screenshots in _build/test/screenshots
	$(call browser_test,$(BUILD)/test/_build/html,$(BUILD)/test/screenshots)
	$(call mark,browser)

browser-book: $(BUILD)/html/index.html $(ENV_STAMP) | $(CHROMIUM) ## The same for the full book (_build/html); screenshots in _build/screenshots
	$(call browser_test,$(BUILD)/html,$(BUILD)/screenshots)

test: lint unit chapters-quick nbval html-quick browser browser-lab ## Set up, unit tests, quick chapters, nbval, book build, browser test
	@$(TIMINGS) --target test --executed $(BUILD)/test/executed --out $(BUILD)/test/timings.json
	@echo "==> make test: all stages passed"

# --- the chapters as notebooks in JupyterLab --------------------------------------

# jupytext opens book/chapters/*.md as notebooks (the Markdown stays the source: saving
# writes it back, no paired .ipynb); the chapters' kernel `pdecore` is this environment.
LAB_STAMP    := $(VENV)/.lab
# Loopback only; nothing fetched from the internet (news, update check, extension index);
# --allow-root because CI and containers run as root. LAB_DIR/LAB_OPEN: the folder served
# and the one opened; LAB_ARGS: more options (the lab test passes a token this way).
LAB_PORT     ?= 8888
LAB_DIR      ?= $(CURDIR)
LAB_OPEN     ?= book/chapters
LAB_ARGS     ?=
LAB_FLAGS     = --ip 127.0.0.1 --allow-root --ServerApp.root_dir=$(LAB_DIR) \
                --LabApp.default_url=/lab/tree/$(LAB_OPEN) --LabApp.news_url=None \
                --LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate \
                --LabApp.extension_manager=readonly

$(LAB_STAMP): $(ENV_STAMP) book/_ext/lab/overrides.json
	$(BIN)/python -m ipykernel install --sys-prefix --name pdecore --display-name "Python 3 (pdecore)" >/dev/null
	mkdir -p $(VENV)/share/jupyter/lab/settings
	cp book/_ext/lab/overrides.json $(VENV)/share/jupyter/lab/settings/overrides.json
	@touch $@

lab: $(LAB_STAMP) $(PKG_STAMP) ## Open the chapters as notebooks in JupyterLab (127.0.0.1, kernel "Python 3 (pdecore)")
	@echo "==> JupyterLab on http://127.0.0.1:$(LAB_PORT) (Ctrl-C stops it); open a chapter, Run > Run All Cells"
	$(BIN)/jupyter lab $(LAB_FLAGS) --port $(LAB_PORT) $(LAB_ARGS)

# A real JupyterLab on a free loopback port opens chapter 1 through jupytext in Chromium
# and runs every cell with quick = True (tests/lab).
browser-lab: $(LAB_STAMP) $(PKG_STAMP) | $(CHROMIUM) ## Run chapter 1 as a notebook in JupyterLab in headless Chromium
	@echo "==> Lab test: chapter 1 as a notebook in JupyterLab, every cell run in Chromium"
	PDECORE_LAB_TEST=1 CHROMIUM=$(CHROMIUM) $(BIN)/python -m pytest -q -p no:cacheprovider tests/lab
	$(call mark,browser-lab)

# --- data ------------------------------------------------------------------------

comma := ,
# apt_install(package, default-path?, message lines...): as root with apt-get and the
# Debian path asked for, install the package; otherwise print how to get it and fail.
define apt_install
	@if [ "$(2)" = yes ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "==> Installing $(1) (apt-get install $(1))"; \
	  apt-get install -y -q $(1) >/dev/null 2>&1 || \
	  { apt-get update -q >/dev/null && apt-get install -y -q $(1) >/dev/null; }; \
	else \
	  printf '%s\n' $(3); exit 1; \
	fi
endef

# Chapter 7 reads Fashion-MNIST from Debian's package (installed when make runs as root)
# or from FMNIST_DIR; `make data` installs it or says how to get it without root.
FMNIST_DEBIAN := /usr/share/datasets/fashion-mnist
data: $(FMNIST_FILE) ## Install Fashion-MNIST (as root; without root: the message says how)
	@echo "==> Fashion-MNIST is installed in $(FMNIST_DIR)"

$(FMNIST_FILE):
	$(call apt_install,dataset-fashion-mnist,$(if $(filter $(FMNIST_DEBIAN),$(FMNIST_DIR)),yes,no),\
	  "error: chapter 7 needs Fashion-MNIST's four *-ubyte.gz files in $(FMNIST_DIR)." \
	  "  as root:      apt-get update && apt-get install -y dataset-fashion-mnist" \
	  "  without root: apt-get download dataset-fashion-mnist && dpkg-deb -x dataset-fashion-mnist_*.deb ~/fmnist" \
	  "                make book FMNIST_DIR=~/fmnist$(FMNIST_DEBIAN)" \
	  "  (or put the files of github.com/zalandoresearch/fashion-mnist$(comma) data/fashion$(comma) in a folder" \
	  "   and pass FMNIST_DIR=/that/folder)")

# The browser test drives Debian's Chromium (Playwright's own browsers are never
# downloaded); `make chromium` installs it as root, or says how.
chromium: $(CHROMIUM) ## Install Debian's chromium for the browser test (needs root)
	@echo "==> Chromium: $(CHROMIUM)"

$(CHROMIUM):
	$(call apt_install,chromium,$(if $(filter /usr/bin/chromium,$(CHROMIUM)),yes,no),\
	  "error: the browser test needs Chromium at $(CHROMIUM)." \
	  "       Install it as root:  apt-get update && apt-get install -y chromium" \
	  "       Without root: CHROMIUM=/path/to/chromium-or-chrome (any recent Chromium or" \
	  "       Google Chrome binary$(comma) e.g. google-chrome or the one playwright install fetches)")

# --- benchmarks --------------------------------------------------------------------

# Kernels vs numpy/torch/scipy, FED/FSI vs explicit, training throughput, multigrid vs
# pyamg; rewrites benchmarks/*.json, which the benchmark appendix renders (~3-5 min on 2
# cores). BENCH_ARGS=--quick: a smoke run of seconds that writes to a temporary folder.
BENCH_ARGS ?=

PAPER_ARGS ?=
paper: $(PKG_STAMP) | $(FMNIST_FILE) ## E5 at paper scale into results/paper (hours; resumable; PAPER_ARGS="--device cuda")
	@echo "==> E5 paper configuration: one job per network and seed; interrupt and rerun to resume"
	$(BIN)/python -c 'import sys; from pdecore.experiments.classification import _main; sys.exit(_main())' \
	  --out results/paper --threads 2 $(PAPER_ARGS)

bench: $(ENV_STAMP) ## Time pdecore against numpy/torch/scipy/pyamg, print ratios (BENCH_ARGS=--quick)
	@echo "==> Benchmarks (interleaved repeats, median; ratio = pdecore / other, < 1: pdecore faster)"
	$(BIN)/python benchmarks/bench.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/bench_multigrid.py $(BENCH_ARGS)

# --- cleaning ----------------------------------------------------------------------

clean: ## Remove build outputs (keeps .venv)
	rm -rf $(BUILD)

distclean: clean ## Remove build outputs and .venv
	rm -rf $(VENV)
