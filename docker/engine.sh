#!/usr/bin/env bash
# Make sure a Docker engine answers: install Debian's docker.io, docker-compose and
# busybox-static where missing, and start dockerd (vfs storage, no iptables) where none runs.
# Idempotent; needs root only when something must be installed or started.
set -euo pipefail
log=${FEDFABRIC_DOCKERD_LOG:-/var/log/fedfabric-dockerd.log}
pidfile=${FEDFABRIC_DOCKERD_PID:-/run/fedfabric-dockerd.pid}

static_busybox() { [ -x /bin/busybox ] && ! head -c 4096 /bin/busybox | grep -q ld-linux; }
has_compose() { command -v docker-compose >/dev/null || docker compose version >/dev/null 2>&1; }

need=()
command -v dockerd >/dev/null || need+=(docker.io)
has_compose || need+=(docker-compose)
static_busybox || need+=(busybox-static)
if [ ${#need[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { echo "docker/engine.sh: run as root to install ${need[*]}" >&2; exit 1; }
  echo "docker/engine.sh: installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

wait_for_engine() {   # up to 60 s, while the process $1 lives
  for _ in $(seq 1 300); do
    docker info >/dev/null 2>&1 && return 0
    kill -0 "$1" 2>/dev/null || return 1
    sleep 0.2
  done
  return 1
}

if ! docker info >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || { echo "docker/engine.sh: no engine answers; run as root to start one" >&2; exit 1; }
  running=""
  if [ -f /var/run/docker.pid ]; then
    old=$(cat /var/run/docker.pid)
    if kill -0 "$old" 2>/dev/null; then running=$old; else rm -f /var/run/docker.pid; fi
  fi
  if [ -n "$running" ]; then
    echo "docker/engine.sh: dockerd $running is running; waiting for it to answer"
    wait_for_engine "$running" || true
  fi
  if ! docker info >/dev/null 2>&1; then
    if [ -n "$running" ] && kill -0 "$running" 2>/dev/null; then
      echo "docker/engine.sh: dockerd $running runs but does not answer" >&2
      exit 1
    fi
    rm -f /var/run/docker.pid
    echo "docker/engine.sh: starting dockerd (log: $log)"
    nohup dockerd --storage-driver=vfs --iptables=false >"$log" 2>&1 &
    echo $! >"$pidfile"
    wait_for_engine "$(cat "$pidfile")" || true
  fi
  if ! docker info >/dev/null 2>&1; then
    echo "docker/engine.sh: dockerd did not start; last lines of $log:" >&2
    tail -n 20 "$log" >&2
    exit 1
  fi
fi
echo "docker engine: $(docker info --format '{{.ServerVersion}}, storage {{.Driver}}')"
