#!/usr/bin/env bash
# Fails when a C/C++ file differs from what clang-format (.clang-format) makes of it.
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(find include src examples tools tests bench -name '*.[ch]pp' -o -name '*.[ch]' | sort)
clang-format --dry-run --Werror $files
echo "format ok: $(echo "$files" | wc -l) files"
