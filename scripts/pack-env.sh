#!/usr/bin/env bash
# The environment of the `pack` tier (scripts/setup-pack.sh, test/pack/, scripts/demo.sh): podman
# configured as ../shared/reference/container-engine.md found it must be on this kind of machine,
# its private storage under .cache/pack, the loopback registry, and the podman API socket.
#
# Sourced (by setup-pack.sh, demo.sh): sets and exports the variables below and defines
#   pack_services_start   the loopback registry (persistent storage, fixed port) and `podman system
#                         service` on a socket under .cache/pack; both idempotent
#   pack_services_stop    stops both and removes any bridge interface or CNI iptables chain
#   pack_no_bridge_left   removes a cni-podman0 link and CNI-* iptables chains if some tool made them
# Run: `bash scripts/pack-env.sh start|stop|env` (`env` prints KEY=VALUE lines for the tests).
#
# Env: PACK_REGISTRY_PORT (default 5391): the builders name their images by this host:port, so a
# change means `bash scripts/setup-pack.sh` again.
PACK_ROOT="${PACK_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
PACK_DIR="$PACK_ROOT/.cache/pack"
PACK_VERSION=0.38.2
PACK_BIN="$PACK_DIR/bin/pack-$PACK_VERSION"
PACK_REGISTRY="127.0.0.1:${PACK_REGISTRY_PORT:-5391}"
PACK_BUILDER_FULL="$PACK_REGISTRY/python-cnb/builder-full:bookworm"
PACK_BUILDER_MINIMAL="$PACK_REGISTRY/python-cnb/builder-minimal:bookworm"
PACK_LIFECYCLE_IMAGE="$PACK_REGISTRY/python-cnb/lifecycle:0.21.17"
PACK_RUN_IMAGE="$PACK_REGISTRY/python-cnb/run:bookworm"
PACK_RUN_IMAGE_2="$PACK_REGISTRY/python-cnb/run:bookworm-2"
export CONTAINERS_CONF="$PACK_DIR/containers/containers.conf"
export CONTAINERS_STORAGE_CONF="$PACK_DIR/containers/storage.conf"
export CONTAINERS_REGISTRIES_CONF="$PACK_DIR/containers/registries.conf"
export DOCKER_HOST="unix://$PACK_DIR/run/podman.sock"
# pack's own config (trusted builders, registry mirrors) stays under .cache, not in ~/.pack.
export PACK_HOME="$PACK_DIR/pack-home"
# pack names its cache volumes from this key when it believes it runs in a container (it does
# here): without it, every build gets new volumes and no rebuild is warm. Not a secret in a test
# setup where the only daemon is this private podman.
export PACK_VOLUME_KEY="${PACK_VOLUME_KEY:-python-cnb-pack-tier}"

_pack_wait() { # <what> <seconds> <command...>: retries the command every 0.2 s
  local what=$1 seconds=$2 i
  shift 2
  for ((i = 0; i < seconds * 5; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "pack-env: $what did not come up within ${seconds}s" >&2
  return 1
}

_pack_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

pack_no_bridge_left() {
  if ip link show cni-podman0 >/dev/null 2>&1; then
    echo "pack-env: removing the bridge cni-podman0 (something created a container without --network host)" >&2
    ip link delete cni-podman0 || true
  fi
  command -v iptables >/dev/null || return 0
  local table chain
  for table in filter nat; do
    for chain in $(iptables -t "$table" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^(CNI-|NETAVARK)/ {print $2}'); do
      echo "pack-env: removing the iptables chain $table/$chain" >&2
      # Rules in other chains that jump to it go first, then the chain itself.
      iptables -t "$table" -S 2>/dev/null | grep -E -- "-j $chain( |\$)" | grep -v "^-N" | sed 's/^-A /-D /' |
        while read -r rule; do eval "iptables -t $table $rule" || true; done
      iptables -t "$table" -F "$chain" 2>/dev/null || true
      iptables -t "$table" -X "$chain" 2>/dev/null || true
    done
  done
}

pack_services_start() {
  mkdir -p "$PACK_DIR/run" "$PACK_DIR/registry/storage"
  if ! _pack_alive "$PACK_DIR/run/registry.pid"; then
    cat > "$PACK_DIR/registry/config.yml" <<YML
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $PACK_DIR/registry/storage
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: $PACK_REGISTRY
YML
    setsid docker-registry serve "$PACK_DIR/registry/config.yml" >>"$PACK_DIR/run/registry.log" 2>&1 < /dev/null &
    echo $! > "$PACK_DIR/run/registry.pid"
    _pack_wait "the loopback registry on $PACK_REGISTRY" 15 curl -fsS "http://$PACK_REGISTRY/v2/" ||
      { tail -5 "$PACK_DIR/run/registry.log" >&2; return 1; }
  fi
  if ! _pack_alive "$PACK_DIR/run/podman.pid"; then
    rm -f "$PACK_DIR/run/podman.sock"
    setsid podman system service --time=0 "$DOCKER_HOST" >>"$PACK_DIR/run/podman.log" 2>&1 < /dev/null &
    echo $! > "$PACK_DIR/run/podman.pid"
    _pack_wait "podman's API socket" 30 curl -fsS --unix-socket "$PACK_DIR/run/podman.sock" http://d/_ping ||
      { tail -5 "$PACK_DIR/run/podman.log" >&2; return 1; }
  fi
}

pack_services_stop() {
  local pidfile pid
  for pidfile in "$PACK_DIR/run/podman.pid" "$PACK_DIR/run/registry.pid"; do
    [ -f "$pidfile" ] || continue
    pid="$(cat "$pidfile")"
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
  done
  rm -f "$PACK_DIR/run/podman.sock"
  pack_no_bridge_left
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case "${1:-}" in
    start) pack_services_start ;;
    stop) pack_services_stop ;;
    env)
      for name in PACK_DIR PACK_BIN PACK_REGISTRY PACK_BUILDER_FULL PACK_BUILDER_MINIMAL PACK_LIFECYCLE_IMAGE PACK_RUN_IMAGE PACK_RUN_IMAGE_2 \
        CONTAINERS_CONF CONTAINERS_STORAGE_CONF CONTAINERS_REGISTRIES_CONF DOCKER_HOST PACK_HOME PACK_VOLUME_KEY; do
        echo "$name=${!name}"
      done
      ;;
    *) echo "usage: bash scripts/pack-env.sh start|stop|env" >&2; exit 2 ;;
  esac
fi
