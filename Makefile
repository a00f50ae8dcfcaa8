# Two commands do all the set-up on a fresh machine (Python 3.10+ with venv):
#   make train   installs the pinned stack into .venv, then runs the main job
#   make test    installs both test environments, then runs the whole test suite
PYTHON ?= python3
VENV ?= .venv
JAX_VENV ?= .venv-jax
PYTEST_ARGS ?=

.PHONY: install install-jax train lint test test-tf test-jax bench clean

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -c constraints.txt -e ".[tensorflow,test,serving,beam,lint]"
	touch $@

# A second environment without TensorFlow: layers and abundance must run on the JAX backend.
$(JAX_VENV)/.installed: pyproject.toml constraints-jax.txt
	test -x $(JAX_VENV)/bin/python || $(PYTHON) -m venv $(JAX_VENV)
	$(JAX_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(JAX_VENV)/bin/python -m pip install --quiet -c constraints-jax.txt -e ".[jax]" pytest
	touch $@

install: $(VENV)/.installed
install-jax: $(JAX_VENV)/.installed

# ruff (pyflakes, pycodestyle, isort), ruff's formatter and mypy; settings in pyproject.toml.
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

train: install
	$(VENV)/bin/python -m mezoo.train --recipe dcnv2_me_criteo

test: test-tf test-jax

# Docstring examples are tests too (pytest --doctest-modules), under both backends.
DOCTEST_JAX = mezoo/layers mezoo/models mezoo/abundance.py mezoo/metrics.py mezoo/initializers.py \
	mezoo/recipe.py mezoo/recipe_schema.py mezoo/training/stopping.py

test-tf: install
	$(VENV)/bin/python -m pytest -m "not slow" $(PYTEST_ARGS) tests
	$(VENV)/bin/python -m pytest -q $(PYTEST_ARGS) --doctest-modules mezoo

test-jax: install-jax
	KERAS_BACKEND=jax $(JAX_VENV)/bin/python -m pytest $(PYTEST_ARGS) tests/layers tests/models tests/test_abundance.py \
		tests/test_initializers.py tests/test_metrics.py tests/test_recipe.py tests/training/test_stopping.py
	KERAS_BACKEND=jax $(JAX_VENV)/bin/python -m pytest -q $(PYTEST_ARGS) --doctest-modules $(DOCTEST_JAX)

bench: install
	$(VENV)/bin/python benchmarks/abundance.py
	$(VENV)/bin/python benchmarks/train_step.py
	$(VENV)/bin/python benchmarks/convert.py
	$(VENV)/bin/python benchmarks/input_pipeline.py
	$(VENV)/bin/python benchmarks/serving.py

clean:
	rm -rf $(VENV) $(JAX_VENV) *.egg-info
