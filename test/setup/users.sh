#!/usr/bin/env bash
# Creates (idempotently) the unprivileged users a builder image has, as Paketo's stacks do:
#   uid 1001 `cnb`      builds  (the lifecycle's detector and builder refuse to run as root)
#   uid 1002 `cnb-run`  runs    (the run image's user)
# both in group gid 1000 (`cnb`). If gid 1000 already exists under another name (a CI image's
# default user, say), that group is used as is: the lifecycle only sees numbers.
# Usage (as root): test/setup/users.sh
set -euo pipefail
CNB_UID=1001 CNB_RUN_UID=1002 CNB_GID=1000
if ! getent group "$CNB_GID" >/dev/null; then
  groupadd --gid "$CNB_GID" cnb
fi
ensure_user() { # name uid
  local name="$1" uid="$2"
  if ! getent passwd "$uid" >/dev/null; then
    useradd --uid "$uid" --gid "$CNB_GID" --create-home --home-dir "/home/$name" --shell /bin/bash "$name"
  fi
  local home
  home="$(getent passwd "$uid" | cut -d: -f6)"
  mkdir -p "$home"
  chown "$uid:$CNB_GID" "$home"
  chmod 0755 "$home"
}
ensure_user cnb "$CNB_UID"
ensure_user cnb-run "$CNB_RUN_UID"
