#!/usr/bin/env bash
# The git-over-SSH side of the private dependency tests (test/integration/private-deps.test.ts,
# test/helpers/ssh-server.ts), made idempotently as root:
#   - the account `pygit` (sshd only logs in real accounts): home /home/pygit, shell git-shell
#     (only git-upload-pack and friends), password field `*` (no password login, but not "locked",
#     which sshd would refuse even for a public key);
#   - /srv/git/private-pkg.git: a bare repository owned by pygit holding a tiny setuptools package
#     `private-pkg` (pyproject.toml, setuptools backend; the loopback index serves setuptools for
#     pip's isolated build), committed and tagged v1.0.0.
# Needs openssh-server and git (scripts/setup.sh installs them).
# Usage (as root): test/setup/ssh-git.sh
set -euo pipefail
USER_NAME=pygit
REPO=/srv/git/private-pkg.git
SHELL_PATH="$(command -v git-shell || echo /bin/sh)"

if ! getent passwd "$USER_NAME" >/dev/null; then
  useradd --system --create-home --home-dir "/home/$USER_NAME" --shell "$SHELL_PATH" "$USER_NAME"
fi
usermod -p '*' "$USER_NAME"
mkdir -p /run/sshd && chmod 0755 /run/sshd

if [ -f "$REPO/.complete" ]; then exit 0; fi
rm -rf "$REPO"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src/private_pkg"
cat >"$work/src/pyproject.toml" <<'TOML'
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "private-pkg"
version = "1.0.0"
description = "A package only reachable over SSH (python-cnb private dependency tests)"
TOML
cat >"$work/src/private_pkg/__init__.py" <<'PY'
GREETING = "hello from the private repository"
PY
git -C "$work/src" init -q -b main
git -C "$work/src" add -A
git -C "$work/src" -c user.name=test -c user.email=test@example.invalid commit -q -m "private-pkg 1.0.0"
git -C "$work/src" tag v1.0.0
mkdir -p "$(dirname "$REPO")"
git clone -q --bare "$work/src" "$REPO"
touch "$REPO/.complete"
chown -R "$USER_NAME:" "$REPO"
chmod 0755 "$(dirname "$REPO")"
