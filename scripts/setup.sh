#!/usr/bin/env bash
# Installs every Debian package attn needs (idempotent; needs root or sudo).
# Called by scripts/run-example.sh and scripts/test.sh, so a fresh Debian
# bookworm machine needs nothing else.
set -euo pipefail

packages=(
  cmake ninja-build ccache clang-22 lld-22
  # compiler-rt: ThreadSanitizer's runtime for the emulator's race checking,
  # ASan/UBSan's for scripts/test-sanitizers.sh and libFuzzer for
  # scripts/fuzz.sh (only a Recommends of clang-22, so
  # --no-install-recommends skips it).
  libclang-rt-22-dev
  llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools
  libfmt-dev libgtest-dev libboost-context-dev nlohmann-json3-dev libdlpack-dev
  python3 python3-numpy
  # tools/tune/attn-tune: progress bars and pictures.
  python3-matplotlib python3-tqdm
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "setup: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
