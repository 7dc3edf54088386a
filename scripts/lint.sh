#!/usr/bin/env bash
# Reject what the compiler and formatter cannot see:
# banned libc calls everywhere, raw curl_easy_perform outside the HTTP client, and
# rename/fsync outside store/. Prints every offending line; exit 1 if any.
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
files=$(git ls-files -co --exclude-standard -- '*.c' '*.h' | grep -v '^build')
check() { # pattern, description, files...
  local pattern=$1 what=$2; shift 2
  [ $# -eq 0 ] && return
  local hits
  hits=$(grep -nE "$pattern" "$@" /dev/null | grep -vE '^\S+:[0-9]+:\s*(/\*|\*|//)' || true)
  if [ -n "$hits" ]; then
    echo "lint: $what:"; echo "$hits"; status=1
  fi
}
# shellcheck disable=SC2086
check '(^|[^_a-z])(strcpy|strcat|sprintf|vsprintf|gets|atoi|atol|strtok|system)\s*\(' \
  "banned function (use strbuf/xasprintf/snprintf, strtol, strtok_r)" $files
check 'curl_easy_perform\s*\(' "curl_easy_perform outside sync/client/sf_client.c and tests" \
  $(echo "$files" | grep -vE '^(sync/client/sf_client\.c|sync/client/oauth\.c|sync/client/probe\.c|sync/client/http[a-z_]*\.c|tests/|bench/)')
check '(^|[^_a-z])(rename|fsync|fdatasync)\s*\(' "rename/fsync outside store/" \
  $(echo "$files" | grep -vE '^(store/|tests/)')
# Layout is .clang-format's: every C file must already be formatted.
if command -v clang-format >/dev/null 2>&1; then
  unformatted=""
  for f in $files; do
    clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || unformatted="$unformatted $f"
  done
  if [ -n "$unformatted" ]; then
    echo "lint: not formatted per .clang-format (run clang-format -i):$unformatted"; status=1
  fi
else
  echo "lint: clang-format not installed; layout not checked"
fi
if [ $status -eq 0 ]; then echo "lint: ok ($(echo "$files" | wc -l) files)"; fi
exit $status
