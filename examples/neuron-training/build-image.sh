#!/usr/bin/env bash
# Builds the training image of the Neuron training example as an OCI image
# layout, with Debian's tools only: mmdebstrap makes a bookworm root file
# system with python3 and python3-torch, train.py goes to /opt/train, and
# pack_oci.py (Python standard library) packs it as LAYERS layers.
#
#   bash examples/neuron-training/build-image.sh [OUT]
#
# OUT defaults to .berth/images/neuron-training-oci in the repository. Push it
# with: skopeo copy oci:OUT docker://HOST:PORT/neuron-training:v1
#
# Two caches, each with a stamp: the root file system (ROOTFS_CACHE, default
# OUT's folder/neuron-training-rootfs, about 1.2 GiB; its stamp hashes the
# mmdebstrap settings below) and the image (OUT/berth-build.stamp: the
# root file system's stamp, pack_oci.py, train.py, IMAGE_TAG and LAYERS). A
# changed train.py or LAYERS repacks in a minute without mmdebstrap; the
# root file system is also there to try the image with chroot.
#
# LAYERS (default 4): the image is cut into that many layers of about the
# same size (pack_oci.py --layers), so that a node fetches and unpacks them
# on that many cores at once (berth's agent pulls 4 layers at a time by
# default) instead of inflating one 400 MB gzip stream on one core;
# LAYERS=1 gives the one-layer image. bench/README.md has the figures.
# Environment: MIRROR (http://deb.debian.org/debian), SECURITY_MIRROR
# (http://deb.debian.org/debian-security), SUITE (bookworm), IMAGE_TAG (v1),
# LAYERS (4), ROOTFS_CACHE.
# Needs root (mmdebstrap --mode=root) or working user namespaces (unshare).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-$root/.berth/images/neuron-training-oci}
out=$(realpath -m "$out")
suite=${SUITE:-bookworm}
mirror=${MIRROR:-http://deb.debian.org/debian}
security_mirror=${SECURITY_MIRROR:-http://deb.debian.org/debian-security}
tag=${IMAGE_TAG:-v1}
packages=python3-minimal,python3-torch
layers=${LAYERS:-4}
rootfs=${ROOTFS_CACHE:-$(dirname "$out")/neuron-training-rootfs}
rootfs=$(realpath -m "$rootfs")
say() { printf '[build-image] %s\n' "$*"; }

# Sources are given explicitly, so nothing depends on the host's sources.list or on stdin.
# Documentation, manual pages, translations and torch's C++ test programs are left out, and
# the apt lists and package cache are removed at the end.
# shellcheck disable=SC2016 # the hook's "$1" is expanded by mmdebstrap, not here
debstrap_args=(--variant=apt --include="$packages"
  --aptopt='APT::Install-Recommends "false"'
  --dpkgopt='path-exclude=/usr/share/doc/*'
  --dpkgopt='path-include=/usr/share/doc/*/copyright'
  --dpkgopt='path-exclude=/usr/share/man/*'
  --dpkgopt='path-exclude=/usr/share/info/*'
  --dpkgopt='path-exclude=/usr/share/locale/*'
  --dpkgopt='path-exclude=/usr/share/lintian/*'
  --dpkgopt='path-exclude=/usr/lib/python3/dist-packages/torch/bin/test_*'
  --dpkgopt='path-exclude=/usr/lib/python3/dist-packages/torch/bin/*Test'
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/log/apt/* "$1"/var/cache/debconf/*-old'
  "$suite")
debstrap_sources=("deb $mirror $suite main" "deb $mirror $suite-updates main"
  "deb $security_mirror $suite-security main")

rootfs_stamp=$(printf '%s\n' "${debstrap_args[@]}" "${debstrap_sources[@]}" | sha256sum | cut -d' ' -f1)
stamp=$(cat "$here/pack_oci.py" "$here/train.py" \
  <(printf '%s\n' "$rootfs_stamp" "$tag" "$layers") | sha256sum | cut -d' ' -f1)
if [[ -f $out/index.json && -f $out/berth-build.stamp && $(cat "$out/berth-build.stamp") == "$stamp" ]]; then
  say "up to date: $out (stamp ${stamp:0:12})"
  exit 0
fi

workdir=$(mktemp -d "${TMPDIR:-/tmp}/berth-neuron-image.XXXXXX")
cleanup() { rm -rf --one-file-system "$workdir"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
started=$SECONDS

if [[ -d $rootfs && -f $rootfs.stamp && $(cat "$rootfs.stamp") == "$rootfs_stamp" ]]; then
  say "root file system up to date: $rootfs (stamp ${rootfs_stamp:0:12})"
else
  if ! command -v mmdebstrap >/dev/null; then
    say "installing mmdebstrap"
    if [[ $EUID -ne 0 ]]; then
      echo "build-image.sh: mmdebstrap is missing; install it (apt-get install mmdebstrap)" >&2
      exit 1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q mmdebstrap >/dev/null
  fi
  mode=root
  [[ $EUID -eq 0 ]] || mode=unshare
  say "mmdebstrap $suite ($packages) from $mirror into $workdir/rootfs (mode $mode); this downloads a few hundred MB the first time"
  mmdebstrap --mode="$mode" "${debstrap_args[@]}" "$workdir/rootfs" "${debstrap_sources[@]}" </dev/null
  # The stamp goes last: a root file system without it is made again.
  rm -f "$rootfs.stamp"
  rm -rf --one-file-system "$rootfs"
  mkdir -p "$(dirname "$rootfs")"
  mv "$workdir/rootfs" "$rootfs"
  echo "$rootfs_stamp" >"$rootfs.stamp"
  say "root file system ready in $((SECONDS - started))s: $rootfs ($(du -sm "$rootfs" | cut -f1) MiB)"
fi

install -D -m 0644 "$here/train.py" "$rootfs/opt/train/train.py"
mkdir -p "$rootfs/checkpoints"

arch=$(dpkg --print-architecture)
say "packing the OCI image layout ($arch, tag $tag, $layers layers)"
rm -rf "$out"
mkdir -p "$(dirname "$out")"
python3 "$here/pack_oci.py" "$rootfs" "$out" --tag "$tag" --arch "$arch" --layers "$layers" \
  --entrypoint '["python3", "-u", "/opt/train/train.py"]' \
  --workdir /opt/train \
  --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --env PYTHONUNBUFFERED=1 \
  --env CHECKPOINT_DIR=/checkpoints \
  --label org.opencontainers.image.title=berth-neuron-training \
  --label "org.opencontainers.image.description=berth example: PyTorch training on Debian $suite"
echo "$stamp" >"$out/berth-build.stamp"
say "done in $((SECONDS - started))s: $out ($(du -sm "$out" | cut -f1) MiB)"
