#!/usr/bin/env bash
# scripts/gpu/build.sh -- build llmcal HERE (no GPU needed) for the GPU machine, and stage what the
# campaign needs into build-gpu/dist, small enough to carry (the device tool carries <= 64 MiB).
#
#   bash scripts/gpu/build.sh            # configure + build + stage (about 10-20 min on 2 cores)
#   bash scripts/gpu/build.sh --stage    # only re-stage an existing build-gpu/
#
# Build: Release, LLMCAL_WITH_CUDA=ON, CMAKE_CUDA_ARCHITECTURES=90 (H100/H200, sm_90), no TUI
# (one shared library less to carry), only the targets the campaign runs: llmcal, bench_rt_kernels,
# and the gpu-labelled tests test_rt_cuda and test_rt_attention.
# Stage (build-gpu/dist, what a `run` call names in `carry`):
#   bin/     the four executables, stripped
#   lib/     the shared libraries of this machine that a CUDA image may lack (jansson, GSL);
#            CUDA's own (cudart, cublasLt) and NCCL come from the device's toolkit
#   MANIFEST commit, date, options, sizes, and each binary's dynamic dependencies
# Nothing in dist/ depends on this machine's paths: campaign.sh sets LLMCAL_PROFILE_DIR to the
# checkout's profiles/ and writes its own CTestTestfile for the gpu tests.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
build=build-gpu
dist=$build/dist
targets=(llmcal bench_rt_kernels test_rt_cuda test_rt_attention)

if [[ "${1:-}" != "--stage" ]]; then
    command -v nvcc >/dev/null || { echo "build.sh: nvcc not found (CUDA toolkit 13 needed)" >&2; exit 1; }
    mkdir -p "$build"
    cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DLLMCAL_WITH_CUDA=ON \
        -DCMAKE_CUDA_ARCHITECTURES=90 -DLLMCAL_WITH_TUI=OFF -DLLMCAL_SANITIZE=OFF \
        -DBUILD_TESTING=ON >"$build/configure.log" 2>&1 ||
        { cat "$build/configure.log" >&2; exit 1; }
    cmake --build "$build" -j"$(nproc)" --target "${targets[@]}"
fi

find_exe() { # the built executable of a target, wherever the project puts it
    find "$build" -path "$root/$dist" -prune -o -type f -name "$1" -perm -u+x -print 2>/dev/null |
        grep -v "/dist/" | head -n1
}

rm -rf "$dist"
mkdir -p "$dist/bin" "$dist/lib"
for t in "${targets[@]}"; do
    exe=$(find_exe "$t")
    [[ -n "$exe" ]] || { echo "build.sh: target $t not built" >&2; exit 1; }
    cp "$exe" "$dist/bin/$t"
    strip --strip-unneeded "$dist/bin/$t" 2>/dev/null || true
done

# shared libraries the device image is not known to have: copy them beside the binaries
for so in $(ldd "$dist"/bin/* | awk '/=>/ {print $3}' | sort -u); do
    case "$(basename "$so")" in
    libjansson.so* | libgsl.so* | libgslcblas.so*) cp -L "$so" "$dist/lib/" ;;
    esac
done

{
    echo "llmcal GPU build, staged by scripts/gpu/build.sh"
    echo "commit: $(git rev-parse HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (+ uncommitted changes)')"
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "host: $(uname -srm); $(ldd --version | head -n1)"
    echo "nvcc: $(nvcc --version | tail -n1)"
    echo "options: Release LLMCAL_WITH_CUDA=ON CMAKE_CUDA_ARCHITECTURES=90 LLMCAL_WITH_TUI=OFF"
    echo "size: $(du -sh "$dist" | cut -f1) ($(du -sb "$dist" | cut -f1) bytes)"
    for f in "$dist"/bin/* "$dist"/lib/*; do
        echo "  $(du -b "$f" | cut -f1)  ${f#"$dist"/}"
    done
    echo "dynamic dependencies (resolved on the build machine):"
    for f in "$dist"/bin/*; do
        echo "  $(basename "$f"): $(ldd "$f" | awk '{print $1}' | grep -v '^/' | tr '\n' ' ')"
    done
} >"$dist/MANIFEST"
cat "$dist/MANIFEST"
bytes=$(du -sb "$dist" | cut -f1)
if ((bytes > 60 * 1024 * 1024)); then
    echo "build.sh: $dist is $bytes bytes, too big to carry (limit 64 MiB with the tree)" >&2
    exit 1
fi
echo "build.sh: carry '$dist' (run: bash scripts/gpu/campaign.sh)"
