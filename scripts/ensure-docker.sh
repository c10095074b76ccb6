#!/usr/bin/env bash
# Make sure a Docker engine answers. Use the running one; otherwise, as root on
# Debian, install docker.io and start dockerd; otherwise say what to do.
set -euo pipefail

if docker info >/dev/null 2>&1; then
  exit 0
fi

if [ "$(id -u)" != 0 ] || [ ! -f /etc/debian_version ]; then
  echo "No Docker engine answers 'docker info'." >&2
  echo "Start Docker (or add your user to the 'docker' group), then run this again." >&2
  exit 1
fi

if ! command -v dockerd >/dev/null 2>&1; then
  echo "Installing docker.io from the distribution ..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi

if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl start docker || true
fi
if ! docker info >/dev/null 2>&1; then
  echo "Starting dockerd (log: /var/log/dockerd.log) ..."
  # The daemon outlives this script: it keeps none of the caller's descriptors (a lock, a pipe).
  ( for fd in /proc/self/fd/*; do fd=${fd##*/}; [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null; done
    exec setsid dockerd >/var/log/dockerd.log 2>&1 < /dev/null ) &
fi

for _ in $(seq 1 60); do
  docker info >/dev/null 2>&1 && exit 0
  sleep 1
done
echo "dockerd did not answer within 60 s; see /var/log/dockerd.log" >&2
exit 1
