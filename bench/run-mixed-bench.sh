#!/usr/bin/env bash
# Mixed-workload benchmark (bench/imap-mixed): roost and Dovecot side by
# side, then roost with 1 and 2 workers.
#
#   1. Both servers get USERS users ({PLAIN}: this is about sessions and
#      mailboxes, not password hashing), each INBOX filled with
#      FILL_COUNT messages of FILL_SIZE bytes over IMAP (imap-mixed
#      --mode fill).
#   2. For each count in CLIENTS, RUNS runs of DURATION seconds per
#      server, the servers taking turns and the first alternating: each
#      simulated client loops over Thunderbird-like sessions (LOGIN,
#      SELECT INBOX, FETCH of the newest HEADERS messages' flags and
#      envelopes, 1..READS bodies read and marked \Seen, APPEND_PCT %
#      APPEND of APPEND_SIZE bytes, EXPUNGE_PCT % delete + EXPUNGE,
#      LOGOUT); see bench/imap-mixed.c. Dovecot runs in its default
#      process-per-session mode (one imap process per login), and, with
#      DOVECOT_REUSE=1, also with `service imap { service_count = 1000 }`
#      (an imap process serves sessions one after another), as a third
#      server "dovecot-reuse".
#   3. Scaling (SCALE_WORKERS="1 2"): roost restarted with `[server]
#      workers = W`, SCALE_RUNS runs of SCALE_CLIENTS clients each,
#      interleaved.
#
# Each run records the load average before it and the server's CPU
# seconds (process tree, reaped children included). Must run as root.
# Builds roost and imap-mixed unless BUILD=0 (see bench/lib.sh).
#
# Settings (environment), besides those of bench/lib.sh:
#   USERS=50 FILL_COUNT=200 FILL_SIZE=4096 CLIENTS="50 200" DURATION=30
#   RUNS=2 HEADERS=20 READS=3 APPEND_PCT=30 EXPUNGE_PCT=30 APPEND_SIZE=4096
#   DOVECOT_REUSE=1 SCALE_WORKERS="1 2" SCALE_CLIENTS=50 SCALE_RUNS=2
set -Eeuo pipefail

BENCH_NAME=run-mixed-bench
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
USERS=${USERS:-50}
FILL_COUNT=${FILL_COUNT:-200}
FILL_SIZE=${FILL_SIZE:-4096}
CLIENTS=${CLIENTS-"50 200"}
DURATION=${DURATION:-30}
RUNS=${RUNS:-2}
HEADERS=${HEADERS:-20}
READS=${READS:-3}
APPEND_PCT=${APPEND_PCT:-30}
EXPUNGE_PCT=${EXPUNGE_PCT:-30}
APPEND_SIZE=${APPEND_SIZE:-4096}
DOVECOT_REUSE=${DOVECOT_REUSE:-1}
SCALE_WORKERS=${SCALE_WORKERS-"1 2"}
SCALE_CLIENTS=${SCALE_CLIENTS:-50}
SCALE_RUNS=${SCALE_RUNS:-2}

require_root
build_roost roost bench/imap-mixed
IMAP_MIXED=${IMAP_MIXED:-$BUILD_DIR/bench/imap-mixed}
[[ -x $IMAP_MIXED ]] || die "no $IMAP_MIXED"
check_servers
make_dirs roost-mixed-bench
ulimit -n "$(ulimit -Hn)"

before_stop() { trap - ERR; }
after_stop() {
	[[ -f $TMP/roost.log ]] && cp "$TMP/roost.log" "$OUT/roost.log"
	[[ -f $TMP/dovecot.log ]] && cp "$TMP/dovecot.log" "$OUT/dovecot.log"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
trap 'echo "$BENCH_NAME: failed at line $LINENO" >&2' ERR

for ((i = 1; i <= USERS; i++)); do passwd_plain "user$i"; done >"$TMP/passwd"
chmod 644 "$TMP/passwd"

# ---- servers -------------------------------------------------------------
ROOST_WORKERS=0
start_roost() {
	ROOST_DATA=$TMP/roost-data
	mkdir -p "$ROOST_DATA"
	cp "$TMP/passwd" "$ROOST_DATA/passwd"
	ROOST_PORT=$(free_port)
	roost_conf "[server]
workers = $ROOST_WORKERS
[imap]
max_connections_per_ip = 100000" >"$TMP/roost.conf"
	run_roost "$TMP/roost.conf"
}

# DOVECOT_SERVICE_COUNT: 1 (default, one imap process per session) or
# more (reuse). Login processes in high-performance mode, as in
# run-login-bench.sh; mail_fsync = optimized (default): APPEND and
# EXPUNGE are on disk before their OK.
DOVECOT_SERVICE_COUNT=1
start_dovecot() {
	dovecot_dirs
	DOVECOT_PORT=$(free_port)
	dovecot_conf roost-mixed-bench-dovecot 100000 "\
  service_count = 0
  process_min_avail = $(nproc)
  client_limit = 5000" "\
service imap {
  process_limit = 5000
  service_count = $DOVECOT_SERVICE_COUNT
}" >"$TMP/dovecot.conf"
	run_dovecot "$TMP/dovecot.conf"
}

# server_of NAME: roost or dovecot (dovecot-reuse is Dovecot).
server_of() { [[ $1 == roost* ]] && echo roost || echo dovecot; }

mixed() {
	local server=$1; shift
	"$IMAP_MIXED" --host 127.0.0.1 --port "$(server_port "$server")" \
		--pass "$PASSWORD" --user-pattern 'user%d' --user-count "$USERS" "$@"
}

fill() {
	local server=$1 out t0
	t0=$(now)
	log "$server: filling $USERS INBOXes with $FILL_COUNT messages each"
	out=$(mixed "$server" --mode fill -c 10 -n "$FILL_COUNT" --size "$FILL_SIZE")
	log "$server: filled in $(elapsed "$t0") s"
	record "$server" fill "" "$out"
}

# run_mixed NAME CLIENTS [TEST]: one run against the running server of
# NAME (roost, dovecot, dovecot-reuse).
run_mixed() {
	local name=$1 c=$2 test=${3:-mixed} server out cpu0 cpu1 load
	server=$(server_of "$name")
	load=$(loadavg)
	log "$name: $c clients, ${DURATION}s (load $load)"
	cpu0=$(proc_tree "$(server_pid "$server")" cpu)
	out=$(mixed "$server" --mode run -c "$c" -d "$DURATION" \
		--headers "$HEADERS" --reads "$READS" --append-pct "$APPEND_PCT" \
		--expunge-pct "$EXPUNGE_PCT" --size "$APPEND_SIZE" \
		--seed "$RANDOM")
	sleep 1 # let Dovecot's master reap the imap processes
	cpu1=$(proc_tree "$(server_pid "$server")" cpu)
	record "$name" "$test" "clients=$c workers=$ROOST_WORKERS load=\"$load\" cpu_s=$(python3 -c "print(f'{$cpu1 - $cpu0:.1f}')")" "$out"
}

# restart NAME: make the server of NAME the running one, configured so.
restart() {
	case $1 in
	roost) [[ -n $ROOST_PID ]] || start_roost ;;
	dovecot | dovecot-reuse)
		local want=1
		[[ $1 == dovecot-reuse ]] && want=1000
		if [[ -z $DOVECOT_PID || $DOVECOT_SERVICE_COUNT != "$want" ]]; then
			stop_server dovecot
			DOVECOT_SERVICE_COUNT=$want
			start_dovecot
		fi
		;;
	esac
}

# ---- run -----------------------------------------------------------------
{
	echo "server=none test=machine nproc=$(nproc) loadavg_start=\"$(loadavg)\""
	roost_source_line
	echo "server=none test=params users=$USERS fill=$FILL_COUNT x $FILL_SIZE duration=$DURATION headers=$HEADERS reads=1..$READS append_pct=$APPEND_PCT expunge_pct=$EXPUNGE_PCT"
} >>"$RESULTS"

NAMES=()
for s in $SERVERS; do
	NAMES+=("$s")
	[[ $s == dovecot && $DOVECOT_REUSE == 1 ]] && NAMES+=(dovecot-reuse)
done
for s in $SERVERS; do
	"start_$s"
	fill "$s"
done
for c in $CLIENTS; do
	for ((r = 0; r < RUNS; r++)); do
		order=("${NAMES[@]}")
		((r % 2 == 1)) && mapfile -t order < <(printf '%s\n' "${NAMES[@]}" | tac)
		for n in "${order[@]}"; do
			restart "$n"
			run_mixed "$n" "$c"
		done
	done
done
if [[ " $SERVERS " == *" roost "* && -n $SCALE_WORKERS ]]; then
	for ((r = 0; r < SCALE_RUNS; r++)); do
		for w in $SCALE_WORKERS; do
			stop_server roost
			ROOST_WORKERS=$w
			start_roost
			run_mixed roost "$SCALE_CLIENTS" scale
		done
	done
fi
echo "server=none test=machine loadavg_end=\"$(loadavg)\"" >>"$RESULTS"

# ---- summary -------------------------------------------------------------
mixed_row() {
	echo "| $(kv server "$1") | $(kv clients "$1") | $(kv workers "$1") | $(sed -n 's/.*load="\([^"]*\)".*/\1/p' <<<"$1") | $(kv all_per_s "$1") | $(kv sessions_per_s "$1") | $(kv all_p50_ms "$1") | $(kv all_p90_ms "$1") | $(kv all_p99_ms "$1") | $(kv all_max_ms "$1") | $(kv cpu_s "$1") |"
}
for t in mixed scale; do
	[[ -n $(rows $t) ]] || continue
	table $t mixed_row \
		"| server ($t) | clients | roost workers | load before | commands/s | sessions/s | p50 ms | p90 ms | p99 ms | max ms | server CPU s |" \
		"|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|"
done
grep '^server=none' "$RESULTS"
echo "raw results: $RESULTS"
