#!/usr/bin/env bash
# Mail-store benchmark: roost and Dovecot side by side, in one run.
#
#   1. APPEND throughput: 1 client, and 20 clients into one INBOX, and 20
#      clients into 20 users' INBOXes (LITERAL+ when the server offers
#      it), and 1 client with synchronising {n} literals; a message counts
#      when its tagged OK arrived, which both servers send only after
#      fsync.
#   2. SELECT latency on a 100,000-message INBOX: the first (cold) SELECT
#      after the store was filled behind the server's back, then
#      SELECT_RUNS SELECT/UNSELECT pairs.
#   3. `UID FETCH 1:* (FLAGS)` on that INBOX, FETCH_RUNS times; every run
#      must return one FETCH per message.
#   4. (STRACE=1) the system calls per APPEND, from `strace -f -c` on each
#      server during a separate, untimed append run.
#
# The big mailbox is filled the fast way: `imap-store --mode maildir`
# writes the same generated corpus (same seed) as Maildir files into both
# stores; roost then indexes it with `roost reindex`, Dovecot on its first
# SELECT.
#
# Builds roost in release mode (meson setup/configure, ninja) unless
# BUILD=0, from the work tree, or with SNAPSHOT=1 from the committed HEAD
# (see bench/lib.sh). Must run as root (Dovecot's master wants it).
# Servers are stopped by PID on exit; nothing else is killed.
#
# Settings (environment), besides those of bench/lib.sh (SERVERS, BUILD,
# BUILD_DIR, SNAPSHOT, DROP_CACHES, KEEP_TMP, OUT, ...):
#   APPEND_CLIENTS="1 20"    APPEND_TOTAL=2000 (messages per append run)
#   APPEND_SPREAD=1          (also 20 clients over 20 users)
#   APPEND_SYNC_CLIENTS=1    (runs with synchronising {n} literals; the
#                            others use LITERAL+ when offered)
#   APPEND_SIZE=4096  BIG=100000 (0: no SELECT/FETCH tests)  BIG_SIZE=4096
#   SELECT_RUNS=20  FETCH_RUNS=5  STRACE=1  STRACE_APPENDS=200
set -euo pipefail

BENCH_NAME=run-store-bench
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
APPEND_CLIENTS=${APPEND_CLIENTS-"1 20"}
APPEND_TOTAL=${APPEND_TOTAL:-2000}
APPEND_SPREAD=${APPEND_SPREAD:-1}
APPEND_SYNC_CLIENTS=${APPEND_SYNC_CLIENTS-1}
APPEND_SIZE=${APPEND_SIZE:-4096}
BIG=${BIG:-100000}
BIG_SIZE=${BIG_SIZE:-4096}
SELECT_RUNS=${SELECT_RUNS:-20}
FETCH_RUNS=${FETCH_RUNS:-5}
STRACE=${STRACE:-1}
STRACE_APPENDS=${STRACE_APPENDS:-200}
SPREAD_USERS=20
MAX_APPEND_RUNS=40
APPEND_RUN=0

require_root
build_roost roost bench/imap-store
IMAP_STORE=${IMAP_STORE:-$BUILD_DIR/bench/imap-store}
[[ -x $IMAP_STORE ]] || die "no $IMAP_STORE"
check_servers
[[ $STRACE == 1 ]] && ! command -v strace >/dev/null && STRACE=0

make_dirs roost-store-bench
STRACE_PID=

before_stop() { [[ -n $STRACE_PID ]] && kill -INT "$STRACE_PID" 2>/dev/null; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- users and corpus ------------------------------------------------------
# Dovecot's passwd-file format, read by both servers. {PLAIN}: the
# benchmark is about the store, not password hashing.
{
	passwd_plain big app
	# run N of run_append uses user rN, or rNu1..rNu20: every run starts
	# with empty mailboxes
	for ((r = 1; r <= MAX_APPEND_RUNS; r++)); do
		passwd_plain "r$r"
		for ((i = 1; i <= SPREAD_USERS; i++)); do
			passwd_plain "r${r}u$i"
		done
	done
} >"$TMP/passwd"
chmod 644 "$TMP/passwd"

make_corpus() {
	# make_corpus SERVER MAILDIR: the BIG-message corpus, seed 1
	local t0 out
	t0=$(now)
	out=$("$IMAP_STORE" --mode maildir --dir "$2" -n "$BIG" \
		--size "$BIG_SIZE" --seed 1)
	log "$1: corpus of $BIG messages written in $(elapsed "$t0") s"
	echo "server=$1 test=corpus $out" >>"$RESULTS"
}

# ---- servers -------------------------------------------------------------
prepare_roost() {
	ROOST_DATA=$TMP/roost-data
	mkdir -p "$ROOST_DATA/mail/big"
	cp "$TMP/passwd" "$ROOST_DATA/passwd"
	[[ $BIG -gt 0 ]] || return 0
	make_corpus roost "$ROOST_DATA/mail/big/Maildir"
	sync
	local usage
	usage=$("$ROOST_BIN" 2>&1 || true)
	if ! grep -q '^ *reindex' <<<"$usage"; then
		log "roost has no reindex command: it indexes on first open"
		ROOST_REINDEX=none
		return 0
	fi
	local t0 secs
	t0=$(now)
	"$ROOST_BIN" reindex big --data "$ROOST_DATA" >"$TMP/reindex.out" 2>&1 ||
		{ cat "$TMP/reindex.out" >&2; die "roost reindex failed"; }
	secs=$(elapsed "$t0")
	ROOST_REINDEX="reindex $secs s"
	log "roost: reindex of $BIG messages took $secs s"
	echo "server=roost test=reindex messages=$BIG seconds=$secs" >>"$RESULTS"
	sync
}

start_roost() {
	ROOST_PORT=$(free_port)
	roost_conf >"$TMP/roost.conf"
	run_roost "$TMP/roost.conf"
}

prepare_dovecot() {
	dovecot_dirs
	[[ $BIG -gt 0 ]] && make_corpus dovecot "$TMP/dovecot-mail/big"
	chown -R nobody:nogroup "$TMP/dovecot-mail"
	sync
}

# mail_fsync = optimized (default): a saved message is fsynced before the
# tagged OK.
start_dovecot() {
	DOVECOT_PORT=$(free_port)
	dovecot_conf roost-store-bench-dovecot 1000 >"$TMP/dovecot.conf"
	run_dovecot "$TMP/dovecot.conf"
}

store() {
	local server=$1; shift
	"$IMAP_STORE" --host 127.0.0.1 --port "$(server_port "$server")" \
		--pass "$PASSWORD" "$@"
}

run_append() {
	# run_append SERVER CLIENTS [spread|sync]
	local server=$1 c=$2 per=$((APPEND_TOTAL / $2)) out who lit=auto
	APPEND_RUN=$((APPEND_RUN + 1))
	((APPEND_RUN <= MAX_APPEND_RUNS)) || die "more than $MAX_APPEND_RUNS append runs"
	((c <= SPREAD_USERS)) || [[ ${3:-} != spread ]] ||
		die "at most $SPREAD_USERS users"
	who=(--user "r$APPEND_RUN")
	if [[ ${3:-} == sync ]]; then
		lit=sync
		log "$server: append, $c clients into one INBOX, $per each, {n} literals"
	elif [[ ${3:-} == spread ]]; then
		who=(--user-pattern "r${APPEND_RUN}u%d" --user-count "$c")
		log "$server: append, $c clients over $c users, $per each"
	else
		log "$server: append, $c clients into one INBOX, $per each"
	fi
	local cpu0 cpu1
	cpu0=$(proc_tree "$(server_pid "$server")" cpu)
	out=$(store "$server" --mode append -c "$c" -n "$per" \
		--size "$APPEND_SIZE" --seed $((100 + c)) --literal "$lit" \
		"${who[@]}")
	sleep 0.5 # let Dovecot's master reap the imap processes
	cpu1=$(proc_tree "$(server_pid "$server")" cpu)
	local users=one cpu_ms
	[[ ${3:-} == spread ]] && users=$c
	cpu_ms=$(python3 -c "print(f'{($cpu1 - $cpu0) * 1000 / $((per * c)):.2f}')")
	record "$server" append "clients=$c users=$users cpu_ms_per_append=$cpu_ms" "$out"
}

run_select() {
	local server=$1 out
	log "$server: cold SELECT (first after the files were written)"
	out=$(store "$server" --mode select --user big -n 2 --expect "$BIG")
	record "$server" select_cold "" "$out"
	log "$server: SELECT x $SELECT_RUNS"
	out=$(store "$server" --mode select --user big -n "$((SELECT_RUNS + 1))" \
		--expect "$BIG")
	record "$server" select "" "$out"
}

run_fetch() {
	local server=$1 out
	log "$server: UID FETCH 1:* (FLAGS) x $FETCH_RUNS"
	out=$(store "$server" --mode fetchflags --user big -n "$FETCH_RUNS" \
		--expect "$BIG")
	record "$server" fetchflags "" "$out"
}

# Syscalls per APPEND: strace -f -c on the server (for Dovecot the
# master, so that the imap process forked at login is followed) during
# an untimed run of STRACE_APPENDS appends by one client.
run_strace() {
	local server=$1 pid
	pid=$(server_pid "$server")
	# create the user's store first, outside the trace
	store "$server" --mode select --user app -n 1 >/dev/null
	log "$server: strace -f -c during $STRACE_APPENDS appends"
	strace -f -c -o "$TMP/strace-$server.txt" -p "$pid" 2>/dev/null &
	STRACE_PID=$!
	sleep 1
	store "$server" --mode append -c 1 -n "$STRACE_APPENDS" \
		--size "$APPEND_SIZE" --user app --seed 99 >/dev/null
	kill -INT "$STRACE_PID"
	wait "$STRACE_PID" || true
	STRACE_PID=
	cp "$TMP/strace-$server.txt" "$OUT/strace-$server.txt"
	local line
	line=$(awk -v n="$STRACE_APPENDS" -v s="$server" '
		$NF ~ /^(fsync|fdatasync|sync_file_range|rename|renameat2?|link|linkat|openat|write|pwrite64|writev|read|pread64|epoll_wait|futex)$/ {
			c[$NF] = $4 }
		END {
			printf "server=%s test=strace appends=%d", s, n
			for (k in c) printf " %s_per_append=%.2f", k, c[k] / n
			printf "\n" }' "$TMP/strace-$server.txt")
	echo "$line" >>"$RESULTS"
	echo "$line" >&2
}

# ---- run -----------------------------------------------------------------
{
	echo "server=none test=machine nproc=$(nproc) loadavg_start=\"$(loadavg)\""
	roost_source_line
} >>"$RESULTS"
for s in $SERVERS; do "prepare_$s"; done
# Cold means: the files were just written (page cache warm, index cold).
# Drop the page cache as well if the kernel lets us.
drop_caches
if [[ $DROP_CACHES == 1 ]]; then
	log "page cache dropped"
	echo "server=none test=dropcaches ok=1" >>"$RESULTS"
fi
for s in $SERVERS; do "start_$s"; done

if [[ $BIG -gt 0 ]]; then
	for s in $SERVERS; do run_select "$s"; done
	for s in $SERVERS; do run_fetch "$s"; done
fi
for c in $APPEND_CLIENTS; do
	for s in $SERVERS; do run_append "$s" "$c"; done
	if [[ $APPEND_SPREAD == 1 && $c -gt 1 ]]; then
		for s in $SERVERS; do run_append "$s" "$c" spread; done
	fi
done
for c in $APPEND_SYNC_CLIENTS; do
	for s in $SERVERS; do run_append "$s" "$c" sync; done
done
if [[ $STRACE == 1 ]]; then
	for s in $SERVERS; do run_strace "$s"; done
fi
echo "server=none test=machine loadavg_end=\"$(loadavg)\"" >>"$RESULTS"

# ---- summary -------------------------------------------------------------
append_row() {
	echo "| $(kv server "$1") | $(kv clients "$1") | $(kv users "$1") | $(kv literal "$1") | $(kv appends "$1") | $(kv append_per_s "$1") | $(kv p50_ms "$1") | $(kv p99_ms "$1") | $(kv max_ms "$1") | $(kv cpu_ms_per_append "$1") |"
}
if [[ -n $(rows append) ]]; then
	table append append_row \
		"| server | clients | users | literal | APPENDs | APPEND/s | p50 ms | p99 ms | max ms | server CPU ms / APPEND |" \
		"|---|---:|---|---|---:|---:|---:|---:|---:|---:|"
fi
if [[ $BIG -gt 0 ]]; then
	echo
	echo "| server | messages | prepare | cold SELECT ms | SELECT p50 ms | SELECT p99 ms | FETCH FLAGS s (p50) | FETCH FLAGS msgs/s |"
	echo "|---|---:|---|---:|---:|---:|---:|---:|"
	for s in $SERVERS; do
		cold=$(rows select_cold | grep "server=$s " || true)
		warm=$(rows select | grep "server=$s " || true)
		fetch=$(rows fetchflags | grep "server=$s " || true)
		if [[ $s == roost ]]; then
			prep=${ROOST_REINDEX:-}
			[[ $prep == none ]] && prep="index on first open"
		else
			prep="index on first SELECT"
		fi
		echo "| $s | $(kv messages "$warm") | $prep | $(kv first_ms "$cold") | $(kv p50_ms "$warm") | $(kv p99_ms "$warm") | $(kv p50_s "$fetch") | $(kv msgs_per_s "$fetch") |"
	done
fi
echo
rows strace
grep '^server=none' "$RESULTS"
echo "raw results: $RESULTS"
