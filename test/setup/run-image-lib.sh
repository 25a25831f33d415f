# Sourced by test/setup/run-image.sh and e2e-run-image.sh: what they share once their root file
# system is ready.
#
# publish_run_image <rootfs> <work dir> <arch> <created-by> <maintainer> <stack prefix> <stamp> <dest>
#   Packs <rootfs> as a one-layer OCI image layout (umoci; fixed 1980 timestamps, run user
#   uid CNB_RUN_UID, /workspace, the io.buildpacks.* labels a run image carries, distro labels read
#   from <rootfs>/etc/os-release) and moves it into place at <dest> atomically, with <stamp> in
#   <dest>/.stamp. Prints <dest>.
publish_run_image() {
  local rootfs=$1 work=$2 arch=$3 created_by=$4 maintainer=$5 stack_prefix=$6 stamp=$7 dest=$8
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
    --config.user "$CNB_RUN_UID:$CNB_GID" \
    --config.workingdir /workspace \
    --config.env "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    --config.label "io.buildpacks.base.distro.name=$distro_name" \
    --config.label "io.buildpacks.base.distro.version=$distro_version" \
    --config.label "io.buildpacks.base.maintainer=$maintainer" \
    --config.label "io.buildpacks.stack.id=$stack_prefix.$distro_name-$distro_version"
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
