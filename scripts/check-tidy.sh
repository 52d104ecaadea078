#!/usr/bin/env bash
# Runs clang-tidy (.clang-tidy: warnings are errors) over the library and
# examples, using BUILD_DIR/compile_commands.json.
#   scripts/check-tidy.sh BUILD_DIR
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
out=$(run-clang-tidy -quiet -p "$build" "$src/(src|examples)/.*\.cpp$" 2>&1) || {
  echo "$out" | grep -E "warning:|error:" -A3 | head -100
  exit 1
}
echo "clang-tidy clean: $(echo "$out" | grep -c '^clang-tidy') files"
