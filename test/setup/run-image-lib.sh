# Sourced by test/setup/run-image.sh, e2e-run-image.sh and scripts/setup-pack.sh: what they share.
#
# debian_mirror
#   The Debian mirror this machine's apt uses (first bookworm URIs/deb line), for debootstrap.
#
# debootstrap_cached <tarball> <suite> <mirror> <arch> <packages,comma,separated> <log>
#   A debootstrap --variant=minbase root file system with <packages>, trimmed (no apt lists, docs,
#   man pages, locales, device nodes), kept as <tarball> (numeric owners); made only when absent.
#
# add_cnb_users <rootfs>
#   The users of a CNB stack: uid 1001 `cnb` builds (owns the layers), uid 1002 `cnb-run` runs,
#   both gid 1000, with their homes and /workspace.
#
# publish_run_image <rootfs> <work dir> <arch> <created-by> <maintainer> <stack prefix> <stamp> <dest> [umoci config args...]
#   Packs <rootfs> as a one-layer OCI image layout (umoci; fixed 1980 timestamps, user
#   uid IMAGE_UID (default CNB_RUN_UID, the run user), /workspace, the io.buildpacks.* labels a run image carries, distro labels read
#   from <rootfs>/etc/os-release) and moves it into place at <dest> atomically, with <stamp> in
#   <dest>/.stamp. Prints <dest>.
debian_mirror() {
  local m
  m="$(grep -hsE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -E '/debian/?$' | head -1 || true)"
  [ -n "$m" ] || m="$(grep -hsE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '{print $2}' | grep -E '/debian/?$' | head -1 || true)"
  echo "${m:-http://deb.debian.org/debian}"
}

debootstrap_cached() {
  local tarball=$1 suite=$2 mirror=$3 arch=$4 include=$5 log=$6 rootfs
  [ -f "$tarball" ] && return 0
  rootfs="$(mktemp -d "$(dirname "$tarball")/rootfs.XXXXXX")"
  chmod 0755 "$rootfs" # mktemp's 0700 would become the image's / (tar records it)
  debootstrap --variant=minbase --arch="$arch" --include="$include" "$suite" "$rootfs" "$mirror" >"$log" 2>&1 || {
    tail -30 "$log" >&2; rm -rf "$rootfs"; return 1; }
  # Trim what an image does not need; device nodes come from the engine at run time.
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/* \
    "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/*
  find "$rootfs/dev" -mindepth 1 -delete
  tar -C "$rootfs" --numeric-owner -cf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
  rm -rf "$rootfs"
}

add_cnb_users() {
  local rootfs=$1
  grep -q "^cnb:" "$rootfs/etc/group" || echo "cnb:x:$CNB_GID:" >> "$rootfs/etc/group"
  grep -q "^cnb:" "$rootfs/etc/passwd" || echo "cnb:x:$CNB_UID:$CNB_GID::/home/cnb:/bin/bash" >> "$rootfs/etc/passwd"
  grep -q "^cnb-run:" "$rootfs/etc/passwd" || echo "cnb-run:x:$CNB_RUN_UID:$CNB_GID::/home/cnb-run:/bin/bash" >> "$rootfs/etc/passwd"
  mkdir -p "$rootfs/home/cnb" "$rootfs/home/cnb-run" "$rootfs/workspace"
  chown "$CNB_UID:$CNB_GID" "$rootfs/home/cnb"
  chown "$CNB_RUN_UID:$CNB_GID" "$rootfs/home/cnb-run" "$rootfs/workspace"
}

publish_run_image() {
  local rootfs=$1 work=$2 arch=$3 created_by=$4 maintainer=$5 stack_prefix=$6 stamp=$7 dest=$8
  shift 8
  local distro_name distro_version img="$work/image" epoch="1980-01-01T00:00:01Z"
  # shellcheck disable=SC1091
  distro_name="$(. "$rootfs/etc/os-release" && echo "${ID:-linux}")"
  # shellcheck disable=SC1091
  distro_version="$(. "$rootfs/etc/os-release" && echo "${VERSION_ID:-}")"
  umoci init --layout "$img"
  umoci new --image "$img:latest"
  umoci insert --image "$img:latest" --history.created "$epoch" --history.created_by "$created_by" "$rootfs" /
  umoci config --image "$img:latest" \
    --created "$epoch" --os linux --architecture "$arch" \
    --config.user "${IMAGE_UID:-$CNB_RUN_UID}:$CNB_GID" \
    --config.workingdir /workspace \
    --config.env "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    --config.label "io.buildpacks.base.distro.name=$distro_name" \
    --config.label "io.buildpacks.base.distro.version=$distro_version" \
    --config.label "io.buildpacks.base.maintainer=$maintainer" \
    --config.label "io.buildpacks.stack.id=$stack_prefix.$distro_name-$distro_version" "$@"
  umoci gc --layout "$img"
  chmod -R a+rX "$img"
  echo "$stamp" > "$img/.stamp"
  rm -rf "$dest.tmp"
  mkdir -p "$(dirname "$dest")"
  cp -a "$img" "$dest.tmp"
  rm -rf "$dest"
  mv "$dest.tmp" "$dest"
  echo "$dest"
}
