#!/usr/bin/env bash
# Builds the appliance's container image from the Dockerfile and writes it as a tar for
# `docker load -i`.
#
#   scripts/build-image.sh [--tag NAME:TAG] [--output FILE.tar | --no-export] [--builder auto|docker|buildah]
#                          [--build-image IMAGE] [--runtime-image IMAGE]
#
#   --tag            the image's name (default open-mdm-appliance:<package.json version>)
#   --output         the docker-archive tar (default dist-image/open-mdm-appliance-<version>.tar)
#   --no-export      build only; no tar
#   --builder        auto (default): docker when a Docker daemon answers (`docker info`), else buildah
#   --build-image    base of the build stage (default: docker node:20-bookworm; buildah a local base)
#   --runtime-image  base of the run stage (default: docker node:20-bookworm-slim; buildah a local base)
#
# Without a Docker daemon (CI, a VM without Docker) it builds with buildah as root
# (`apt-get install -y buildah debootstrap`), storage driver vfs, isolation chroot, from two base
# images made here without any registry: Debian bookworm (debootstrap --variant=minbase from
# $DEBIAN_MIRROR) with this machine's Node 20 in /usr/local (node; for the build base also npm,
# Node's headers for node-gyp, python3, make, g++). The build base also trusts the CA file this
# machine's Node is given in NODE_EXTRA_CA_CERTS (a TLS-intercepting proxy in front of the npm
# registry); that base is used for the build stage only, and nothing of it is in the image.
#
# Environment:
#   MDM_IMAGE_CACHE  the debootstrapped root filesystems (tars) and the .debs they came from, kept
#                    so a second build needs no debootstrap (default .cache/image in the repository)
#   DEBIAN_MIRROR    default http://deb.debian.org/debian
#
# The local base images are kept in buildah's storage under localhost/mdm-base-{build,runtime},
# tagged with a hash of what went into them (Node's version, the recipe): a second build reuses
# them and buildah's layer cache (npm ci runs again only when package-lock.json changed).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VERSION=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$ROOT/package.json")
[[ -n "$VERSION" ]] || { echo "build-image: no version in package.json" >&2; exit 1; }
TAG="open-mdm-appliance:$VERSION"
OUTPUT="$ROOT/dist-image/open-mdm-appliance-$VERSION.tar"
EXPORT=1
BUILDER=auto
BUILD_IMAGE=
RUNTIME_IMAGE=
CACHE=${MDM_IMAGE_CACHE:-$ROOT/.cache/image}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
# Bump when the way the bases are made changes: a new hash makes new bases.
RECIPE=4

die() { echo "build-image: $*" >&2; exit 1; }
need_arg() { [[ $# -ge 2 && -n "$2" ]] || die "$1 needs a value"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --tag) need_arg "$@"; TAG=$2; shift 2 ;;
    --output) need_arg "$@"; OUTPUT=$(realpath -m "$2"); shift 2 ;;
    --no-export) EXPORT=0; shift ;;
    --builder) need_arg "$@"; BUILDER=$2; shift 2 ;;
    --build-image) need_arg "$@"; BUILD_IMAGE=$2; shift 2 ;;
    --runtime-image) need_arg "$@"; RUNTIME_IMAGE=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (--help)" ;;
  esac
done
case "$BUILDER" in
  auto) if command -v docker >/dev/null && docker info >/dev/null 2>&1; then BUILDER=docker; else BUILDER=buildah; fi ;;
  docker|buildah) ;;
  *) die "--builder must be auto, docker or buildah" ;;
esac
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1e6 }'; }
started=$SECONDS

if [[ "$BUILDER" == docker ]]; then
  args=()
  [[ -n "$BUILD_IMAGE" ]] && args+=(--build-arg "BUILD_IMAGE=$BUILD_IMAGE")
  [[ -n "$RUNTIME_IMAGE" ]] && args+=(--build-arg "RUNTIME_IMAGE=$RUNTIME_IMAGE")
  echo "build-image: docker build -t $TAG" >&2
  docker build "${args[@]}" -t "$TAG" -f "$ROOT/Dockerfile" "$ROOT"
  size=$(docker image inspect --format '{{.Size}}' "$TAG")
  if [[ $EXPORT == 1 ]]; then
    mkdir -p "$(dirname "$OUTPUT")"
    docker save -o "$OUTPUT" "$TAG"
  fi
else
  [[ $(id -u) == 0 ]] || die "building with buildah needs root (no Docker daemon answers 'docker info')"
  command -v buildah >/dev/null || die "no Docker daemon and no buildah: apt-get install -y buildah debootstrap"
  B=(buildah --storage-driver vfs)

  # The root filesystems of both bases, from one debootstrap, cached as tars: the runtime's is
  # minbase; the build's is the same plus the toolchain, installed with apt in a chroot.
  BUILD_PACKAGES="python3 make g++ ca-certificates"
  ROOTFS_KEY=$(echo "1 $SUITE $MIRROR $BUILD_PACKAGES" | sha256sum | cut -c1-16)
  make_rootfs() {
    [[ -f "$CACHE/rootfs-runtime-$ROOTFS_KEY.tar" && -f "$CACHE/rootfs-build-$ROOTFS_KEY.tar" ]] && return
    command -v debootstrap >/dev/null || die "no debootstrap: apt-get install -y debootstrap"
    mkdir -p "$CACHE/debs"
    local tmp t0=$SECONDS kind
    tmp=$(mktemp -d "$CACHE/debootstrap.XXXXXX")
    echo "build-image: debootstrap --variant=minbase $SUITE from $MIRROR, then $BUILD_PACKAGES for the build base" >&2
    if ! debootstrap --variant=minbase --cache-dir="$CACHE/debs" "$SUITE" "$tmp/runtime" "$MIRROR" >"$tmp/log" 2>&1; then
      tail -20 "$tmp/log" >&2; rm -rf "$tmp"; die "debootstrap failed (log above)"
    fi
    cp -a "$tmp/runtime" "$tmp/build"
    # shellcheck disable=SC2086
    if ! chroot "$tmp/build" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $BUILD_PACKAGES >"$tmp/log" 2>&1; then
      tail -20 "$tmp/log" >&2; rm -rf "$tmp"; die "apt-get install $BUILD_PACKAGES in the build base failed (log above)"
    fi
    find "$tmp/runtime/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
    for kind in runtime build; do
      # What a slim image leaves out: package caches and lists, documentation, logs.
      rm -rf "$tmp/$kind"/var/cache/apt/archives/*.deb "$tmp/$kind"/var/lib/apt/lists/* "$tmp/$kind"/var/log/* \
        "$tmp/$kind"/usr/share/doc/* "$tmp/$kind"/usr/share/man/* "$tmp/$kind"/usr/share/info/* "$tmp/$kind/etc/resolv.conf" "$tmp/$kind/etc/hostname"
      tar -C "$tmp/$kind" --numeric-owner -cf "$tmp/$kind.tar" .
    done
    mv "$tmp/runtime.tar" "$CACHE/rootfs-runtime-$ROOTFS_KEY.tar"
    mv "$tmp/build.tar" "$CACHE/rootfs-build-$ROOTFS_KEY.tar"
    find "$CACHE" -maxdepth 1 -name 'rootfs-*.tar' ! -name "*-$ROOTFS_KEY.tar" -delete
    rm -rf "$tmp"
    echo "build-image: root filesystems made in $((SECONDS - t0)) s, cached in $CACHE" >&2
  }

  # One base: a cached root filesystem + this machine's Node, committed as a local image.
  make_base() {
    local kind=$1 node npm_dir headers ca="" key name rootfs ctr
    node=$(readlink -f "$(command -v node)") || die "no node on PATH"
    [[ $("$node" -p 'process.versions.node.split(".")[0]') == 20 ]] || die "$node is not Node 20"
    if [[ $kind == build ]]; then
      npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")") || die "no npm on PATH"
      [[ -f "$npm_dir/package.json" ]] || die "npm's directory not found (from $(command -v npm))"
      headers=$(dirname "$(dirname "$node")")/include/node
      [[ -f "$headers/node.h" ]] || die "Node's headers not found in $headers (node-gyp needs them to build better-sqlite3)"
      [[ -n "${NODE_EXTRA_CA_CERTS:-}" && -r "$NODE_EXTRA_CA_CERTS" ]] && ca=$NODE_EXTRA_CA_CERTS
    fi
    key=$( {
      echo "$RECIPE $ROOTFS_KEY"
      "$node" --version
      if [[ $kind == build ]]; then cat "$npm_dir/package.json"; fi
      if [[ -n "$ca" ]]; then cat "$ca"; fi
    } | sha256sum | cut -c1-16)
    name=localhost/mdm-base-$kind:$key
    if "${B[@]}" inspect --type image "$name" >/dev/null 2>&1; then
      echo "build-image: base $name (kept from an earlier build)" >&2
      BASE=$name
      return
    fi
    make_rootfs
    rootfs=$CACHE/rootfs-$kind-$ROOTFS_KEY.tar
    ctr=$("${B[@]}" from --pull=false scratch)
    # Removed on any failure below, not left in buildah's storage.
    trap '"${B[@]}" rm "$ctr" >/dev/null 2>&1 || true' EXIT
    "${B[@]}" add --quiet "$ctr" "$rootfs" / >/dev/null
    "${B[@]}" add --quiet --chmod 0755 "$ctr" "$node" /usr/local/bin/node >/dev/null
    local env=(--env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)
    if [[ $kind == build ]]; then
      "${B[@]}" add --quiet "$ctr" "$npm_dir" /usr/local/lib/node_modules/npm >/dev/null
      "${B[@]}" add --quiet "$ctr" "$headers" /usr/local/include/node >/dev/null
      # node-gyp finds the headers there instead of downloading them from nodejs.org, and
      # compiles better-sqlite3's two sources in parallel.
      env+=(--env npm_config_nodedir=/usr/local --env JOBS=max)
      "${B[@]}" run --isolation chroot "$ctr" -- sh -c 'ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx && npm --version >/dev/null'
      if [[ -n "$ca" ]]; then
        "${B[@]}" add --quiet "$ctr" "$ca" /usr/local/share/mdm-build/extra-ca.pem >/dev/null
        env+=(--env NODE_EXTRA_CA_CERTS=/usr/local/share/mdm-build/extra-ca.pem)
      fi
    fi
    "${B[@]}" config "${env[@]}" --cmd bash "$ctr"
    "${B[@]}" commit --quiet --rm "$ctr" "$name" >/dev/null
    trap - EXIT
    echo "build-image: base $name made" >&2
    # Bases of earlier recipes or Node versions: superseded.
    "${B[@]}" images --format '{{.Name}}:{{.Tag}}' | grep "^localhost/mdm-base-$kind:" | grep -vxF "$name" | xargs -r "${B[@]}" rmi >/dev/null 2>&1 || true
    BASE=$name
  }

  if [[ -z "$BUILD_IMAGE" ]]; then make_base build; BUILD_IMAGE=$BASE; fi
  if [[ -z "$RUNTIME_IMAGE" ]]; then make_base runtime; RUNTIME_IMAGE=$BASE; fi

  # The name docker gives it: short names are docker.io's (buildah would make them localhost/...,
  # and the tar would carry both names).
  first=${TAG%%/*}
  if [[ "$TAG" != */* ]]; then TAG=docker.io/library/$TAG
  elif [[ "$first" != *.* && "$first" != *:* && "$first" != localhost ]]; then TAG=docker.io/$TAG; fi
  echo "build-image: buildah bud -t $TAG (build stage on $BUILD_IMAGE, run stage on $RUNTIME_IMAGE)" >&2
  # --format docker: OCI image configs have no HEALTHCHECK. No --layers: with vfs every cached
  # step is a full copy of the tree (a cold build took 220 s with them, 90 s without).
  # npm's cache (content-addressed, checked against the lockfile's hashes) is this machine's,
  # mounted for the RUN steps only: packages `npm ci` fetched here are not fetched again.
  npm_cache=$(npm config get cache 2>/dev/null || true)
  volumes=()
  [[ -n "$npm_cache" && -d "$npm_cache" ]] && volumes+=(--volume "$npm_cache:/root/.npm")
  "${B[@]}" bud --isolation chroot --layers=false --pull=false --format docker "${volumes[@]}" \
    --build-arg "BUILD_IMAGE=$BUILD_IMAGE" --build-arg "RUNTIME_IMAGE=$RUNTIME_IMAGE" \
    -t "$TAG" -f "$ROOT/Dockerfile" "$ROOT"
  size=$("${B[@]}" images --format '{{.Size}}' "$TAG" | head -1)
  if [[ $EXPORT == 1 ]]; then
    mkdir -p "$(dirname "$OUTPUT")"
    rm -f "$OUTPUT"
    "${B[@]}" push --quiet "$TAG" "docker-archive:$OUTPUT:$TAG"
  fi
fi

echo "build-image: built $TAG with $BUILDER in $((SECONDS - started)) s" >&2
[[ "$size" =~ ^[0-9]+$ ]] && size=$(mib "$size")
echo "build-image: image size $size uncompressed" >&2
if [[ $EXPORT == 1 ]]; then
  echo "build-image: wrote $OUTPUT ($(mib "$(stat -c %s "$OUTPUT")")): docker load -i $OUTPUT" >&2
fi
