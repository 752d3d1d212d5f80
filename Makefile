# `make run` and `make test` work on a fresh machine: they create .venv and install what they need.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: run test check samples bench peers eval clean

# The demo listens on 127.0.0.1 only, so its detect APIs are open and its playground
# (http://127.0.0.1:8080/playground) is on, unless the environment says otherwise.
run: $(INSTALLED) samples/grace_hopper.jpg
	IMGPROXY_API_OPEN=$${IMGPROXY_API_OPEN:-1} IMGPROXY_PLAYGROUND=$${IMGPROXY_PLAYGROUND:-1} $(BIN)/imgproxy serve

test: $(INSTALLED) check
	$(BIN)/python -m pytest

# A lint, format or type finding fails this target, and with it `make test` and CI.
check: $(INSTALLED)
	$(BIN)/ruff check imgproxy tests bench
	$(BIN)/ruff format --check imgproxy tests bench
	$(BIN)/mypy imgproxy

samples: samples/grace_hopper.jpg

bench: $(INSTALLED)
	$(BIN)/python bench/facecrop.py

# This proxy against libvips (pyvips' wheel, the bench extra) and thumbor where installed.
peers: $(INSTALLED)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test,bench]'
	$(BIN)/python bench/peers.py

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Exactly the versions in constraints.txt, which deploy/Dockerfile installs too. To move them on:
# `make constraints` installs the newest releases pyproject.toml allows into a fresh venv and writes
# its freeze to constraints.txt (review the diff, run `make test`, commit both).
$(INSTALLED): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c constraints.txt --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $@

.PHONY: constraints
constraints: CVENV := build/constraints-venv
constraints:
	rm -rf $(CVENV)
	$(PYTHON) -m venv $(CVENV)
	$(CVENV)/bin/python -m pip install --quiet --upgrade pip setuptools
	$(CVENV)/bin/python -m pip install --quiet '.[test,bench]'
	{ sed -n '/^#/p' constraints.txt; $(CVENV)/bin/python -m pip freeze --all --exclude imgproxy; } > constraints.txt.new
	mv constraints.txt.new constraints.txt
	rm -rf $(CVENV)

samples/grace_hopper.jpg: $(INSTALLED)
	$(BIN)/python -m imgproxy.samples samples

clean:
	rm -rf $(VENV) samples *.egg-info
