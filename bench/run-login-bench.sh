#!/usr/bin/env bash
# Login and idle-memory benchmark: roost and Dovecot side by side.
#
# Builds nothing.  Expects (from `meson setup build && ninja -C build`):
#   build/roost               (override with BUILD_DIR or ROOST_BIN)
#   build/bench/imap-load     (override with BUILD_DIR or IMAP_LOAD)
# and Debian's dovecot-imapd (`dovecot` on PATH; `scripts/install-deps --bench`
# installs it).  Must run as root
# (Dovecot's master wants root; the fd limit is raised for 10,000
# connections).
#
# Both servers read the same Dovecot-format passwd-file (SHA512-CRYPT,
# 5000 rounds, one salt per user), listen on loopback on a free port and
# are driven in turn by the same imap-load binary:
#   1. cycle mode (connect, LOGIN, NOOP, LOGOUT) with CYCLE_CONNS
#      concurrent connections, CYCLE_SECS each;
#   2. noop mode (one login, then NOOP) with NOOP_CONNS connections;
#   3. idle mode with each count in IDLE_COUNTS: RSS and PSS of the server
#      (all Dovecot processes summed) before the connections are opened
#      and once all are logged in; delta / N is the cost per idle
#      authenticated connection.
#
# Settings (environment), besides SERVERS, KEEP_TMP and OUT of
# bench/lib.sh (OUT: default a new /tmp/roost-bench-results.*):
#   CYCLE_CONNS="1 10 50"  CYCLE_SECS=10
#   NOOP_CONNS=10  NOOP_SECS=5  IDLE_COUNTS="1000 10000"  USERS=1000
#   LOAD_THREADS=1  DOVECOT_IMAP_SERVICE_COUNT=1
#   (an empty CYCLE_CONNS, NOOP_CONNS or IDLE_COUNTS skips that part)
# Results: one line per test in $OUT/results.txt and a summary on stdout.
set -euo pipefail

BENCH_NAME=run-login-bench
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
IMAP_LOAD=${IMAP_LOAD:-$BUILD_DIR/bench/imap-load}
CYCLE_CONNS=${CYCLE_CONNS-"1 10 50"}
CYCLE_SECS=${CYCLE_SECS:-10}
NOOP_CONNS=${NOOP_CONNS-10}
NOOP_SECS=${NOOP_SECS:-5}
IDLE_COUNTS=${IDLE_COUNTS-"1000 10000"}
USERS=${USERS:-1000}
LOAD_THREADS=${LOAD_THREADS:-1}
DOVECOT_IMAP_SERVICE_COUNT=${DOVECOT_IMAP_SERVICE_COUNT:-1}

require_root
[[ -x $IMAP_LOAD ]] || die "no $IMAP_LOAD; run meson setup build && ninja -C build"
check_servers
make_dirs roost-bench
LOAD_PID=

before_stop() { [[ -n $LOAD_PID ]] && kill -TERM "$LOAD_PID" 2>/dev/null; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# 10,000 connections need 10,000 fds in the client and in roost (or in a
# Dovecot imap-login process); raise the soft limit as far as allowed.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# ---- users -------------------------------------------------------------
log "creating $USERS users (SHA512-CRYPT)"
for ((i = 1; i <= USERS; i++)); do echo "$PASSWORD"; done |
	openssl passwd -6 -stdin |
	awk '{ printf "user%d:{SHA512-CRYPT}%s::::::\n", NR, $0 }' >"$TMP/passwd"
chmod 644 "$TMP/passwd"

# ---- servers -------------------------------------------------------------
start_roost() {
	ROOST_DATA=$TMP/roost-data
	mkdir -p "$ROOST_DATA"
	cp "$TMP/passwd" "$ROOST_DATA/passwd"
	ROOST_PORT=$(free_port)
	roost_conf "[imap]
max_connections_per_ip = 100000
prelogin_timeout_s = 600
[auth]
failure_delay_base_ms = 10
failure_delay_max_ms = 10" >"$TMP/roost.conf"
	run_roost "$TMP/roost.conf"
}

# auth_cache_size = 0 (Dovecot's default): every LOGIN verifies the hash,
# as roost does. Limits sized for 10,000 logged-in connections (the hard
# fd limit here is 20,000, so no client_limit above that).
start_dovecot() {
	DOVECOT_PORT=$(free_port)
	dovecot_dirs
	dovecot_conf roost-bench-dovecot 100000 "\
  # high-performance mode: login processes are reused and each serves
  # many connections (one per CPU)
  service_count = 0
  process_min_avail = $(nproc)
  client_limit = 12000" "\
default_vsz_limit = 1G
service imap {
  # default client_limit = 1: one imap process per logged-in connection
  process_limit = 12000
  # 1 (default): a new process per session; N: a process serves N
  # sessions one after another (Dovecot's \"performance\" tuning)
  service_count = $DOVECOT_IMAP_SERVICE_COUNT
}
service anvil {
  client_limit = 13000
}
service auth {
  client_limit = 13000
}
service stats {
  client_limit = 13000
}" >"$TMP/dovecot.conf"
	run_dovecot "$TMP/dovecot.conf"
}

# Runs imap-load in place of the calling (sub)shell, so that $! of
# `load ... &` is imap-load itself and a signal reaches it.
load() {
	local server=$1; shift
	exec "$IMAP_LOAD" --host 127.0.0.1 --port "$(server_port "$server")" \
		--user-pattern 'user%d' --user-count "$USERS" \
		--pass "$PASSWORD" -t "$LOAD_THREADS" "$@"
}

run_cycle() {
	local server=$1 c=$2 out
	log "$server: cycle, $c connections, ${CYCLE_SECS}s"
	out=$(load "$server" --mode cycle -c "$c" -d "$CYCLE_SECS")
	record "$server" cycle "conns=$c" "$out"
}

run_noop() {
	local server=$1 c=$2 out
	log "$server: noop, $c connections, ${NOOP_SECS}s"
	out=$(load "$server" --mode noop -c "$c" -d "$NOOP_SECS")
	record "$server" noop "conns=$c" "$out"
}

run_idle() {
	local server=$1 n=$2 pid before after i ready
	# A freshly started server: otherwise memory freed by the earlier
	# tests (kept by malloc) would be reused and hide the real cost.
	stop_server "$server"
	"start_$server"
	sleep 2
	pid=$(server_pid "$server")
	before=$(proc_tree "$pid" mem)
	log "$server: idle, $n connections (before: procs rss pss = $before)"
	load "$server" --mode idle -c "$n" --ramp 64 --timeout 60000 \
		>"$TMP/idle.out" &
	LOAD_PID=$!
	ready=
	for ((i = 0; i < 18000; i++)); do   # up to 30 min
		ready=$(sed -n 's/^ready \([0-9]*\)$/\1/p' "$TMP/idle.out")
		[[ -n $ready ]] && break
		kill -0 "$LOAD_PID" 2>/dev/null || break
		sleep 0.1
	done
	[[ -n $ready ]] || ready=0
	sleep 2   # let lazily started processes and allocations settle
	after=$(proc_tree "$pid" mem)
	kill -TERM "$LOAD_PID" 2>/dev/null || true
	wait "$LOAD_PID" || true
	LOAD_PID=
	cat "$TMP/idle.out" >&2
	log "$server: idle, $ready logged in (after: procs rss pss = $after)"
	set -- $before $after
	local procs_b=$1 rss_b=$2 pss_b=$3 procs_a=$4 rss_a=$5 pss_a=$6
	local per_rss=0 per_pss=0
	if ((ready > 0)); then
		per_rss=$(((rss_a - rss_b) / ready))
		per_pss=$(((pss_a - pss_b) / ready))
	fi
	echo "server=$server test=idle n=$n ready=$ready" \
		"procs_before=$procs_b procs_after=$procs_a" \
		"rss_before=$rss_b rss_after=$rss_a pss_before=$pss_b" \
		"pss_after=$pss_a rss_per_conn=$per_rss pss_per_conn=$per_pss" \
		"$(grep '^RESULT' "$TMP/idle.out" || true)" >>"$RESULTS"
}

# Context for reading the figures: other load on the machine, and the
# cost of one fork+exec here (Dovecot starts an imap process per login).
t0=$(date +%s%N)
for ((i = 0; i < 100; i++)); do /bin/true; done
t1=$(date +%s%N)
echo "server=none test=machine loadavg_start=\"$(loadavg)\"" \
	"fork_exec_us=$(((t1 - t0) / 100000))" >>"$RESULTS"

for s in $SERVERS; do "start_$s"; done
sleep 1

for c in $CYCLE_CONNS; do
	for s in $SERVERS; do run_cycle "$s" "$c"; done
done
for c in $NOOP_CONNS; do
	for s in $SERVERS; do run_noop "$s" "$c"; done
done
for n in $IDLE_COUNTS; do
	for s in $SERVERS; do run_idle "$s" "$n"; done
done

echo "server=none test=machine loadavg_end=\"$(loadavg)\"" >>"$RESULTS"

# ---- summary -------------------------------------------------------------
cycle_row() {
	echo "| $(kv server "$1") | $(kv conns "$1") | $(kv login_per_s "$1") | $(kv login_p50_ms "$1") | $(kv login_p99_ms "$1") | $(kv cycle_per_s "$1") | $(kv cycle_p50_ms "$1") | $(kv cycle_p99_ms "$1") | $(kv errors "$1") |"
}
noop_row() {
	echo "| $(kv server "$1") | $(kv conns "$1") | $(kv noop_per_s "$1") | $(kv noop_p50_ms "$1") | $(kv noop_p99_ms "$1") | $(kv errors "$1") |"
}
idle_row() {
	echo "| $(kv server "$1") | $(kv n "$1") | $(kv ready "$1") | $(kv procs_before "$1") → $(kv procs_after "$1") | $(kv rss_per_conn "$1") B | $(kv pss_per_conn "$1") B | $(($(kv rss_after "$1") / 1048576)) | $(($(kv pss_after "$1") / 1048576)) |"
}
table cycle cycle_row \
	"| server | connections | logins/s | login p50 ms | login p99 ms | cycles/s | cycle p50 ms | cycle p99 ms | errors |" \
	"|---|---:|---:|---:|---:|---:|---:|---:|---:|"
table noop noop_row \
	"| server | connections | NOOP/s | NOOP p50 ms | NOOP p99 ms | errors |" \
	"|---|---:|---:|---:|---:|---:|"
table idle idle_row \
	"| server | idle conns | logged in | processes before → after | RSS delta / conn | PSS delta / conn | RSS after (MiB) | PSS after (MiB) |" \
	"|---|---:|---:|---:|---:|---:|---:|---:|"
echo
grep '^server=none' "$RESULTS"
echo "raw results: $RESULTS"
