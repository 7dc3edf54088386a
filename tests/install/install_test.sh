#!/bin/sh
# The installed tree (issue 13 item 5): `cmake --install` into a temporary prefix puts the
# programs, libsfagent (static, and shared with its SONAME), every public header,
# sfagent.pc, the man page and the systemd units in place; examples/embed.c builds from
# that tree alone with `pkg-config --cflags --libs sfagent` (shared, and static through
# Requires.private / Libs.private) and, against the installed emulator, creates a Case
# offline, syncs it and prints its CaseNumber.
#
# usage: install_test.sh BUILD_DIR SOURCE_DIR "EXTRA_CFLAGS" [CMAKE] [CC]
# (EXTRA_CFLAGS: the sanitizer flags of an ASan build, which its library needs; CMAKE and
# CC: the build's own cmake and C compiler, default the ones on PATH.)
set -eu
build=$1
src=$2
extra=${3:-}
cmake=${4:-cmake}
cc=${5:-cc}
tmp=$(mktemp -d /tmp/sfa-install-XXXXXX)
emu_pid=
cleanup() {
    if [ -n "$emu_pid" ]; then kill "$emu_pid" 2>/dev/null || true; wait "$emu_pid" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "install_test: $*" >&2; exit 1; }

prefix=$tmp/prefix
"$cmake" --install "$build" --prefix "$prefix" >"$tmp/install.log" || { cat "$tmp/install.log"; fail "cmake --install failed"; }

# --- the tree ---
pc=$(find "$prefix" -name sfagent.pc)
[ -n "$pc" ] || fail "no sfagent.pc installed"
pcdir=$(dirname "$pc")
libdir=$(dirname "$pcdir")
for f in bin/sfagent bin/sfagent-emulator include/sfagent.h share/man/man1/sfagent.1 \
         lib/systemd/system/sfagent.service lib/systemd/system/sfagent-sync.service \
         lib/systemd/system/sfagent-sync.timer lib/sysusers.d/sfagent.conf \
         share/doc/sfagent/examples/sfagent share/doc/sfagent/examples/embed.c \
         libexec/sfagent/sfagent-remote; do
    [ -e "$prefix/$f" ] || fail "$f is not installed"
done
for h in "$src"/include/sfagent/*.h; do
    [ -e "$prefix/include/sfagent/$(basename "$h")" ] || fail "header $(basename "$h") is not installed"
done
[ -e "$libdir/libsfagent.a" ] || fail "libsfagent.a is not installed"
so=$(find "$libdir" -name 'libsfagent.so.*.*.*' | head -n 1)
[ -n "$so" ] || fail "libsfagent.so is not installed"
if command -v readelf >/dev/null; then
    soname=$(readelf -d "$so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
    [ -n "$soname" ] && [ -e "$libdir/$soname" ] || fail "libsfagent.so has no SONAME link ($soname)"
fi
grep -q '^ExecStart=.*/sfagent run$' "$prefix/lib/systemd/system/sfagent.service" ||
    fail "sfagent.service does not run 'sfagent run'"
grep -Eq '^Type=(notify|simple)$' "$prefix/lib/systemd/system/sfagent.service" ||
    fail "sfagent.service has no Type=notify|simple"
if command -v groff >/dev/null; then
    warnings=$(LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$prefix/share/man/man1/sfagent.1" 2>&1)
    [ -z "$warnings" ] || fail "the man page has groff warnings: $warnings"
fi

# systemd's own check of the units, pointed at the installed program and man page.
if command -v systemd-analyze >/dev/null; then
    mkdir "$tmp/units"
    for u in sfagent.service sfagent-sync.service sfagent-sync.timer; do
        sed "s|^ExecStart=[^ ]*/sfagent |ExecStart=$prefix/bin/sfagent |" \
            "$prefix/lib/systemd/system/$u" >"$tmp/units/$u"
    done
    MANPATH="$prefix/share/man" systemd-analyze verify "$tmp/units/sfagent.service" \
        "$tmp/units/sfagent-sync.service" "$tmp/units/sfagent-sync.timer" ||
        fail "systemd-analyze verify refuses the units"
fi

# --- the example, built from the installed tree only ---
export PKG_CONFIG_PATH="$pcdir"
cflags=$(pkg-config --cflags sfagent)
libs=$(pkg-config --libs sfagent)
# libsfagent.a with the system's shared libraries: what Requires.private and Libs.private
# name must be enough to link it (`pkg-config --static` would also want the static
# dependencies of libcurl itself, which distributions do not ship).
requires=$(pkg-config --print-requires-private sfagent | awk '{print $1}')
# shellcheck disable=SC2086
static_libs="-L$libdir -Wl,-Bstatic -lsfagent -Wl,-Bdynamic $(pkg-config --libs $requires) $(sed -n 's/^Libs.private: //p' "$pc")"
# shellcheck disable=SC2086 # word splitting of the flags is the point
"$cc" -std=c11 -Wall -Wextra -Werror $extra -o "$tmp/embed" "$src/examples/embed.c" $cflags $libs ||
    fail "embed.c does not build with pkg-config --cflags --libs sfagent"
# shellcheck disable=SC2086
"$cc" -std=c11 -Wall -Wextra -Werror $extra -o "$tmp/embed-static" "$src/examples/embed.c" $cflags $static_libs ||
    fail "embed.c does not link statically with pkg-config --static --libs sfagent"
if command -v ldd >/dev/null; then
    LD_LIBRARY_PATH=$libdir ldd "$tmp/embed" | grep -q "$libdir/libsfagent.so" ||
        fail "embed does not use the installed libsfagent.so"
    ! ldd "$tmp/embed-static" | grep -q libsfagent || fail "embed-static still needs libsfagent.so"
fi

# --- run it against the installed emulator ---
: >"$tmp/emu.out" # exists before the background child opens it (sed reads it at once)
"$prefix/bin/sfagent-emulator" --port 0 >>"$tmp/emu.out" 2>&1 &
emu_pid=$!
url=
tries=0
# Readiness, not a time limit on the test: wait while the emulator runs, at most 60 s.
while [ -z "$url" ] && [ $tries -lt 600 ]; do
    url=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$tmp/emu.out")
    [ -n "$url" ] || kill -0 "$emu_pid" 2>/dev/null || break
    [ -n "$url" ] || { tries=$((tries + 1)); sleep 0.1; }
done
[ -n "$url" ] || fail "the installed emulator did not start: $(cat "$tmp/emu.out")"
cat >"$tmp/sfagent.ini" <<INI
[salesforce]
login_url = $url
client_id = sfagent-test-client
client_secret = sfagent-test-secret
username = agent@example.com
password = password
INI
chmod 600 "$tmp/sfagent.ini"
for prog in embed embed-static; do
    out=$(LD_LIBRARY_PATH=$libdir "$tmp/$prog" "$tmp/$prog.db" "$tmp/sfagent.ini") ||
        fail "$prog failed: $out"
    echo "$out" | grep -Eq '^[0-9]{8}$' || fail "$prog printed '$out', not a CaseNumber"
    echo "$prog: CaseNumber $out"
done
# The installed program reads what the library wrote.
"$prefix/bin/sfagent" --db "$tmp/embed.db" status --check >"$tmp/check.out" ||
    fail "status --check after embed: $(cat "$tmp/check.out")"
# The installed program's network commands run in the installed helper (libexec/sfagent).
cli="$prefix/bin/sfagent --db $tmp/cli.db"
export SFAGENT_CONFIG="$tmp/sfagent.ini"
$cli init >/dev/null || fail "installed sfagent: init failed"
$cli case create --subject "installed tree" >/dev/null || fail "installed sfagent: create failed"
$cli sync >"$tmp/sync.out" 2>&1 || fail "installed sfagent: sync failed: $(cat "$tmp/sync.out")"
$cli --json case list | grep -Eq '"caseNumber":[[:space:]]*"[0-9]{8}"' ||
    fail "installed sfagent: the synced Case has no CaseNumber"
echo "install_test: ok"
