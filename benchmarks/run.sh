#!/usr/bin/env bash
# Sidetap offline throughput benchmark, in one run (about 3–6 minutes on 2 cores):
#   1. release build; generate the capture once (deterministic seed) into $BENCH_DIR;
#   2. warm the page cache;
#   3. $RUNS interleaved rounds after one warm-up round: in each round every command runs once,
#      in an order rotated by one per round, so a burst of load from the machine's neighbours
#      lands on all commands alike instead of on whichever ran all its runs at that moment;
#      `sync` (untimed) before each, so no command runs beside the writeback of another's file.
#      Commands: bare libpcap read, sidetap 1×1 → discard, sidetap 1×1 native → discard,
#      sidetap 4×8 → discard, sidetap 1×1 → pcap file, tcpdump → /dev/null, tcpdump → file
#      (same expression as the 1×1 rule). Wall-clock time of each process, start to exit;
#   4. packets/s from the median over rounds, ratios against the targets, PASS/FAIL;
#   5. allocation check: malloc_count.c (LD_PRELOAD) on two prefixes; heap allocations per extra packet.
# Must run as root (tcpdump -Z root, page-cache warm-up). Exit status 1 when a target fails
# or a measurement could not run.
#
# Knobs (environment):
#   SIDETAP_BENCH_PACKETS   packets in the capture            (default 2000000, at least 2000000 for the targets)
#   SIDETAP_BENCH_SEED      generator seed                     (default 20260101)
#   SIDETAP_BENCH_RUNS      measured rounds (each command once)  (default 7)
#   SIDETAP_BENCH_DIR       work directory                      (default /tmp/sidetap-bench)
#   SIDETAP_BENCH_ALLOC     "SMALL LARGE" prefixes for the allocation check (default "50000 200000"; "" skips)
#   SIDETAP_BENCH_EXPR      tcpdump expression of the 1×1 rule  (default "tcp port 80"; keep rules/tcp80.rules in step)
#   SIDETAP                 sidetap binary                      (default: build and use .build/release/sidetap)
set -euo pipefail

PACKETS=${SIDETAP_BENCH_PACKETS:-2000000}
SEED=${SIDETAP_BENCH_SEED:-20260101}
RUNS=${SIDETAP_BENCH_RUNS:-7}
BENCH_DIR=${SIDETAP_BENCH_DIR:-/tmp/sidetap-bench}
ALLOC=${SIDETAP_BENCH_ALLOC-50000 200000}
EXPR=${SIDETAP_BENCH_EXPR:-tcp port 80}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

say() { printf '%s\n' "$*"; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 2; }

[ "$(id -u)" -eq 0 ] || die "run as root (tcpdump -Z root and the page-cache warm-up need it)"
for tool in tcpdump gcc awk; do
    command -v "$tool" >/dev/null || die "missing $tool (apt-get install $tool)"
done
[ -f /usr/include/pcap/pcap.h ] || die "missing libpcap headers (apt-get install libpcap-dev)"

START=$(date +%s)
mkdir -p "$BENCH_DIR"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
FAILED=0

# --- 1. build --------------------------------------------------------------------------
if [ -z "${SIDETAP:-}" ]; then
    say "== swift build -c release"
    (cd "$REPO" && swift build -c release --product sidetap 2>&1 | tail -n 3)
    SIDETAP="$REPO/.build/release/sidetap"
fi
[ -x "$SIDETAP" ] || die "no sidetap binary at $SIDETAP"
gcc -O2 -Wall -o "$TMP/pcap_read" "$REPO/benchmarks/pcap_read.c" -lpcap
gcc -O2 -Wall -shared -fPIC -o "$TMP/malloc_count.so" "$REPO/benchmarks/malloc_count.c"

# --- capture -----------------------------------------------------------------------------
IN="$BENCH_DIR/in.pcap"
META="$BENCH_DIR/in.meta"
WANT="packets=$PACKETS seed=$SEED"
if [ ! -s "$IN" ] || [ "$(cat "$META" 2>/dev/null)" != "$WANT" ]; then
    say "== generating $PACKETS packets (seed $SEED) into $IN"
    rm -f "$META"
    GEN_START=$(date +%s.%N)
    "$SIDETAP" generate --packets "$PACKETS" --seed "$SEED" -o "$IN"
    GEN_END=$(date +%s.%N)
    echo "$WANT" > "$META"
    say "   generated in $(awk -v a="$GEN_START" -v b="$GEN_END" 'BEGIN { printf "%.1f", b - a }') s"
else
    say "== reusing $IN ($WANT)"
fi
COUNT=$("$TMP/pcap_read" "$IN" | sed -n 's/^packets=\([0-9]*\).*/\1/p')
[ "$COUNT" = "$PACKETS" ] || die "$IN holds $COUNT packets, expected $PACKETS"
say "   $(du -h "$IN" | cut -f1)B, $COUNT packets"

# Configs point at the capture and rules by absolute path inside $BENCH_DIR.
CFG="$BENCH_DIR/configs"
rm -rf "$CFG"
cp -r "$REPO/benchmarks/configs" "$CFG"
for file in "$CFG"/*.yaml; do
    sed -i -e "s#/tmp/sidetap-bench#$BENCH_DIR#g" -e "s#rules: rules/#rules: $CFG/rules/#g" "$file"
done

# --- 2. warm the page cache ------------------------------------------------------------------
say "== warming the page cache"
cat "$IN" > /dev/null
"$TMP/pcap_read" "$IN" > /dev/null

# --- sanity: every sidetap configuration runs and reports its summary line --------------
SIDETAP_OK=1
for config in 1x1-discard 1x1-native-discard 1x1-flows-discard 4x8-discard 4x8-mixed-discard 1x1-file; do
    if "$SIDETAP" run "$CFG/$config.yaml" > "$TMP/$config.out" 2> "$TMP/$config.err" \
        && grep -q '^sidetap: packets=' "$TMP/$config.err"; then
        say "   sidetap $config: $(grep '^sidetap: packets=' "$TMP/$config.err" | tail -n 1)"
    else
        say "   sidetap $config FAILED:"; sed 's/^/     /' "$TMP/$config.err" | tail -n 5
        SIDETAP_OK=0
    fi
done
if [ -f "$BENCH_DIR/out.pcap" ]; then
    SIDETAP_MATCHED=$("$TMP/pcap_read" "$BENCH_DIR/out.pcap" | sed -n 's/^packets=\([0-9]*\).*/\1/p')
    TCPDUMP_MATCHED=$(tcpdump -Z root -r "$IN" -w - "$EXPR" 2>/dev/null | "$TMP/pcap_read" /dev/stdin | sed -n 's/^packets=\([0-9]*\).*/\1/p')
    say "   $EXPR: sidetap wrote $SIDETAP_MATCHED packets, tcpdump selects $TCPDUMP_MATCHED"
    [ "$SIDETAP_MATCHED" = "$TCPDUMP_MATCHED" ] || { say "   MISMATCH"; FAILED=1; }
fi

# --- 3. measure --------------------------------------------------------------------------
NAMES=(); COMMANDS=()
measure() { NAMES+=("$1"); COMMANDS+=("$2"); }
measure libpcap-read "$TMP/pcap_read $IN"
if [ "$SIDETAP_OK" -eq 1 ]; then
    measure sidetap-1x1 "$SIDETAP run $CFG/1x1-discard.yaml"
    measure sidetap-1x1-native "$SIDETAP run $CFG/1x1-native-discard.yaml"
    measure sidetap-1x1-flows "$SIDETAP run $CFG/1x1-flows-discard.yaml"
    measure sidetap-4x8 "$SIDETAP run $CFG/4x8-discard.yaml"
    measure sidetap-4x8-mixed "$SIDETAP run $CFG/4x8-mixed-discard.yaml"
    measure sidetap-file "$SIDETAP run $CFG/1x1-file.yaml"
else
    FAILED=1
fi
measure tcpdump-devnull "tcpdump -r $IN -w /dev/null '$EXPR'"
measure tcpdump-file "tcpdump -Z root -r $IN -w $BENCH_DIR/tcpdump-out.pcap '$EXPR'"
TIMES="$BENCH_DIR/times.txt"     # one line per measured run: name round seconds
: > "$TIMES"
say "== measuring: $RUNS rounds after a warm-up round; each command once per round, order rotated"
COUNT_COMMANDS=${#NAMES[@]}
for round in $(seq 0 "$RUNS"); do
    for k in $(seq 0 $((COUNT_COMMANDS - 1))); do
        i=$(( (k + round) % COUNT_COMMANDS ))
        sync    # the previous command's output is on disk: no command runs beside another's writeback
        begin=$EPOCHREALTIME
        if ! eval "${COMMANDS[$i]}" > /dev/null 2> "$TMP/last.err"; then
            say "   ${NAMES[$i]} failed in round $round:"; sed 's/^/     /' "$TMP/last.err" | tail -n 3
            FAILED=1; continue
        fi
        end=$EPOCHREALTIME
        [ "$round" -gt 0 ] && awk -v n="${NAMES[$i]}" -v r="$round" -v b="$begin" -v e="$end" \
            'BEGIN { printf "%s %d %.6f\n", n, r, e - b }' >> "$TIMES"
    done
done

# median NAME: the median of NAME's measured runs, in seconds (empty when none).
median() {
    awk -v n="$1" '$1 == n { print $3 }' "$TIMES" | sort -g | awk '{ t[NR] = $1 } END {
        if (NR == 0) exit;
        if (NR % 2) printf "%.6f\n", t[(NR + 1) / 2]; else printf "%.6f\n", (t[NR / 2] + t[NR / 2 + 1]) / 2 }'
}
# spread NAME: smallest and largest run, "min–max".
spread() { awk -v n="$1" '$1 == n { if (!c++ || $3 < lo) lo = $3; if ($3 > hi) hi = $3 } END { if (c) printf "%.3f–%.3f", lo, hi }' "$TIMES"; }
pps() { awk -v p="$PACKETS" -v t="$1" 'BEGIN { if (t > 0) printf "%.0f", p / t; else print 0 }'; }

say ""
say "== results ($PACKETS packets, median of $RUNS rounds; every run in $TIMES)"
printf '%-22s %10s %14s  %s\n' measurement seconds packets/s "min–max s"
for name in libpcap-read sidetap-1x1 sidetap-1x1-native sidetap-1x1-flows sidetap-4x8 sidetap-4x8-mixed sidetap-file tcpdump-devnull tcpdump-file; do
    t=$(median "$name")
    [ -n "$t" ] || continue
    printf '%-22s %10.3f %14s  %s\n' "$name" "$t" "$(pps "$t")" "$(spread "$name")"
done

# ratio NAME NUMERATOR-MEASUREMENT DENOMINATOR-MEASUREMENT TARGET: pps(a) / pps(b) = t(b) / t(a)
ratio() {
    local a b
    a=$(median "$2"); b=$(median "$3")
    if [ -z "$a" ] || [ -z "$b" ]; then
        printf '%-34s %8s  (target >= %s)  FAIL (not measured)\n' "$1" "-" "$4"; FAILED=1; return
    fi
    awk -v a="$a" -v b="$b" -v target="$4" -v name="$1" 'BEGIN {
        r = b / a; verdict = (r >= target) ? "PASS" : "FAIL";
        printf "%-34s %8.3f  (target >= %s)  %s\n", name, r, target, verdict; exit (r >= target) ? 0 : 1 }' \
        || FAILED=1
}
say ""
say "== ratios (packets/s over packets/s)"
ratio "sidetap-1x1 / tcpdump-devnull" sidetap-1x1 tcpdump-devnull 1.2
ratio "sidetap-file / tcpdump-file" sidetap-file tcpdump-file 1.0
ratio "sidetap-4x8 / sidetap-1x1" sidetap-4x8 sidetap-1x1 0.667
ratio "sidetap-4x8 / sidetap-1x1-native" sidetap-4x8 sidetap-1x1-native 0.667
info() {
    local a b
    a=$(median "$2"); b=$(median "$3")
    [ -n "$a" ] && [ -n "$b" ] && awk -v a="$a" -v b="$b" -v name="$1" -v what="$4" \
        'BEGIN { printf "%-34s %8.3f  (information: %s)\n", name, b / a, what }'
}
info "sidetap-4x8-mixed / sidetap-1x1" sidetap-4x8-mixed sidetap-1x1 "4×8 with per-packet flags and pcap rules"
info "sidetap-1x1 / libpcap-read" sidetap-1x1 libpcap-read "share of the bare libpcap read rate"
info "sidetap-1x1-flows / sidetap-1x1" sidetap-1x1-flows sidetap-1x1 "with a flow table tracking every flow's TCP state"

# --- 5. allocations ----------------------------------------------------------------------------
if [ -n "$ALLOC" ] && [ "$SIDETAP_OK" -eq 1 ]; then
    read -r SMALL LARGE <<< "$ALLOC"
    say ""
    say "== allocation check: malloc_count.so (LD_PRELOAD), sidetap 1×1 on the first $SMALL and $LARGE packets"
    allocations() {
        local prefix="$BENCH_DIR/prefix-$1.pcap" config="$TMP/alloc-$1.yaml"
        tcpdump -r "$IN" -c "$1" -w "$prefix" 2>/dev/null
        sed "s#$BENCH_DIR/prefix.pcap#$prefix#" "$CFG/1x1-alloc.yaml" > "$config"
        MALLOC_COUNT_OUT="$TMP/allocs-$1.txt" LD_PRELOAD="$TMP/malloc_count.so" "$SIDETAP" run "$config" \
            > /dev/null 2>&1 || true
        sed -n 's/^allocations=\([0-9]*\)$/\1/p' "$TMP/allocs-$1.txt" 2>/dev/null
    }
    A_SMALL=$(allocations "$SMALL")
    A_LARGE=$(allocations "$LARGE")
    if [ -z "$A_SMALL" ] || [ -z "$A_LARGE" ]; then
        say "   malloc_count gave no count"; FAILED=1
    else
        awk -v s="$A_SMALL" -v l="$A_LARGE" -v ns="$SMALL" -v nl="$LARGE" 'BEGIN {
            per = (l - s) / (nl - ns);
            printf "   %d packets: %d allocations\n   %d packets: %d allocations\n", ns, s, nl, l;
            verdict = (per < 0.001) ? "PASS" : "FAIL";
            printf "   per extra packet: %.4f  (target 0)  %s\n", per, verdict; exit (per < 0.001) ? 0 : 1 }' || FAILED=1
    fi
fi

say ""
say "== done in $(( $(date +%s) - START )) s; $( [ "$FAILED" -eq 0 ] && echo 'all targets PASS' || echo 'some targets FAIL')"
exit "$FAILED"
