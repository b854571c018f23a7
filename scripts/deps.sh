#!/usr/bin/env bash
# Installs the Debian packages llmcal needs when they are missing (a fresh Debian machine).
# The CUDA toolkit (nvcc, cuBLAS, NCCL) is optional: without it the CUDA backend is left out.
set -euo pipefail
pkgs=(cmake make gcc pkg-config libjansson-dev libgsl-dev libncurses-dev tmux jq python3)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: installing ${missing[*]}"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
