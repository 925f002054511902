#!/usr/bin/env bash
# Build the compiled core with AddressSanitizer and UndefinedBehaviorSanitizer
# (CMake option FAIRFAST_SANITIZE) into its own virtual environment and run the kernel
# tests under it. Any sanitizer report fails the run. See docs/development.md.
#
#   tools/sanitize.sh                 # build (incrementally) and run the kernel tests
#   tools/sanitize.sh -k wasserstein  # extra arguments go to pytest
#
# Environment: SANITIZE_VENV (default .venv-sanitize), SANITIZE_BUILD (the CMake build
# directory, default build/sanitize), PYTHON (the interpreter of the new venv, python3).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${SANITIZE_VENV:-.venv-sanitize}
build=${SANITIZE_BUILD:-build/sanitize}

# gcc's sanitizer runtimes: Python itself is not instrumented, so libasan must be
# preloaded. Missing runtimes are an error, never a silent skip.
libasan=$(gcc -print-file-name=libasan.so)
libubsan=$(gcc -print-file-name=libubsan.so)
for lib in "$libasan" "$libubsan"; do
  if [[ "$lib" != /* || ! -e "$lib" ]]; then
    echo "sanitize: FAILED: gcc has no sanitizer runtime ('$lib' from gcc -print-file-name);" \
         "install gcc's libasan/libubsan (Debian/Ubuntu: libgcc-<version>-dev)" >&2
    exit 1
  fi
done

start=$SECONDS
[[ -x "$venv/bin/python" ]] || "${PYTHON:-python3}" -m venv "$venv"
# A local directory is always rebuilt; the build directory keeps it incremental.
CC=gcc CXX=g++ "$venv/bin/pip" install -q ".[test]" \
  -C cmake.define.FAIRFAST_SANITIZE=ON -C cmake.build-type=RelWithDebInfo -C build-dir="$build"
echo "sanitize: built in $((SECONDS - start)) s"

# libstdc++ too: else ASan's __cxa_throw interceptor finds no real __cxa_throw (Python
# does not link libstdc++) and the first C++ exception aborts.
export LD_PRELOAD="$libasan $(gcc -print-file-name=libstdc++.so)"
export PYTHONMALLOC=malloc  # every Python allocation through ASan's malloc
# CPython leaks by design at exit: leak detection off. A huge allocation returns NULL
# (numpy's MemoryError, as without ASan). Errors abort (a non-zero exit).
export ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1:abort_on_error=1:halt_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
cd "$venv"  # import the installed (sanitized) package, not the checkout's sources
bin/python - <<'PY'
import fairfast._core as core
info = core.build_info()
assert info["sanitizers"] == "address,undefined", f"not the sanitized core: {core.__file__} {info}"
print(f"sanitize: {core.__file__} built with {info['sanitizers']} ({info['compiler']}, {info['build_type']})")
PY
cd - >/dev/null

# The kernel tests: every compiled kernel and binding, not the end-to-end runs.
tests=(
  tests/test_core_stub.py tests/test_binding_fuzz.py
  tests/transport tests/base/test_grouping.py
  tests/metrics/test_group_metrics.py tests/metrics/test_distributional.py tests/metrics/test_cherry_picking.py
  tests/postprocessing/test_barycenter.py tests/postprocessing/test_barycenter_stage.py
)
tests+=(tests/*/test_*overflow*.py)
test_start=$SECONDS
# --capture=sys: a sanitizer writes its report to file descriptor 2, which fd capture
# would swallow when the process aborts.
"$venv/bin/pytest" -q -p no:cacheprovider --capture=sys "${tests[@]}" "$@"
echo "sanitize: kernel tests clean under ASan+UBSan in $((SECONDS - test_start)) s (total $((SECONDS - start)) s)"
