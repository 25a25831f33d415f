#!/usr/bin/env bash
# Sets up the `pack` tier (test/pack/, scripts/demo.sh): a real container engine and real `pack`,
# following ../shared/reference/container-engine.md. Idempotent; every product is cached under
# .cache/pack and remade only when its inputs change.
#   1. podman, runc, uidmap, fuse-overlayfs (apt); containers.conf with the resource limits of
#      this machine (no container may ask above the hard limits), runc, cgroupfs, the file events
#      logger, the host network; private storage under .cache/pack; registries.conf that lists the
#      loopback registry as insecure
#   2. pack v0.38.2, built from the Go module proxy (a throwaway module: `go install` cannot)
#   3. the loopback registry and podman's API socket (scripts/pack-env.sh), stopped again at exit
#   4. images, made with debootstrap (--variant=minbase) and umoci, pushed as Docker v2s2 (podman
#      refuses to rebase onto OCI media types): a run image and a second one (for `pack rebase`),
#      a minimal build image (no compiler, no git) and a full one (gcc, make, git, openssh-client,
#      -dev headers); the build images carry CNB_USER_ID/CNB_GROUP_ID and the stack labels
#   5. a lifecycle tarball and a lifecycle image (for untrusted builds) from .cache/lifecycle, the
#      project's own lifecycle build (scripts/install-lifecycle.sh)
#   6. the builders from builders/builder-{full,minimal}.toml with the packaged buildpack
#      (dist/, `npm run package` first), `pack builder create --publish`
# No container gets a bridge network; the exit trap removes any interface or CNI chain left.
# Usage (as root): bash scripts/setup-pack.sh   Prints the time of each step.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/pack-env.sh
. "$ROOT/scripts/pack-env.sh"
# shellcheck source=test/setup/run-image-lib.sh
. "$ROOT/test/setup/run-image-lib.sh"
export DEBIAN_FRONTEND=noninteractive
SECONDS=0
step() { printf '\n--> pack: %s  [%ss]\n' "$*" "$SECONDS"; }
fail() { echo "setup-pack.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "must run as root (apt-get, debootstrap, podman's storage)"
CNB_UID=1001 CNB_RUN_UID=1002 CNB_GID=1000
SUITE=bookworm
case "$(uname -m)" in x86_64) ARCH=amd64 ;; aarch64) ARCH=arm64 ;; *) ARCH="$(uname -m)" ;; esac
LIFECYCLE_VERSION=0.21.17
mkdir -p "$PACK_DIR"/{bin,containers,images,run,storage,pack-home}
exec 9>"$PACK_DIR/.lock"
flock 9

step "engine: podman + runc"
PACKAGES=(podman runc uidmap fuse-overlayfs conmon iptables iproute2 curl docker-registry skopeo umoci debootstrap)
bash scripts/ensure-packages.sh "${PACKAGES[@]}"
# Root here lacks CAP_SYS_RESOURCE: a container asking for more than the hard limits fails with
# "setrlimit: Operation not permitted", and podman/conmon run with NPROC = kernel.pid_max.
nofile="$(ulimit -Hn)"
nproc="$(ulimit -Hu)"
pid_max="$(cat /proc/sys/kernel/pid_max)"
if [ "$nproc" = unlimited ] || [ "$nproc" -gt "$pid_max" ]; then nproc="$pid_max"; fi
[ "$nofile" = unlimited ] && nofile=1048576
cat > "$CONTAINERS_CONF.tmp" <<CONF
# Written by scripts/setup-pack.sh (limits computed on this machine: ulimit -Hn, min(ulimit -Hu, pid_max)).
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
netns = "host"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$PACK_DIR/run/events.log"
tmp_dir = "$PACK_DIR/run/libpod"
CONF
mv "$CONTAINERS_CONF.tmp" "$CONTAINERS_CONF"
cat > "$CONTAINERS_STORAGE_CONF" <<CONF
# Written by scripts/setup-pack.sh: podman's images and containers stay under .cache/pack.
[storage]
driver = "overlay"
graphroot = "$PACK_DIR/storage"
runroot = "$PACK_DIR/run/storage"
CONF
cat > "$CONTAINERS_REGISTRIES_CONF" <<CONF
# Written by scripts/setup-pack.sh: only the loopback registry, plain HTTP.
unqualified-search-registries = []

[[registry]]
location = "$PACK_REGISTRY"
insecure = true
CONF
echo "podman $(podman --version | awk '{print $3}'), runc $(runc --version | awk 'NR==1 {print $3}'), ulimits nofile=$nofile nproc=$nproc"

step "pack v$PACK_VERSION"
if [ ! -x "$PACK_BIN" ] || ! "$PACK_BIN" version 2>/dev/null | grep -q "^$PACK_VERSION"; then
  echo "building pack v$PACK_VERSION from the Go module proxy (once per machine; a few minutes)"
  gowork="$(mktemp -d)"
  # pack's main package is its module root, and the proxy refuses `go install`'s @v/list request.
  cat > "$gowork/go.mod" <<MOD
module pack-build

go 1.23

require github.com/buildpacks/pack v$PACK_VERSION
MOD
  cat > "$gowork/tools.go" <<'GO'
//go:build tools

package tools

import _ "github.com/buildpacks/pack"
GO
  (cd "$gowork" && go mod tidy && go build -trimpath -o "$PACK_BIN.tmp" \
    -ldflags "-s -w -X github.com/buildpacks/pack/pkg/client.Version=$PACK_VERSION" github.com/buildpacks/pack) ||
    { rm -rf "$gowork"; fail "could not build pack v$PACK_VERSION from the Go module proxy"; }
  rm -rf "$gowork"
  mv "$PACK_BIN.tmp" "$PACK_BIN"
fi
echo "$PACK_BIN: $("$PACK_BIN" version)"

step "services: loopback registry $PACK_REGISTRY, podman API socket"
trap 'pack_services_stop' EXIT
pack_services_start

# make_image <name> <rootfs tarball> <uid> <stamp extra> [umoci config args...]: the image layout
# (cached by stamp) pushed to <registry>/python-cnb/<name>, as Docker v2s2.
make_image() {
  local name=$1 tarball=$2 uid=$3 extra=$4 ref stamp work layout
  shift 4
  ref="$PACK_REGISTRY/python-cnb/$name"
  layout="$PACK_DIR/images/${name/:/_}"
  stamp="$( (cat "$ROOT/test/setup/run-image-lib.sh"; echo "$tarball $uid $extra $*") | sha256sum | cut -c1-16)"
  if [ "$(cat "$layout.pushed" 2>/dev/null || true)" = "$stamp $PACK_REGISTRY" ] &&
    skopeo inspect --tls-verify=false "docker://$ref" >/dev/null 2>&1; then
    echo "$ref: up to date"; return 0
  fi
  work="$(mktemp -d "$PACK_DIR/images/work.XXXXXX")"
  mkdir -p "$work/rootfs"
  tar -C "$work/rootfs" --numeric-owner -xpf "$tarball"
  chmod 0755 "$work/rootfs" # the image's /: the build and run users must traverse it
  add_cnb_users "$work/rootfs"
  [ -n "$extra" ] && printf '%s\n' "$extra" > "$work/rootfs/etc/python-cnb-image"
  IMAGE_UID=$uid publish_run_image "$work/rootfs" "$work" "$ARCH" "scripts/setup-pack.sh ($name: debootstrap --variant=minbase $SUITE)" \
    "python-cnb" "python-cnb" "$stamp" "$layout" "$@" >/dev/null
  rm -rf "$work"
  skopeo copy --quiet --format v2s2 --dest-tls-verify=false "oci:$layout:latest" "docker://$ref"
  echo "$stamp $PACK_REGISTRY" > "$layout.pushed"
  echo "$ref: pushed ($(du -sh "$layout" | cut -f1))"
}

step "images: debootstrap $SUITE minbase (cached per package list)"
MIRROR="$(debian_mirror)"
# A run image carries what any app needs at run time; the CPython archives bring their own
# libraries (test/setup/prepare-runtimes.sh), as python-build-standalone's do.
BASE_PACKAGES="ca-certificates,netbase,tzdata"
# What a Python builder's build image has for packages with C extensions (Heroku's and Paketo's
# full stacks have these and more).
FULL_PACKAGES="$BASE_PACKAGES,gcc,g++,make,libc6-dev,pkg-config,git,openssh-client,libssl-dev,libffi-dev,libsqlite3-dev,zlib1g-dev,libbz2-dev,liblzma-dev,libreadline-dev,libncurses-dev,libpq-dev,libxml2-dev,libxslt1-dev,libjpeg-dev,libyaml-dev"
rootfs_tarball() { # <name> <packages>: debootstrap once per package list, suite, mirror and arch
  local key tarball
  key="$(echo "$SUITE $MIRROR $ARCH $2" | sha256sum | cut -c1-16)"
  tarball="$PACK_DIR/rootfs-$1-$key.tar"
  if [ ! -f "$tarball" ]; then
    local started=$SECONDS
    debootstrap_cached "$tarball" "$SUITE" "$MIRROR" "$ARCH" "$2" "$PACK_DIR/debootstrap-$1.log" || fail "debootstrap of the $1 root file system failed"
    echo "debootstrap $1: $((SECONDS - started))s" >&2
    for old in "$PACK_DIR"/rootfs-"$1"-*.tar; do [ "$old" = "$tarball" ] || rm -f "$old"; done
  fi
  echo "$tarball"
}
minimal_tar="$(rootfs_tarball minimal "$BASE_PACKAGES")"

step "images: run, run (second, for rebase), build-minimal"
BUILD_ENV=(--config.env "CNB_USER_ID=$CNB_UID" --config.env "CNB_GROUP_ID=$CNB_GID")
make_image run:bookworm "$minimal_tar" "$CNB_RUN_UID" ""
make_image run:bookworm-2 "$minimal_tar" "$CNB_RUN_UID" "run image 2 (for pack rebase)"
make_image build-minimal:bookworm "$minimal_tar" "$CNB_UID" "" "${BUILD_ENV[@]}"

step "images: build-full (debootstrap with the compiler, git and headers; cached)"
full_tar="$(rootfs_tarball full "$FULL_PACKAGES")"
make_image build-full:bookworm "$full_tar" "$CNB_UID" "" "${BUILD_ENV[@]}"

step "lifecycle $LIFECYCLE_VERSION: tarball and image"
lifecycle_bin="$(bash scripts/install-lifecycle.sh | tail -1)"
lifecycle_src="$(dirname "$lifecycle_bin")"
LIFECYCLE_TGZ="$PACK_DIR/lifecycle-v$LIFECYCLE_VERSION+linux.$ARCH.tgz"
lstamp="$( (sha256sum "$lifecycle_bin" "$lifecycle_src/launcher"; cat "$ROOT/scripts/setup-pack.sh") | sha256sum | cut -c1-16)"
if [ "$(cat "$LIFECYCLE_TGZ.stamp" 2>/dev/null || true)" != "$lstamp $PACK_REGISTRY" ] ||
  ! skopeo inspect --tls-verify=false "docker://$PACK_LIFECYCLE_IMAGE" >/dev/null 2>&1; then
  work="$(mktemp -d "$PACK_DIR/images/work.XXXXXX")"
  tree="$work/tree"
  mkdir -p "$tree/lifecycle"
  cp "$lifecycle_bin" "$lifecycle_src/launcher" "$tree/lifecycle/"
  # The phases are the one binary under other names, as in the upstream release tarballs.
  for phase in detector analyzer restorer builder exporter rebaser creator extender; do ln -s lifecycle "$tree/lifecycle/$phase"; done
  # The APIs of lifecycle v0.21.17 (its api/apis.go); pack chooses the Platform API from these.
  cat > "$tree/lifecycle.toml" <<TOML
[apis]
[apis.buildpack]
  deprecated = []
  supported = ["0.7", "0.8", "0.9", "0.10", "0.11", "0.12"]
[apis.platform]
  deprecated = []
  supported = ["0.7", "0.8", "0.9", "0.10", "0.11", "0.12", "0.13", "0.14", "0.15"]

[api]
  platform = "0.7"
  buildpack = "0.7"

[lifecycle]
  version = "$LIFECYCLE_VERSION"
TOML
  tar -C "$tree" --owner=0 --group=0 --numeric-owner --mtime='1980-01-01 00:00:01Z' --sort=name -czf "$LIFECYCLE_TGZ" lifecycle.toml lifecycle
  # The lifecycle image (what `--lifecycle-image` names; untrusted builds run analyzer, restorer
  # and exporter from it): /cnb/lifecycle and the labels pack reads.
  rootfs="$work/rootfs"
  mkdir -p "$rootfs/cnb" "$rootfs/tmp" "$rootfs/etc"
  chmod 1777 "$rootfs/tmp"
  cp -a "$tree/lifecycle" "$rootfs/cnb/lifecycle"
  printf 'root:x:0:0:root:/root:/sbin/nologin\n' > "$rootfs/etc/passwd"
  printf 'root:x:0:\n' > "$rootfs/etc/group"
  img="$work/image" epoch="1980-01-01T00:00:01Z"
  umoci init --layout "$img"
  umoci new --image "$img:latest"
  umoci insert --image "$img:latest" --history.created "$epoch" --history.created_by "scripts/setup-pack.sh (lifecycle $LIFECYCLE_VERSION)" "$rootfs" /
  apis='{"buildpack":{"deprecated":[],"supported":["0.7","0.8","0.9","0.10","0.11","0.12"]},"platform":{"deprecated":[],"supported":["0.7","0.8","0.9","0.10","0.11","0.12","0.13","0.14","0.15"]}}'
  umoci config --image "$img:latest" --created "$epoch" --os linux --architecture "$ARCH" --config.workingdir /layers \
    --config.label "io.buildpacks.lifecycle.version=$LIFECYCLE_VERSION" --config.label "io.buildpacks.lifecycle.apis=$apis"
  skopeo copy --quiet --format v2s2 --dest-tls-verify=false "oci:$img:latest" "docker://$PACK_LIFECYCLE_IMAGE"
  rm -rf "$work"
  echo "$lstamp $PACK_REGISTRY" > "$LIFECYCLE_TGZ.stamp"
fi
echo "$LIFECYCLE_TGZ, $PACK_LIFECYCLE_IMAGE"

step "builders: pack builder create --publish"
# The linux/amd64 one: not -offline, not python-cnb_python-<version>-arm64.cnb.
cnbs=()
for cnb in "$ROOT"/dist/python-cnb_python-*.cnb; do
  if [[ $(basename "$cnb") =~ ^python-cnb_python-[0-9.]+\.cnb$ ]]; then cnbs+=("$cnb"); fi
done
[ ${#cnbs[@]} -eq 1 ] || fail "expected one packaged buildpack dist/python-cnb_python-<version>.cnb, found ${#cnbs[@]}: run \`npm run package\` first"
export PACK_REGISTRY BUILDPACK_URI="${cnbs[0]}" LIFECYCLE_URI="$LIFECYCLE_TGZ"
for kind in full minimal; do
  builder="$PACK_REGISTRY/python-cnb/builder-$kind:bookworm"
  config="$PACK_DIR/builder-$kind.toml"
  # shellcheck disable=SC2016 # the names envsubst replaces, nothing else
  envsubst '${PACK_REGISTRY} ${BUILDPACK_URI} ${LIFECYCLE_URI}' < "builders/builder-$kind.toml" > "$config"
  bstamp="$( (cat "$config"; sha256sum "$BUILDPACK_URI"; cat "$PACK_DIR/images/build-${kind}_bookworm.pushed" "$PACK_DIR/images/run_bookworm.pushed" "$LIFECYCLE_TGZ.stamp") | sha256sum | cut -c1-16)"
  if [ "$(cat "$PACK_DIR/builder-$kind.stamp" 2>/dev/null || true)" = "$bstamp" ] &&
    skopeo inspect --tls-verify=false "docker://$builder" >/dev/null 2>&1; then
    echo "$builder: up to date"; continue
  fi
  started=$SECONDS
  "$PACK_BIN" builder create "$builder" --config "$config" --publish --pull-policy always > "$PACK_DIR/builder-$kind.log" 2>&1 ||
    { tail -20 "$PACK_DIR/builder-$kind.log" >&2; fail "pack builder create $builder failed (log: $PACK_DIR/builder-$kind.log)"; }
  echo "$bstamp" > "$PACK_DIR/builder-$kind.stamp"
  echo "$builder: created in $((SECONDS - started))s"
done
step "pack setup done"
