#!/usr/bin/env bash
# Installs everything berth needs to build, test and run, from Debian's
# archive, and the JavaScript SDK of tests/js from the npm registry (npm ci,
# pinned by its package-lock.json). Safe to run again: it only asks apt for
# what is missing, and npm only when the lock file changed.
set -euo pipefail

packages=(
  # build
  g++ cmake make ccache pkg-config clang-format
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libssl-dev libsqlite3-dev libspdlog-dev libfmt-dev libcli11-dev libarchive-dev
  libisal-dev  # ISA-L: gzip layers inflate twice as fast as with zlib
  # tests and benchmarks
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  # the sanitizer builds and the fuzz targets: clang 14, its sanitizer
  # runtimes, libFuzzer, and lld to link the instrumented binaries
  clang clang-14 libclang-rt-14-dev libfuzzer-14-dev lld zstd
  python3 python3-pytest python3-boto3 python3-botocore awscli
  # metrics: the exposition parser and a real Prometheus scraping berth
  python3-prometheus-client prometheus
  # runtime: images and containers
  skopeo runc conmon busybox-static sqlite3 tini golang-github-containers-common
  openssl ca-certificates
  # NFS served from a network namespace for the volume tests, where the
  # kernel has nfsd (tests/agent/nfs_server.py)
  nfs-kernel-server
  # the training image of the main job (examples/neuron-training/build-image.sh)
  mmdebstrap
  # registry clients and the reference registry (tests and benchmarks)
  containerd docker-registry
  # the etcd store: a local 3-member cluster for its tests (scripts/etcd-cluster.sh)
  etcd-server etcd-client
  # the dashboard's browser tests (tests/ui): headless Chromium driven by Selenium
  chromium chromium-driver python3-selenium
)

# The JavaScript SDK suite (tests/js) runs on the machine's Node.js and npm,
# or on Debian's when the machine has none.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "setup: all ${#packages[@]} packages present"
else
  echo "setup: installing ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: must run as root to install packages" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The AWS SDK for JavaScript, exactly as tests/js/package-lock.json pins it,
# from the npm registry; again only when the lock file changed.
js="$(dirname "$0")/../tests/js"
stamp="$js/node_modules/.berth-installed-lock"
if ! cmp -s "$js/package-lock.json" "$stamp"; then
  echo "setup: npm ci in tests/js"
  (cd "$js" && npm ci --no-audit --no-fund)
  cp "$js/package-lock.json" "$stamp"
fi
