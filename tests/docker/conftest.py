"""The containerised network, brought up through pytest-docker once per session: three
organisations, three orderers and the S3 store, each in its own container."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from fedfabric.admin import Topology
from fedfabric.admin.docker import DockerNetwork, engine_ready
from fedfabric.admin.progress import PrintProgress
from support.ports import base_port

BASE_PORT = base_port("FEDFABRIC_DOCKER_TEST_BASE_PORT", 23000)


@pytest.fixture(scope="session")
def docker_network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockerNetwork]:
    reason = engine_ready()
    if reason:
        pytest.fail("no Docker engine answers, so the Docker tests cannot run; start one with "
                    f"docker/engine.sh (as root). The docker client said: {reason}")
    net = DockerNetwork(tmp_path_factory.mktemp("docker") / "network")
    try:
        net.up(Topology(runtime="docker", base_port=BASE_PORT, store="s3"),
               progress=PrintProgress())
        yield net
    finally:
        net.down(purge=True)


# pytest-docker runs the compose project the network wrote; `up -d` finds it running.
@pytest.fixture(scope="session")
def docker_compose_command() -> str:
    return "docker-compose" if shutil.which("docker-compose") else "docker compose"


@pytest.fixture(scope="session")
def docker_compose_file(docker_network: DockerNetwork) -> str:
    return str(docker_network.compose_file)


@pytest.fixture(scope="session")
def docker_compose_project_name(docker_network: DockerNetwork) -> str:
    return docker_network.project


@pytest.fixture(scope="session")
def docker_setup() -> list[str]:
    return ["up -d --no-recreate"]


@pytest.fixture(scope="session")
def docker_cleanup() -> list[str]:
    return ["down -v"]
