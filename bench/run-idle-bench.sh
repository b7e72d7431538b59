#!/usr/bin/env bash
# IDLE benchmark (bench/imap-idle): memory of many idling sessions and
# IDLE wake-up latency, roost and Dovecot side by side.
#
#   1. Memory (PARTS contains "memory"): for each count in IDLE_COUNTS and
#      each mode in IDLE_MODES (plain, tls = implicit TLS), and each
#      server in NAMES, a freshly started server; imap-idle opens N
#      connections (users user1..USERS round-robin, each INBOX holding
#      INBOX_COUNT messages of INBOX_SIZE bytes) and takes all of them
#      through the stages connected (greeting read), loggedin, selected
#      (SELECT INBOX) and idling (IDLE, "+" read), pausing at each; at
#      each stage, after SETTLE seconds, the script records the server's
#      memory (roost: its process; Dovecot: the sum over all its
#      processes; RSS from /proc/PID/status, PSS from smaps_rollup) and
#      the machine's (MemAvailable, Slab, TCP socket pages), against the
#      figures before the first connection. Per connection = delta / N.
#      MemAvailable's delta includes the client's own memory (its RSS is
#      recorded and subtracted in "sys-client") and kernel memory of both
#      ends of each loopback connection.
#   2. Wake-up latency (PARTS contains "wake"): one idler on user
#      "idler"'s INBOX, WAKE_REPS changes by each trigger in
#      WAKE_TRIGGERS (append over IMAP, lmtp delivery, store of a flag),
#      servers interleaved; then WAKE_MANY idlers on that one INBOX and
#      WAKE_MANY_REPS changes by each of WAKE_MANY_TRIGGERS.
#
# NAMES: roost; dovecot (Dovecot's default: one imap process per
# session); dovecot-hib (the same with imap_hibernate_timeout =
# HIBERNATE_TIMEOUT s: idling sessions move to the imap-hibernate process
# and their imap processes exit; memory is measured once Dovecot's
# process count has stopped falling, HIBERNATE_WAIT s at least).
# Dovecot's IDLE is woken by inotify; the script raises
# fs.inotify.max_user_instances to INOTIFY_INSTANCES for the run (128 by
# default: too few for thousands of imap processes of one uid) and puts
# the old value back on exit.
#
# Must run as root. Builds roost and the tools unless BUILD=0 (see
# bench/lib.sh). Servers listen on 127.0.0.1 only and are stopped by PID.
#
# Settings (environment), besides those of bench/lib.sh:
#   PARTS="memory wake"  NAMES="roost dovecot dovecot-hib"
#   IDLE_COUNTS="1000 10000"  IDLE_MODES="plain tls"  USERS=100
#   INBOX_COUNT=20  INBOX_SIZE=4096  RAMP=64  SETTLE=3
#   HIBERNATE_TIMEOUT=5  HIBERNATE_WAIT=20 (then until the process count
#   stops falling)  INOTIFY_INSTANCES=32768
#   HIB_RATE=500 (dovecot-hib: at most that many sessions per second
#   start each stage; 10,000 entering IDLE within a second overflow
#   imap-hibernate's listen backlog, and the imap processes that get
#   EAGAIN stay awake for good)
#   WAKE_TRIGGERS="append lmtp store"  WAKE_REPS=200  WAKE_GAP_MS=100
#   WAKE_HIB_REPS=20 (dovecot-hib: gap HIBERNATE_TIMEOUT+3 s, so that the
#   idler is hibernated again before each change)
#   WAKE_MANY=1000  WAKE_MANY_REPS=20  WAKE_MANY_TRIGGERS="append lmtp"
set -Eeuo pipefail

BENCH_NAME=run-idle-bench
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
PARTS=${PARTS-"memory wake"}
NAMES=${NAMES-"roost dovecot dovecot-hib"}
IDLE_COUNTS=${IDLE_COUNTS-"1000 10000"}
IDLE_MODES=${IDLE_MODES-"plain tls"}
USERS=${USERS:-100}
INBOX_COUNT=${INBOX_COUNT:-20}
INBOX_SIZE=${INBOX_SIZE:-4096}
RAMP=${RAMP:-64}
SETTLE=${SETTLE:-3}
HIBERNATE_TIMEOUT=${HIBERNATE_TIMEOUT:-5}
HIBERNATE_WAIT=${HIBERNATE_WAIT:-20}
HIB_RATE=${HIB_RATE:-500}
INOTIFY_INSTANCES=${INOTIFY_INSTANCES:-32768}
WAKE_TRIGGERS=${WAKE_TRIGGERS-"append lmtp store"}
WAKE_REPS=${WAKE_REPS:-200}
WAKE_GAP_MS=${WAKE_GAP_MS:-100}
WAKE_HIB_REPS=${WAKE_HIB_REPS:-20}
WAKE_MANY=${WAKE_MANY:-1000}
WAKE_MANY_REPS=${WAKE_MANY_REPS:-20}
WAKE_MANY_TRIGGERS=${WAKE_MANY_TRIGGERS-"append lmtp"}
SERVERS=
for n in $NAMES; do
	[[ $n == roost ]] && SERVERS+=" roost"
	[[ $n == dovecot* && $SERVERS != *dovecot* ]] && SERVERS+=" dovecot"
done

require_root
build_roost roost bench/imap-idle bench/imap-mixed
IMAP_IDLE=${IMAP_IDLE:-$BUILD_DIR/bench/imap-idle}
IMAP_MIXED=${IMAP_MIXED:-$BUILD_DIR/bench/imap-mixed}
[[ -x $IMAP_IDLE && -x $IMAP_MIXED ]] || die "no $IMAP_IDLE or $IMAP_MIXED"
check_servers
make_dirs roost-idle-bench
ulimit -n "$(ulimit -Hn)"
LOAD_PID=
OLD_INOTIFY=$(cat /proc/sys/fs/inotify/max_user_instances)

before_stop() {
	trap - ERR
	[[ -n $LOAD_PID ]] && kill -TERM "$LOAD_PID" 2>/dev/null
}
after_stop() {
	echo "$OLD_INOTIFY" >/proc/sys/fs/inotify/max_user_instances
	[[ -f $TMP/roost.log ]] && cp "$TMP/roost.log" "$OUT/roost.log"
	[[ -f $TMP/dovecot.log ]] && cp "$TMP/dovecot.log" "$OUT/dovecot.log"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
trap 'echo "$BENCH_NAME: failed at line $LINENO" >&2' ERR
echo "$INOTIFY_INSTANCES" >/proc/sys/fs/inotify/max_user_instances

{
	for ((i = 1; i <= USERS; i++)); do passwd_plain "user$i"; done
	passwd_plain idler
} >"$TMP/passwd"
chmod 644 "$TMP/passwd"
make_cert "$TMP"

# ---- servers -------------------------------------------------------------
ROOST_DATA=$TMP/roost-data
mkdir -p "$ROOST_DATA"
cp "$TMP/passwd" "$ROOST_DATA/passwd"
start_roost() {
	ROOST_PORT=$(free_port)
	ROOST_TLS_PORT=$(free_port)
	ROOST_LMTP_PORT=$(free_port)
	roost_conf "[imap]
tls_listen = 127.0.0.1:$ROOST_TLS_PORT
max_connections_per_ip = 1000000
max_connections = 1000000
prelogin_timeout_s = 3600
[tls]
cert = $TMP/cert.pem
key = $TMP/key.pem" >"$TMP/roost.conf"
	run_roost "$TMP/roost.conf"
	wait_port "$ROOST_TLS_PORT" "$ROOST_PID" || die "roost: no IMAPS"
	wait_port "$ROOST_LMTP_PORT" "$ROOST_PID" || die "roost: no LMTP"
}

# Limits for 10,000 sessions (hard fd limit 20,000 per process): four
# login processes of up to 5,000 clients each (a TLS session holds two
# descriptors in imap-login, which proxies it), one imap process per
# session (Dovecot's default), anvil/auth/stats as in run-login-bench.
DOVECOT_HIB=0
start_dovecot() {
	local hib=""
	dovecot_dirs
	DOVECOT_PORT=$(free_port)
	DOVECOT_TLS_PORT=$(free_port)
	DOVECOT_LMTP_PORT=$(free_port)
	[[ $DOVECOT_HIB == 1 ]] && hib="imap_hibernate_timeout = ${HIBERNATE_TIMEOUT}s
service imap-hibernate {
  client_limit = 13000
}
service imap {
  unix_listener imap-master {
    user = \$default_internal_user
  }
}"
	DOVECOT_PROTOCOLS="imap lmtp" dovecot_conf roost-idle-bench-dovecot 1000000 "\
  inet_listener imaps {
    address = 127.0.0.1
    port = $DOVECOT_TLS_PORT
  }
  service_count = 0
  process_min_avail = 4
  process_limit = 8
  client_limit = 5000" "\
ssl = yes
ssl_cert = <$TMP/cert.pem
ssl_key = <$TMP/key.pem
auth_username_format = %Ln
postmaster_address = postmaster@example.org
default_vsz_limit = 1G
service imap {
  process_limit = 12000
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $DOVECOT_LMTP_PORT
  }
}
service anvil {
  client_limit = 13000
}
service auth {
  client_limit = 13000
}
service stats {
  client_limit = 13000
}
$hib" >"$TMP/dovecot.conf"
	run_dovecot "$TMP/dovecot.conf"
	wait_port "$DOVECOT_TLS_PORT" "$DOVECOT_PID" || die "dovecot: no IMAPS"
}

server_of() { [[ $1 == roost ]] && echo roost || echo dovecot; }

# descendants PID: the PIDs under PID, one a line.
descendants() {
	python3 - "$1" <<'PY'
import os, sys
root, parent = int(sys.argv[1]), {}
for d in os.listdir("/proc"):
    if d.isdigit():
        try:
            with open(f"/proc/{d}/stat") as f:
                parent[int(d)] = int(f.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            pass
for p in parent:
    q = parent[p]
    while q > 1 and q != root:
        q = parent.get(q, 0)
    if q == root:
        print(p)
PY
}

# stop_tree SERVER: stop it, then wait (2 min at most) until the
# processes it had started are gone too: Dovecot's master exits before
# its imap and imap-hibernate processes, and a new instance cannot
# listen where an old imap-hibernate still does.
stop_tree() {
	local pid pids i
	pid=$(server_pid "$1")
	[[ -n $pid ]] || return 0
	pids=$(descendants "$pid")
	stop_server "$1"
	for ((i = 0; i < 240; i++)); do
		local alive=0 p
		for p in $pids; do [[ -d /proc/$p ]] && { alive=1; break; }; done
		((alive)) || return 0
		sleep 0.5
	done
	log "$1: processes of the stopped server still there"
}

# wait_hibernated: until Dovecot's process count stops falling (idling
# sessions' imap processes exit as they hibernate), HIBERNATE_WAIT s at
# least, 10 min at most.
wait_hibernated() {
	local last=-1 now_n same=0 i
	sleep "$HIBERNATE_WAIT"
	for ((i = 0; i < 120 && same < 3; i++)); do
		now_n=$(descendants "$DOVECOT_PID" | wc -l)
		if ((now_n == last)); then same=$((same + 1)); else same=0; fi
		last=$now_n
		sleep 5
	done
	log "dovecot-hib: $last processes under the master"
}

# fresh NAME: (re)start the server of NAME configured for it.
fresh() {
	local s
	s=$(server_of "$1")
	stop_tree "$s"
	[[ $1 == dovecot-hib ]] && DOVECOT_HIB=1 || DOVECOT_HIB=0
	"start_$s"
	sleep 2
}

port_of() { # port_of SERVER plain|tls|lmtp
	case $1:$2 in
	roost:plain) echo "$ROOST_PORT" ;;
	roost:tls) echo "$ROOST_TLS_PORT" ;;
	roost:lmtp) echo "$ROOST_LMTP_PORT" ;;
	dovecot:plain) echo "$DOVECOT_PORT" ;;
	dovecot:tls) echo "$DOVECOT_TLS_PORT" ;;
	dovecot:lmtp) echo "$DOVECOT_LMTP_PORT" ;;
	esac
}

fill() {
	local s=$1 out
	log "$s: $INBOX_COUNT messages into each of $USERS INBOXes and idler's"
	out=$("$IMAP_MIXED" --mode fill --port "$(port_of "$s" plain)" \
		--pass "$PASSWORD" --user-pattern 'user%d' --user-count "$USERS" \
		-c 10 -n "$INBOX_COUNT" --size "$INBOX_SIZE")
	record "$s" fill "" "$out"
	out=$("$IMAP_MIXED" --mode fill --port "$(port_of "$s" plain)" \
		--pass "$PASSWORD" --user idler -c 1 -n "$INBOX_COUNT" \
		--size "$INBOX_SIZE")
}

# ---- memory ----------------------------------------------------------------
# wait_ready STAGE: until imap-idle printed "ready STAGE" (30 min at most).
wait_ready() {
	local i
	for ((i = 0; i < 18000; i++)); do
		grep -q "^ready $1 " "$TMP/idle.out" && return 0
		kill -0 "$LOAD_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# mem_line NAME MODE N STAGE BEFORE_SRV BEFORE_SYS: one results line.
mem_line() {
	local name=$1 mode=$2 n=$3 stage=$4 srv sys ready line crss
	srv=$(proc_tree "$(server_pid "$(server_of "$name")")" mem)
	sys=$(sys_mem)
	line=$(grep "^ready $stage " "$TMP/idle.out")
	ready=$(awk '{ print $3 }' <<<"$line")
	crss=$(sed -n 's/.*client_rss_kb=\([0-9]*\).*/\1/p' <<<"$line")
	# shellcheck disable=SC2086 # the figures are words on purpose
	python3 - "$name" "$mode" "$n" "$stage" "$ready" "$crss" $5 $6 $srv $sys "$(loadavg)" "$line" <<'PY'
import sys
(name, mode, n, stage, ready, crss, p0, r0, s0, a0, sl0, t0,
 p1, r1, s1, a1, sl1, t1, load, line) = sys.argv[1:]
ready = int(ready); k = max(ready, 1)
r0, s0, r1, s1 = map(int, (r0, s0, r1, s1))
a0, a1, sl0, sl1, t0, t1, crss = map(int, (a0, a1, sl0, sl1, t0, t1, crss))
secs = line.split("seconds=")[1].split()[0]
print(f"server={name} test=memory mode={mode} n={n} stage={stage} "
      f"ready={ready} secs={secs} procs={p1} rss={r1} pss={s1} "
      f"rss_per_conn={(r1 - r0) // k} pss_per_conn={(s1 - s0) // k} "
      f"memavail_per_conn={(a0 - a1) * 1024 // k} "
      f"sys_minus_client_per_conn={((a0 - a1) - crss) * 1024 // k} "
      f"client_rss_kb={crss} slab_per_conn={(sl1 - sl0) * 1024 // k} "
      f"tcp_pages={t1} tcp_per_conn={(t1 - t0) * 4096 // k} load=\"{load}\"")
PY
}

run_memory() {
	local name=$1 mode=$2 n=$3 srv sys stage tls=() rate=0
	[[ $mode == tls ]] && tls=(--tls)
	[[ $name == dovecot-hib ]] && rate=$HIB_RATE
	fresh "$name"
	srv=$(proc_tree "$(server_pid "$(server_of "$name")")" mem)
	sys=$(sys_mem)
	log "$name: $n $mode connections (before: procs rss pss = $srv; load $(loadavg))"
	"$IMAP_IDLE" --port "$(port_of "$(server_of "$name")" "$mode")" \
		"${tls[@]}" --pass "$PASSWORD" --user-pattern 'user%d' \
		--user-count "$USERS" -c "$n" --ramp "$RAMP" --rate "$rate" --pause \
		>"$TMP/idle.out" 2>&1 &
	LOAD_PID=$!
	for stage in connected loggedin selected idling; do
		wait_ready "$stage" || { cat "$TMP/idle.out" >&2; die "imap-idle failed"; }
		sleep "$SETTLE"
		[[ $stage == idling && $name == dovecot-hib ]] && wait_hibernated
		mem_line "$name" "$mode" "$n" "$stage" "$srv" "$sys" |
			tee -a "$RESULTS" >&2
		kill -USR1 "$LOAD_PID"
	done
	kill -TERM "$LOAD_PID" 2>/dev/null || true
	wait "$LOAD_PID" || true
	LOAD_PID=
	cat "$TMP/idle.out" >&2
	grep '^RESULT' "$TMP/idle.out" |
		sed "s/^/server=$name test=memory_result mode=$mode n=$n /" >>"$RESULTS"
}

# ---- wake ------------------------------------------------------------------
run_wake() { # run_wake NAME TRIGGER IDLERS REPS GAP_MS
	local name=$1 s out load
	s=$(server_of "$name")
	fresh "$name"
	load=$(loadavg)
	log "$name: wake by $2, $3 idlers, $4 changes (load $load)"
	out=$("$IMAP_IDLE" --mode wake --port "$(port_of "$s" plain)" \
		--user idler --pass "$PASSWORD" -c "$3" --ramp "$RAMP" \
		--trigger "$2" --reps "$4" --gap "$5" \
		--lmtp-port "$(port_of "$s" lmtp)" --lmtp-rcpt idler@example.org \
		2>"$OUT/wake-$name-$2-$3.txt")
	record "$name" wake "trigger=$2 idlers=$3 gap_ms=$5 load=\"$load\"" "$out"
}

wake_all() { # wake_all IDLERS REPS TRIGGERS
	local t n order r=0 reps gap
	for t in $3; do
		order=$NAMES
		((r++ % 2 == 1)) && order=$(tr ' ' '\n' <<<"$NAMES" | tac | tr '\n' ' ')
		for n in $order; do
			reps=$2 gap=$WAKE_GAP_MS
			if [[ $n == dovecot-hib ]]; then
				reps=$((WAKE_HIB_REPS < $2 ? WAKE_HIB_REPS : $2))
				gap=$(((HIBERNATE_TIMEOUT + 3) * 1000))
			fi
			run_wake "$n" "$t" "$1" "$reps" "$gap"
		done
	done
}

# ---- run -----------------------------------------------------------------
{
	echo "server=none test=machine nproc=$(nproc) loadavg_start=\"$(loadavg)\" memtotal_kb=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)"
	roost_source_line
	echo "server=none test=params users=$USERS inbox=$INBOX_COUNT x $INBOX_SIZE ramp=$RAMP settle=$SETTLE hibernate_timeout=$HIBERNATE_TIMEOUT"
} >>"$RESULTS"
for s in $SERVERS; do
	"start_$s"
	fill "$s"
done
if [[ " $PARTS " == *" memory "* ]]; then
	for n in $IDLE_COUNTS; do
		for mode in $IDLE_MODES; do
			for name in $NAMES; do run_memory "$name" "$mode" "$n"; done
		done
	done
fi
if [[ " $PARTS " == *" wake "* ]]; then
	wake_all 1 "$WAKE_REPS" "$WAKE_TRIGGERS"
	[[ $WAKE_MANY -gt 0 ]] && wake_all "$WAKE_MANY" "$WAKE_MANY_REPS" "$WAKE_MANY_TRIGGERS"
fi
echo "server=none test=machine loadavg_end=\"$(loadavg)\"" >>"$RESULTS"

# ---- summary -------------------------------------------------------------
mem_row() {
	echo "| $(kv server "$1") | $(kv mode "$1") | $(kv n "$1") | $(kv stage "$1") | $(kv ready "$1") | $(kv procs "$1") | $(kv rss_per_conn "$1") | $(kv pss_per_conn "$1") | $(kv sys_minus_client_per_conn "$1") | $(kv tcp_per_conn "$1") | $(kv secs "$1") |"
}
wake_row() {
	echo "| $(kv server "$1") | $(kv trigger "$1") | $(kv idlers "$1") | $(kv reps "$1") | $(kv all_p50_ms "$1") | $(kv all_p90_ms "$1") | $(kv all_p99_ms "$1") | $(kv all_max_ms "$1") | $(kv last_p50_ms "$1") | $(kv last_max_ms "$1") | $(kv ack_p50_ms "$1") | $(kv missed "$1") |"
}
[[ -n $(rows memory) ]] && table memory mem_row \
	"| server | mode | N | stage | ready | procs | RSS B/conn | PSS B/conn | MemAvailable-client B/conn | TCP mem B/conn | stage s |" \
	"|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|"
[[ -n $(rows wake) ]] && table wake wake_row \
	"| server | trigger | idlers | changes | wake p50 ms | p90 | p99 | max | last idler p50 | last max | trigger's answer p50 ms | missed |" \
	"|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
grep '^server=none' "$RESULTS"
echo "raw results: $RESULTS"
