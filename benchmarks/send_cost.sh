#!/usr/bin/env bash
# send_cost.sh - what an `interface` port's frames cost the sending thread on veth, with 1 and
# with 4 ports (about 30 s).
#
#   sudo bash benchmarks/send_cost.sh
#
# A file source (the live.sh capture, 150,000 packets) at top speed, `overflow: wait` so no
# frame is dropped, into 1 and then 4 interface ports on veths whose peers sit in a sink
# namespace. For each run it prints wall time, Sidetap's user and system CPU (GNU time) and the
# system time per frame sent, and checks the sink received every frame. The kernel's work per
# frame (skb allocation and copy, veth_xmit, and the sink's receive path, which runs inside
# the sender's send) is what sizes how many interface ports a host can feed: see
# docs/benchmarks.md ("Why four ports cannot reach 80 %").
#
# Everything it creates (a namespace, four veth pairs) carries this run's PID in its name and
# is removed by name at exit. No addresses: frames go nowhere beyond the sink interfaces.
# Knobs: RUNS [3]  CAP [/tmp/sidetap-live/in.pcap, generated when missing]  SIDETAP [.build/release/sidetap]
set -u -o pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
RUNS=${RUNS:-3}
SIDETAP=${SIDETAP:-$REPO/.build/release/sidetap}
CAP=${CAP:-/tmp/sidetap-live/in.pcap}
[ "$(id -u)" = 0 ] || { echo "send_cost.sh: run as root (namespaces, veths, packet sockets)" >&2; exit 1; }
[ -x "$SIDETAP" ] || (cd "$REPO" && swift build -c release --product sidetap) || exit 1
[ -x /usr/bin/time ] || { echo "send_cost.sh: needs GNU time (apt-get install time)" >&2; exit 1; }
if [ ! -s "$CAP" ]; then
  mkdir -p "$(dirname "$CAP")"
  "$SIDETAP" generate --packets 150000 --seed 20260101 -o "$CAP" >/dev/null || exit 1
fi
FRAMES=$(tcpdump -r "$CAP" 2>/dev/null | wc -l)

ID=$(( $$ % 100000 ))
NS=stsend-sink-$ID
WORK=$(mktemp -d)
cleanup() {
  for k in 0 1 2 3; do ip link del "stsd${k}x$ID" 2>/dev/null; done
  ip netns del "$NS" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ip netns add "$NS" || exit 1
for k in 0 1 2 3; do
  ip link add "stsd${k}x$ID" type veth peer name "sink$k" netns "$NS" || exit 1
  sysctl -qw "net.ipv6.conf.stsd${k}x$ID.disable_ipv6=1"
  ip link set "stsd${k}x$ID" up
  ip netns exec "$NS" sysctl -qw "net.ipv6.conf.sink$k.disable_ipv6=1"
  ip -n "$NS" link set "sink$k" up
done
echo "accept any" > "$WORK/any.rules"
for n in 1 4; do
  { echo "sources:"; echo "  - { name: file, file: $CAP }"; echo "ports:"
    for k in $(seq 0 $((n - 1))); do echo "  - { name: out$k, kind: interface, interface: stsd${k}x$ID, rules: $WORK/any.rules }"; done
    echo "options: { overflow: wait, status: off, control_socket: off }"; } > "$WORK/send$n.yaml"
done
echo "# $FRAMES frames per port per run; sink namespace $NS"
printf '%-6s %-4s %8s %8s %8s %14s %s\n' ports run wall_s user_s sys_s "sys_us/frame" sink
for r in $(seq 1 "$RUNS"); do
  for n in 1 4; do
    before=$(ip netns exec "$NS" cat /sys/class/net/sink0/statistics/rx_packets)
    line=$(/usr/bin/time -f "%e %U %S" "$SIDETAP" run "$WORK/send$n.yaml" 2>&1 >/dev/null | tail -n 1)
    after=$(ip netns exec "$NS" cat /sys/class/net/sink0/statistics/rx_packets)
    set -- $line
    awk -v n="$n" -v r="$r" -v w="$1" -v u="$2" -v s="$3" -v f="$FRAMES" -v got=$((after - before)) \
      'BEGIN { printf "%-6d %-4d %8.2f %8.2f %8.2f %14.2f %s\n", n, r, w, u, s, s * 1e6 / (f * n), (got == f ? "all frames" : got " of " f) }'
  done
done
