# fedfabric: `make demo` runs the demo from nothing, `make test` runs every test from nothing.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
GO_ENV := GOTOOLCHAIN=local GOFLAGS=-mod=mod

.PHONY: setup venv fabric fabric-ca seaweedfs thresholdckks chaincode docker-engine demo test \
	test-go test-py lint bench clean

setup: venv fabric fabric-ca seaweedfs thresholdckks chaincode

# The project and every extra, editable, in .venv; redone when pyproject.toml changes.
venv: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev,he,tf]'
	touch $@

# Fabric binaries built from Fabric's Go module at the pinned commit, cached in ~/.cache/fedfabric.
fabric:
	network/build-fabric.sh

# Fabric CA (built with cgo, statically: it needs gcc and libc6-dev), the S3 server (SeaweedFS)
# and the threshold-CKKS library (Lattigo), built and cached likewise.
fabric-ca:
	network/build-fabric-ca.sh

seaweedfs:
	network/build-seaweedfs.sh

thresholdckks:
	native/build-thresholdckks.sh

chaincode:
	cd chaincode && $(GO_ENV) go build ./...

# A Docker engine for the containerised network's tests (installs Debian's docker.io if needed).
docker-engine:
	docker/engine.sh

# Three organisations, each running its own participant service as a separate process.
demo: setup
	$(VENV)/bin/fedfabric network up
	TF_CPP_MIN_LOG_LEVEL=3 $(PY) examples/consortium.py --rounds 5 --plot demo-accuracy.png

test: setup docker-engine lint test-go test-py

test-go:
	cd chaincode && $(GO_ENV) go vet ./... && $(GO_ENV) go test ./...
	cd native/thresholdckks && $(GO_ENV) go vet ./... && $(GO_ENV) go test ./...

test-py:
	$(PY) -m pytest -q

lint:
	$(VENV)/bin/ruff check sdk tests bench examples
	$(VENV)/bin/mypy

bench: setup
	$(PY) bench/ledger.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
