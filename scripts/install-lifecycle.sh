#!/usr/bin/env bash
# Installs the real CNB lifecycle (github.com/buildpacks/lifecycle, cmd/lifecycle) from the Go module proxy.
#
# Why not a plain `go install github.com/buildpacks/lifecycle/cmd/lifecycle@v0.21.17`?
# The Go module proxy reachable here answers 403 for github.com/osscontainertools/kaniko, which the
# lifecycle imports only for its `extender` phase (image extensions, Dockerfiles). So we build the
# same package from a wrapper module that replaces kaniko with a stub whose DoBuild always fails.
# Every phase this project uses (detector, analyzer, restorer, builder, exporter) and the launcher are the
# unmodified lifecycle code at the pinned tag.
#
# Usage: scripts/install-lifecycle.sh [DEST_DIR]   (default: .cache/lifecycle; prints the binary path)
set -euo pipefail
VERSION="${LIFECYCLE_VERSION:-0.21.17}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="${1:-$ROOT/.cache/lifecycle}"
BIN="$DEST/lifecycle"
if [ -x "$BIN" ] && [ "$("$BIN" -version 2>/dev/null || true)" = "$VERSION" ] && [ -f "$DEST/launcher" ] && [ ! -L "$DEST/launcher" ]; then
  echo "$BIN"; exit 0
fi
mkdir -p "$DEST"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/kaniko/pkg/config" "$WORK/kaniko/pkg/executor" "$WORK/kaniko/pkg/image" "$WORK/kaniko/pkg/util/proc"
cat > "$WORK/kaniko/go.mod" <<'MOD'
module github.com/osscontainertools/kaniko

go 1.22

require github.com/google/go-containerregistry v0.20.2
MOD
cat > "$WORK/kaniko/pkg/config/config.go" <<'GO'
// Package config is a stub of kaniko's: only the names the lifecycle's extender refers to.
package config

import "time"

var KanikoDir = "/kaniko"

type CacheOptions struct{ CacheTTL time.Duration }
type RegistryOptions struct{}
type KanikoOptions struct {
	BuildArgs         []string
	Cache             bool
	CacheOptions      CacheOptions
	CacheRunLayers    bool
	CacheCopyLayers   bool
	CacheRepo         string
	Cleanup           bool
	CustomPlatform    string
	DockerfilePath    string
	IgnorePaths       []string
	IgnoreVarRun      bool
	InitialFSUnpacked bool
	NoPush            bool
	Reproducible      bool
	SnapshotMode      string
	SrcContext        string
}
GO
cat > "$WORK/kaniko/pkg/executor/executor.go" <<'GO'
// Package executor is a stub: image extension is not supported by this lifecycle build.
package executor

import (
	"errors"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/osscontainertools/kaniko/pkg/config"
)

func DoBuild(*config.KanikoOptions) (v1.Image, error) {
	return nil, errors.New("image extensions are not supported by this lifecycle build (kaniko stubbed)")
}
GO
cat > "$WORK/kaniko/pkg/image/image.go" <<'GO'
package image

import (
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/osscontainertools/kaniko/pkg/config"
)

var RetrieveRemoteImage func(image string, opts config.RegistryOptions, customPlatform string) (v1.Image, error)
GO
cat > "$WORK/kaniko/pkg/util/util.go" <<'GO'
package util

type IgnoreListEntry struct {
	Path            string
	PrefixMatchOnly bool
}

func AddToDefaultIgnoreList(IgnoreListEntry) {}
GO
cat > "$WORK/kaniko/pkg/util/proc/proc.go" <<'GO'
package proc

type ContainerRuntime string

const RuntimeNotFound ContainerRuntime = "not-found"

func GetContainerRuntime(int, int) ContainerRuntime { return RuntimeNotFound }
GO
cat > "$WORK/go.mod" <<MOD
module lifecyclebuild

go 1.26

require github.com/buildpacks/lifecycle v$VERSION

replace github.com/osscontainertools/kaniko => ./kaniko
MOD
cat > "$WORK/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "github.com/buildpacks/lifecycle/cmd/launcher"
	_ "github.com/buildpacks/lifecycle/cmd/lifecycle"
)
GO
cd "$WORK"
export GOFLAGS=-mod=mod
go mod tidy >/dev/null 2>&1 || go get "github.com/buildpacks/lifecycle/cmd/lifecycle@v$VERSION" >&2
CGO_ENABLED=0 go build -trimpath \
  -ldflags "-s -w -X github.com/buildpacks/lifecycle/cmd.Version=$VERSION" \
  -o "$BIN.tmp" github.com/buildpacks/lifecycle/cmd/lifecycle
# The launcher is its own program (cmd/launcher): the exporter copies it into the image as
# /cnb/lifecycle/launcher, where it is called as /cnb/process/<type> and picks the process from
# that name, which the multi-phase binary would not understand.
CGO_ENABLED=0 go build -trimpath \
  -ldflags "-s -w -X github.com/buildpacks/lifecycle/cmd.Version=$VERSION" \
  -o "$DEST/launcher.tmp" github.com/buildpacks/lifecycle/cmd/launcher
mv "$BIN.tmp" "$BIN"
rm -f "$DEST/launcher"
mv "$DEST/launcher.tmp" "$DEST/launcher"
# The lifecycle picks its phase from argv[0]; give each phase its name.
for phase in detector analyzer restorer builder exporter creator rebaser; do
  ln -sf lifecycle "$DEST/$phase"
done
echo "$BIN"
