#!/usr/bin/env bash
# live.sh - Sidetap on live interfaces, beside its peers, in one run (about 4-6 minutes).
#
#   sudo bash benchmarks/live.sh
#
# 1. Rate accuracy: Sidetap replays a generated capture at top speed into an `interface` port
#    shaped to 10,000 pps (burst 10) and then to 50 Mbit/s; tcpreplay --pps=10000 and
#    --mbps=50 send the same capture onto the same veth. tcpdump in the sink namespace records
#    nanosecond timestamps; rate_window.py gives the achieved rate over 10 s and the largest
#    100 ms window against rate x 0.1 s + burst.
# 2. Live forwarding: tcpreplay --topspeed in a generator namespace sends into host veth IN;
#    the tool under test forwards IN -> OUT (veth, peer in the sink namespace): Sidetap with one
#    and with four interface ports (`accept any`), daemonlogger, netsniff-ng (default -k and
#    -k 1000). Offered = IN rx_packets, delivered = sink rx_packets, RUNS runs of LIVE_SECS.
#
# Prints `name: value unit` lines (stdout, and $W/results.txt); notes start with '#'.
# Everything it creates (two namespaces, five veth pairs) has a name unique to this run and is
# removed by name at exit, trap included. Traffic exists only inside those links: host-side
# ends get no address, IPv6 off, forwarding off.
#
# Knobs: W [/tmp/sidetap-live]  RUNS [5]  LIVE_SECS [3]  RATE_SECS [10]  PACKETS [150000]
#        SEED [20260101]  SIDETAP [.build/release/sidetap, built when missing]
set -u -o pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
W=${W:-/tmp/sidetap-live}
RUNS=${RUNS:-5}
LIVE_SECS=${LIVE_SECS:-3}
RATE_SECS=${RATE_SECS:-10}
PACKETS=${PACKETS:-150000}
SEED=${SEED:-20260101}
SIDETAP=${SIDETAP:-$REPO/.build/release/sidetap}

[ "$(id -u)" = 0 ] || { echo "live.sh: run as root (namespaces, veths, raw sockets)" >&2; exit 1; }

mkdir -p "$W/logs"
LOG=$W/logs
RESULTS=$W/results.txt
: >"$RESULTS"
T_START=$(date +%s)

say()  { printf '%s: %s %s\n' "$1" "$2" "$3" | tee -a "$RESULTS"; }
note() { echo "# $*" | tee -a "$RESULTS" >&2; }
med()  { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{if(NR==0)print "nan"; else if(NR%2)print a[(NR+1)/2]; else printf "%.6g\n",(a[NR/2]+a[NR/2+1])/2}'; }
calc() { awk "BEGIN{printf \"%.${2:-3}f\", $1}"; }
need() { command -v "$1" >/dev/null 2>&1; }

# ------------------------------------------------------------------ tools
missing=
for c in tcpreplay tcpdump netsniff-ng daemonlogger python3; do need "$c" || missing="$missing $c"; done
if [ -n "$missing" ]; then
  note "installing:$missing"
  pk=; for c in $missing; do case $c in netsniff-ng) pk="$pk netsniff-ng";; *) pk="$pk $c";; esac; done
  DEBIAN_FRONTEND=noninteractive apt-get install -y $pk >"$LOG/apt.log" 2>&1 \
    || { apt-get update >>"$LOG/apt.log" 2>&1; DEBIAN_FRONTEND=noninteractive apt-get install -y $pk >>"$LOG/apt.log" 2>&1; } \
    || { echo "live.sh: apt-get install$pk failed (see $LOG/apt.log)" >&2; exit 1; }
fi
if [ ! -x "$SIDETAP" ]; then
  note "building Sidetap (swift build -c release)"
  (cd "$REPO" && swift build -c release) >"$LOG/build.log" 2>&1 || { echo "live.sh: build failed (see $LOG/build.log)" >&2; exit 1; }
fi

# ------------------------------------------------------------------ machine
HZ=$(getconf CLK_TCK)
cpu_snap() { awk '/^cpu /{t=0; for(i=2;i<=NF;i++) t+=$i; print t, $5+$6}' /proc/stat; }
cpu_busy() { awk -v a="$1" -v b="$2" 'BEGIN{split(a,x," "); split(b,y," "); dt=y[1]-x[1]; if(dt<=0){print 0; exit} printf "%.1f", 100*(dt-(y[2]-x[2]))/dt}'; }
pid_ticks() { [ -r "/proc/$1/stat" ] && awk '{print $14+$15}' "/proc/$1/stat" || echo 0; }
# wait up to 8 s for the machine to be below 20 % busy; prints the last busy %
wait_quiet() {
  local i=0 a b busy
  while :; do
    a=$(cpu_snap); sleep 0.3; b=$(cpu_snap); busy=$(cpu_busy "$a" "$b")
    awk -v x="$busy" 'BEGIN{exit !(x<20)}' && break
    i=$((i+1)); [ $i -ge 27 ] && break
  done
  echo "$busy"
}
note "live.sh $(date -u +%FT%TZ) on $(hostname): $(nproc) cpus, kernel $(uname -r), loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
note "versions: $("$SIDETAP" --version 2>/dev/null | head -1) | $(tcpreplay -V 2>&1 | head -1) | netsniff-ng $(netsniff-ng -v 2>&1 | head -1 | awk '{print $2}') | daemonlogger $(dpkg-query -W -f='${Version}' daemonlogger 2>/dev/null) | $(tcpdump --version 2>&1 | head -1)"

# ------------------------------------------------------------------ input
CAP=$W/in.pcap
if [ ! -s "$CAP" ] || [ "$(cat "$W/in.meta" 2>/dev/null)" != "$PACKETS $SEED" ]; then
  "$SIDETAP" generate --packets "$PACKETS" --seed "$SEED" -o "$CAP" >"$LOG/generate.log" 2>&1 \
    || { echo "live.sh: sidetap generate failed (see $LOG/generate.log)" >&2; exit 1; }
  echo "$PACKETS $SEED" >"$W/in.meta"
fi
cat "$CAP" >/dev/null
note "input $CAP: $PACKETS packets (sidetap generate --seed $SEED), $(stat -c %s "$CAP") bytes"

# ------------------------------------------------------------------ topology
ID=$(( $$ % 100000 ))
NS_GEN=stlive-gen-$ID
NS_SINK=stlive-sink-$ID
IF_IN=stli$ID                                # host end; peer gen0 in NS_GEN
IF_OUT=(stlo0x$ID stlo1x$ID stlo2x$ID stlo3x$ID)   # host ends; peers sink0..3 in NS_SINK
CREATED_NS=(); CREATED_IF=(); BGPIDS=()
SYSCTL_SAVE=$(sysctl -n net.core.rmem_max net.core.wmem_max net.core.rmem_default net.core.wmem_default | tr '\n' ' ')

cleanup() {
  local p
  for p in "${BGPIDS[@]}"; do kill -INT "$p" 2>/dev/null; done
  [ ${#BGPIDS[@]} -gt 0 ] && sleep 0.5
  for p in "${BGPIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
  for p in "${CREATED_IF[@]}"; do ip link del "$p" 2>/dev/null; done
  for p in "${CREATED_NS[@]}"; do ip netns del "$p" 2>/dev/null; done
  # netsniff-ng raises net.core.{r,w}mem_* and may leave them raised: put back what we found
  set -- $SYSCTL_SAVE
  sysctl -qw net.core.rmem_max="$1" net.core.wmem_max="$2" net.core.rmem_default="$3" net.core.wmem_default="$4" 2>/dev/null
  CREATED_IF=(); CREATED_NS=(); BGPIDS=()
}
trap 'cleanup; note "finished in $(( $(date +%s) - T_START )) s"' EXIT
trap 'exit 130' INT TERM

host_if_up() {
  sysctl -qw "net.ipv6.conf.$1.disable_ipv6=1" "net.ipv4.conf.$1.forwarding=0"
  ip link set "$1" up
}
ip netns add "$NS_GEN" && CREATED_NS+=("$NS_GEN") || exit 1
ip netns add "$NS_SINK" && CREATED_NS+=("$NS_SINK") || exit 1
ip link add "$IF_IN" type veth peer name gen0 netns "$NS_GEN" && CREATED_IF+=("$IF_IN") || exit 1
host_if_up "$IF_IN"
ip netns exec "$NS_GEN" sysctl -qw net.ipv6.conf.gen0.disable_ipv6=1
ip -n "$NS_GEN" link set gen0 up
for k in 0 1 2 3; do
  ip link add "${IF_OUT[$k]}" type veth peer name "sink$k" netns "$NS_SINK" && CREATED_IF+=("${IF_OUT[$k]}") || exit 1
  host_if_up "${IF_OUT[$k]}"
  ip netns exec "$NS_SINK" sysctl -qw "net.ipv6.conf.sink$k.disable_ipv6=1"
  ip -n "$NS_SINK" link set "sink$k" up
done
note "topology: $NS_GEN/gen0 <-veth-> host $IF_IN  [tool]  host ${IF_OUT[*]} <-veth-> $NS_SINK/sink0..3"

rd_if()   { cat "/sys/class/net/$1/statistics/$2"; }
rd_sink() { ip netns exec "$NS_SINK" cat "/sys/class/net/sink$1/statistics/$2"; }

# Sidetap configs (rules: accept any)
mkdir -p "$W/configs"
echo "accept any" >"$W/configs/any.rules"
cat >"$W/configs/rate-pps.yaml" <<EOF
sources:
  - { name: file, file: $CAP }
ports:
  - { name: paced, kind: interface, interface: ${IF_OUT[0]}, rules: any.rules, rate: { pps: 10000, burst: 10, mode: shape } }
options: { overflow: wait, status: off, control_socket: off }
EOF
cat >"$W/configs/rate-bps.yaml" <<EOF
sources:
  - { name: file, file: $CAP }
ports:
  - { name: paced, kind: interface, interface: ${IF_OUT[0]}, rules: any.rules, rate: { bps: 50M, mode: shape } }
options: { overflow: wait, status: off, control_socket: off }
EOF
{ echo "sources:"; echo "  - { name: in, interface: $IF_IN, direction: in }"; echo "ports:"
  echo "  - { name: out0, kind: interface, interface: ${IF_OUT[0]}, rules: any.rules }"
  echo "options: { status: off, control_socket: off }"; } >"$W/configs/live-1port.yaml"
{ echo "sources:"; echo "  - { name: in, interface: $IF_IN, direction: in }"; echo "ports:"
  for k in 0 1 2 3; do echo "  - { name: out$k, kind: interface, interface: ${IF_OUT[$k]}, rules: any.rules }"; done
  echo "options: { status: off, control_socket: off }"; } >"$W/configs/live-4port.yaml"
for c in rate-pps rate-bps live-1port live-4port; do
  "$SIDETAP" check "$W/configs/$c.yaml" >"$LOG/check-$c.log" 2>&1 || { echo "live.sh: sidetap check $c.yaml failed:" >&2; cat "$LOG/check-$c.log" >&2; exit 1; }
done

# ========================================================================= 1. RATE
# rate_one NAME TARGET-ARGS SENDER-COMMAND...: capture on sink0 in NS_SINK while the sender runs
rate_one() {
  local name=$1 targs=$2; shift 2
  local cap=$W/rate_$name.pcap tpid sp t0 t1 c0 c1 st0 st1
  rm -f "$cap"
  ip netns exec "$NS_SINK" tcpdump -Z root -i sink0 -B 32768 --time-stamp-precision=nano -w "$cap" >"$LOG/rate_$name.tcpdump" 2>&1 &
  tpid=$!; BGPIDS+=("$tpid")
  sleep 1.5
  c0=$(cpu_snap); t0=$(date +%s.%N)
  "$@" >"$LOG/rate_$name.sender" 2>&1 &
  sp=$!; BGPIDS+=("$sp")
  sleep 1; local child; child=$(pgrep -P "$sp" | head -1)   # the sender under `timeout`
  st0=$(pid_ticks "${child:-$sp}"); sleep 2; st1=$(pid_ticks "${child:-$sp}")   # its CPU over 2 s of steady pacing
  wait "$sp"; local rc=$?
  t1=$(date +%s.%N); c1=$(cpu_snap)
  sleep 1.5   # TPACKET_V3 block timeout: let tcpdump retire its last block
  kill -INT "$tpid"; wait "$tpid" 2>/dev/null; BGPIDS=()
  [ $rc = 0 ] || [ $rc = 124 ] || note "rate $name: sender exited $rc (see $LOG/rate_$name.sender)"
  python3 "$HERE/rate_window.py" "$cap" --name "rate_$name" --seconds "$RATE_SECS" $targs | tee -a "$RESULTS"
  say "rate_${name}_sender_cpu" "$(calc "($st1-$st0)*100/$HZ/2" 0)" "% of one core (over 2 s of pacing; machine busy $(cpu_busy "$c0" "$c1") % of all cores)"
  rm -f "$cap"
}

note "== 1. rate accuracy: sender -> host ${IF_OUT[0]} -> $NS_SINK/sink0 (tcpdump nano), first $RATE_SECS s"
RUN_FOR=$((RATE_SECS + 2))
note "machine busy before rate section: $(wait_quiet) %"
rate_one sidetap_pps10k "--pps 10000 --burst 10" \
  timeout -s INT "$RUN_FOR" "$SIDETAP" replay "$CAP" --config "$W/configs/rate-pps.yaml" --topspeed
rate_one tcpreplay_pps10k "--pps 10000 --burst 10" \
  timeout -s INT "$((RUN_FOR + 10))" tcpreplay -i "${IF_OUT[0]}" --pps=10000 -K --loop=0 --duration="$RUN_FOR" --no-flow-stats "$CAP"
# Sidetap's default burst_bytes is 10 ms worth: 50e6 / 8 * 0.01 = 62500 bytes
rate_one sidetap_mbps50 "--bps 50000000 --burst-bytes 62500" \
  timeout -s INT "$RUN_FOR" "$SIDETAP" replay "$CAP" --config "$W/configs/rate-bps.yaml" --topspeed
rate_one tcpreplay_mbps50 "--bps 50000000 --burst-bytes 62500" \
  timeout -s INT "$((RUN_FOR + 10))" tcpreplay -i "${IF_OUT[0]}" --mbps=50 -K --loop=0 --duration="$RUN_FOR" --no-flow-stats "$CAP"
for f in sidetap_pps10k sidetap_mbps50; do
  grep -v '^$' "$LOG/rate_$f.sender" | tail -4 | sed "s/^/# $f: /" | tee -a "$RESULTS" >&2
done

# side by side
val() { sed -n "s/^$1: \([-+0-9.]*\).*/\1/p" "$RESULTS" | tail -1; }
note "rate accuracy, side by side (target: |error| <= 1 %, max 100 ms window <= rate x 0.1 s + burst)"
for m in pps10k mbps50; do
  u=pps; [ $m = mbps50 ] && u=Mbit/s
  say "rate_${m}_error_sidetap_vs_tcpreplay" "$(val rate_sidetap_${m}_rate_error) / $(val rate_tcpreplay_${m}_rate_error)" "%"
  say "rate_${m}_achieved_sidetap_vs_tcpreplay" "$(val rate_sidetap_${m}_achieved) / $(val rate_tcpreplay_${m}_achieved)" "$u"
  say "rate_${m}_max_window_sidetap_vs_tcpreplay" "$(val rate_sidetap_${m}_max_window) / $(val rate_tcpreplay_${m}_max_window)" "$([ $m = pps10k ] && echo 'pkts (bound 1010)' || echo 'Mbit (bound 5.5)')"
  for t in sidetap tcpreplay; do
    e=$(val rate_${t}_${m}_rate_error); wb=$(sed -n "s/^rate_${t}_${m}_window_within_bound: \([a-z]*\).*/\1/p" "$RESULTS")
    if awk -v e="${e:-999}" 'BEGIN{exit !(e<=1 && e>=-1)}' && [ "$wb" = yes ]; then r=PASS; else r=FAIL; fi
    say "target_rate_${m}_${t}" "$r" "(error ${e:-?} %, window within bound: ${wb:-?})"
  done
done

# ========================================================================= 2. LIVE
# The generator and the tool under test get a CPU each (taskset): on a 2-core machine an
# unpinned generator competes with the tool, and "delivered" then measures how much CPU each
# tool leaves the generator (a two-thread tool disturbs it more) instead of forwarding. Every
# tool, Sidetap and peers alike, runs on TOOL_CPU with all its threads; tcpreplay on GEN_CPU.
# Knobs GEN_CPU [0] and TOOL_CPU [1]; no pinning on a single-CPU machine.
GEN_CPU=${GEN_CPU:-0}
TOOL_CPU=${TOOL_CPU:-1}
if [ "$(nproc)" -ge 2 ]; then
  ON_GEN=(taskset -c "$GEN_CPU"); ON_TOOL=(taskset -c "$TOOL_CPU")
  note "pinning: generator on CPU $GEN_CPU, tool under test on CPU $TOOL_CPU"
else
  ON_GEN=(); ON_TOOL=()
fi
# live_one TOOL -> LIVE_LINE="offered_kpps delivered0_kpps delivered1 delivered2 delivered3 loss% toolcpu%"
live_one() {
  local tool=$1 tpid= tlog=$LOG/live_$1.log k
  : >"$tlog"
  case $tool in
    sidetap_1port) "${ON_TOOL[@]}" "$SIDETAP" run "$W/configs/live-1port.yaml" >"$tlog" 2>&1 & tpid=$! ;;
    sidetap_4port) "${ON_TOOL[@]}" "$SIDETAP" run "$W/configs/live-4port.yaml" >"$tlog" 2>&1 & tpid=$! ;;
    daemonlogger)  "${ON_TOOL[@]}" daemonlogger -i "$IF_IN" -o "${IF_OUT[0]}" >"$tlog" 2>&1 & tpid=$! ;;
    netsniff)      "${ON_TOOL[@]}" netsniff-ng --in "$IF_IN" --out "${IF_OUT[0]}" -s -S 64MiB --no-sock-mem -Q >"$tlog" 2>&1 & tpid=$! ;;
    netsniff_k1000) "${ON_TOOL[@]}" netsniff-ng --in "$IF_IN" --out "${IF_OUT[0]}" -s -S 64MiB --no-sock-mem -Q -k 1000 >"$tlog" 2>&1 & tpid=$! ;;
    none) ;;
  esac
  [ -n "$tpid" ] && BGPIDS+=("$tpid")
  sleep 1.5   # let the tool open its rings
  local i0 i1 t0 t1 g0 g1 gsec out
  local -a s0=() s1=()
  i0=$(rd_if "$IF_IN" rx_packets); for k in 0 1 2 3; do s0[$k]=$(rd_sink $k rx_packets); done
  t0=$([ -n "$tpid" ] && pid_ticks "$tpid" || echo 0); g0=$(date +%s.%N)
  out=$(timeout -s INT $((LIVE_SECS + 10)) ip netns exec "$NS_GEN" "${ON_GEN[@]}" tcpreplay -i gen0 --topspeed -K --loop=0 --duration="$LIVE_SECS" --no-flow-stats "$CAP" 2>&1)
  echo "$out" >>"$LOG/gen_$tool.log"
  g1=$(date +%s.%N); t1=$([ -n "$tpid" ] && pid_ticks "$tpid" || echo 0)
  gsec=$(echo "$out" | sed -n 's/.*sent in \([0-9.]*\) seconds.*/\1/p' | head -1)
  [ -z "$gsec" ] && gsec=$(calc "$g1-$g0" 3)
  sleep 0.5   # drain (Sidetap's TPACKET_V3 blocks wait at most 10 ms)
  i1=$(rd_if "$IF_IN" rx_packets); for k in 0 1 2 3; do s1[$k]=$(rd_sink $k rx_packets); done
  if [ -n "$tpid" ]; then
    kill -INT "$tpid" 2>/dev/null
    local n=0; while kill -0 "$tpid" 2>/dev/null && [ $n -lt 50 ]; do sleep 0.1; n=$((n+1)); done
    kill -KILL "$tpid" 2>/dev/null; wait "$tpid" 2>/dev/null; BGPIDS=()
  fi
  local offered=$((i1-i0)) d=()
  for k in 0 1 2 3; do d[$k]=$(( ${s1[$k]} - ${s0[$k]} )); done
  [ "$tool" = none ] && d[0]=$offered
  LIVE_LINE="$(calc "$offered/$gsec/1000" 1) $(calc "${d[0]}/$gsec/1000" 1) $(calc "${d[1]}/$gsec/1000" 1) $(calc "${d[2]}/$gsec/1000" 1) $(calc "${d[3]}/$gsec/1000" 1) $(calc "($offered-${d[0]})*100/($offered>0?$offered:1)" 2) $(calc "($t1-$t0)*100/$HZ/($g1-$g0)" 0)"
}

declare -A DELIV LOSS OFF D0 D1 D2 D3 LS CPU WORST BUSY
# live_record TOOL ROUND: one run of TOOL, its figures appended to TOOL's lists.
live_record() {
  local tool=$1 round=$2 line
  BUSY[$tool]="${BUSY[$tool]:-}$(wait_quiet) "
  live_one "$tool"; line=$LIVE_LINE
  echo "run $round $tool: offered_kpps delivered_kpps(sink0..3) loss% toolcpu% = $line" >>"$LOG/live_summary.txt"
  set -- $line
  OFF[$tool]+="$1 "; D0[$tool]+="$2 "; D1[$tool]+="$3 "; D2[$tool]+="$4 "; D3[$tool]+="$5 "; LS[$tool]+="$6 "; CPU[$tool]+="$7 "
  if [ "$tool" = sidetap_4port ]; then
    WORST[$tool]+="$(printf '%s\n' "$1" "$2" "$3" "$4" "$5" | awk 'NR==1{o=$1; next} {l=(o-$1)*100/(o>0?o:1); if(l>m)m=l} END{printf "%.2f", m}') "
  fi
}

# live_report TOOL: medians over TOOL's runs.
live_report() {
  local tool=$1 nm="live_$1" busy
  busy=$(med ${BUSY[$tool]})
  if [ "$tool" = none ]; then
    say "${nm}_gen_rate" "$(med ${OFF[$tool]})" "kpps (tcpreplay --topspeed alone; runs: ${OFF[$tool]% }; machine busy before ${busy} %)"
    return
  fi
  say "${nm}_offered" "$(med ${OFF[$tool]})" "kpps (runs: ${OFF[$tool]% })"
  if [ "$tool" = sidetap_4port ]; then
    say "${nm}_delivered_port0" "$(med ${D0[$tool]})" "kpps (runs: ${D0[$tool]% })"
    say "${nm}_delivered_port1" "$(med ${D1[$tool]})" "kpps (runs: ${D1[$tool]% })"
    say "${nm}_delivered_port2" "$(med ${D2[$tool]})" "kpps (runs: ${D2[$tool]% })"
    say "${nm}_delivered_port3" "$(med ${D3[$tool]})" "kpps (runs: ${D3[$tool]% })"
    say "${nm}_loss_worst_port" "$(med ${WORST[$tool]})" "% (median over runs of the worst port's loss; runs: ${WORST[$tool]% })"
    DELIV[$tool]=$(med ${D0[$tool]} ${D1[$tool]} ${D2[$tool]} ${D3[$tool]})
    LOSS[$tool]=$(med ${WORST[$tool]})
    P4=("$(med ${D0[$tool]})" "$(med ${D1[$tool]})" "$(med ${D2[$tool]})" "$(med ${D3[$tool]})")
  else
    say "${nm}_delivered" "$(med ${D0[$tool]})" "kpps (runs: ${D0[$tool]% })"
    say "${nm}_loss" "$(med ${LS[$tool]})" "% (runs: ${LS[$tool]% })"
    DELIV[$tool]=$(med ${D0[$tool]}); LOSS[$tool]=$(med ${LS[$tool]})
  fi
  say "${nm}_tool_cpu" "$(med ${CPU[$tool]})" "% of one core (machine busy before ${busy} %)"
}

# Interleaved rounds: in each round every tool runs once, in an order rotated by one per round,
# so a slow phase of the shared machine (and of the generator sharing it) falls on all tools
# alike instead of on whichever ran all its runs at that time.
LIVE_TOOLS=(none sidetap_1port sidetap_4port daemonlogger netsniff netsniff_k1000)
note "== 2. live forwarding: tcpreplay --topspeed -K --loop=0 in $NS_GEN -> $IF_IN -> [tool] -> ${IF_OUT[0]}(..3) -> $NS_SINK, $RUNS interleaved rounds x $LIVE_SECS s"
for r in $(seq 1 "$RUNS"); do
  for k in $(seq 0 $(( ${#LIVE_TOOLS[@]} - 1 ))); do
    live_record "${LIVE_TOOLS[$(( (k + r - 1) % ${#LIVE_TOOLS[@]} ))]}" "$r"
  done
done
for t in "${LIVE_TOOLS[@]}"; do live_report "$t"; done
grep -h -i -E "packets=|drop|error" "$LOG/live_sidetap_1port.log" "$LOG/live_sidetap_4port.log" 2>/dev/null | tail -8 | sed 's/^/# sidetap summary (last runs): /' | tee -a "$RESULTS" >&2

# targets
best=daemonlogger
for t in netsniff netsniff_k1000; do
  awk -v a="${DELIV[$t]}" -v b="${DELIV[$best]}" 'BEGIN{exit !(a>b)}' && best=$t
done
say "live_best_peer" "$best" "(${DELIV[$best]} kpps delivered, loss ${LOSS[$best]} %)"
say "live_ratio_sidetap_1port_vs_best_peer" "$(calc "${DELIV[sidetap_1port]}/(${DELIV[$best]}>0?${DELIV[$best]}:1)" 3)" "(delivered kpps ratio)"
if awk -v s="${DELIV[sidetap_1port]}" -v p="${DELIV[$best]}" -v ls="${LOSS[sidetap_1port]}" -v lp="${LOSS[$best]}" 'BEGIN{exit !(s>=p && ls<=lp)}'; then r=PASS; else r=FAIL; fi
say "target_live_sidetap_ge_best_peer" "$r" "(Sidetap ${DELIV[sidetap_1port]} kpps, loss ${LOSS[sidetap_1port]} %; $best ${DELIV[$best]} kpps, loss ${LOSS[$best]} %)"
all=PASS
for k in 0 1 2 3; do
  ratio=$(calc "${P4[$k]}/(${DELIV[sidetap_1port]}>0?${DELIV[sidetap_1port]}:1)" 3)
  say "live_ratio_sidetap_4port_port${k}_vs_1port" "$ratio" "(target >= 0.8)"
  awk -v x="$ratio" 'BEGIN{exit !(x>=0.8)}' || all=FAIL
done
say "target_live_sidetap_4port_each_ge_80pct" "$all" ""
note "results in $RESULTS, logs in $LOG"
