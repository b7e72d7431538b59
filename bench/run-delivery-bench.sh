#!/usr/bin/env bash
# Delivery and POP3 benchmark: roost and Dovecot (dovecot-lmtpd,
# dovecot-pop3d) side by side, in one run.
#
#   1. LMTP deliveries per second (bench/lmtp-load): for each of
#      LMTP_CONNS concurrent connections and LMTP_SIZES message sizes,
#      LMTP_COUNT_<size> messages of one recipient each, spread
#      round-robin over LMTP_USERS users (each got one untimed message
#      first, so that no timed delivery creates a store); then, if
#      LMTP_MULTI is set ("CONNS:SIZE:RCPTS:COUNT"), one run with several
#      recipients (different users) per message. A delivery counts when
#      its 250 after the dot arrives; both servers send it only after
#      the copy is on disk (roost always; Dovecot with mail_fsync =
#      always, set here). Each configuration runs RUNS times, the servers
#      taking turns and the first of them alternating, so that both see
#      the same load from the rest of the machine.
#   2. POP3 RETR throughput (bench/pop3-load): maildrops filled over LMTP
#      (POP_SMALL_COUNT x POP_SMALL_SIZE, POP_BIG_COUNT x POP_BIG_SIZE,
#      one of POP_HUGE_SIZE), RETR of every message, POP_RUNS runs each
#      (the small maildrop also with POP_WINDOW commands in flight), the
#      server's peak RSS during each (VmHWM; for Dovecot its pop3
#      process).
#
# Afterwards the delivered files are counted in both stores: they must
# match the 250s counted. CPU per delivery is the servers' process-tree
# CPU time (user + system, reaped children included) around each run.
#
# Builds roost and the tools in release mode unless BUILD=0 (SNAPSHOT=1:
# from the committed HEAD; see bench/lib.sh). Must run as root. Servers
# listen on 127.0.0.1 only and are stopped by PID; nothing else is
# killed.
#
# Settings (environment), besides those of bench/lib.sh:
#   LMTP_CONNS="1 10"  LMTP_SIZES="4096 102400"  LMTP_USERS=100
#   LMTP_COUNT_4096=2000  LMTP_COUNT_102400=500 (LMTP_COUNT for others: 500)
#   LMTP_MULTI="10:4096:5:1000" (empty: none)  RUNS=3
#   POP_SMALL_COUNT=2000 POP_SMALL_SIZE=4096 POP_BIG_COUNT=20
#   POP_BIG_SIZE=10000000 POP_HUGE_SIZE=50000000 POP_RUNS=3 POP_WINDOW=32
#   (POP_SMALL_COUNT=0 etc. leave that maildrop out)
set -euo pipefail

BENCH_NAME=run-delivery-bench
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
LMTP_CONNS=${LMTP_CONNS-"1 10"}
LMTP_SIZES=${LMTP_SIZES-"4096 102400"}
LMTP_USERS=${LMTP_USERS:-100}
LMTP_COUNT=${LMTP_COUNT:-500}
LMTP_COUNT_4096=${LMTP_COUNT_4096:-2000}
LMTP_COUNT_102400=${LMTP_COUNT_102400:-500}
LMTP_MULTI=${LMTP_MULTI-"10:4096:5:1000"}
RUNS=${RUNS:-3}
POP_SMALL_COUNT=${POP_SMALL_COUNT:-2000}
POP_SMALL_SIZE=${POP_SMALL_SIZE:-4096}
POP_BIG_COUNT=${POP_BIG_COUNT:-20}
POP_BIG_SIZE=${POP_BIG_SIZE:-10000000}
POP_HUGE_SIZE=${POP_HUGE_SIZE:-50000000}
POP_RUNS=${POP_RUNS:-3}
POP_WINDOW=${POP_WINDOW:-32}

require_root
build_roost roost bench/lmtp-load bench/pop3-load
LMTP_LOAD=${LMTP_LOAD:-$BUILD_DIR/bench/lmtp-load}
POP3_LOAD=${POP3_LOAD:-$BUILD_DIR/bench/pop3-load}
[[ -x $LMTP_LOAD && -x $POP3_LOAD ]] || die "no $LMTP_LOAD or $POP3_LOAD"
check_servers
if [[ " $SERVERS " == *" dovecot "* ]]; then
	[[ -x /usr/lib/dovecot/lmtp && -x /usr/lib/dovecot/pop3 ]] ||
		die "install dovecot-lmtpd and dovecot-pop3d (scripts/install-deps --bench)"
fi
make_dirs roost-delivery-bench

after_stop() {
	[[ -f $TMP/roost.log ]] && cp "$TMP/roost.log" "$OUT/roost.log"
	[[ -f $TMP/dovecot.log ]] && cp "$TMP/dovecot.log" "$OUT/dovecot.log"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Dovecot's passwd-file format, read by both servers; {PLAIN}: this is
# about delivery and retrieval, not password hashing.
{
	for ((i = 1; i <= LMTP_USERS; i++)); do passwd_plain "user$i"; done
	passwd_plain popsmall popbig pophuge
} >"$TMP/passwd"
chmod 644 "$TMP/passwd"

# ---- servers -------------------------------------------------------------
start_roost() {
	ROOST_DATA=$TMP/roost-data
	mkdir -p "$ROOST_DATA"
	cp "$TMP/passwd" "$ROOST_DATA/passwd"
	ROOST_PORT=$(free_port)
	ROOST_LMTP_PORT=$(free_port)
	ROOST_POP3_PORT=$(free_port)
	roost_conf "[store]
max_message_size = 200M" >"$TMP/roost.conf"
	run_roost "$TMP/roost.conf"
	wait_port "$ROOST_LMTP_PORT" "$ROOST_PID" || die "roost: no LMTP"
	wait_port "$ROOST_POP3_PORT" "$ROOST_PID" || die "roost: no POP3"
}

# mail_fsync = always: every saved file and index is fsynced before the
# reply (the default, optimized, already fsyncs what LMTP must keep).
# auth_username_format = %Ln: RCPT TO:<user1@example.org> is user1.
start_dovecot() {
	dovecot_dirs
	DOVECOT_PORT=$(free_port)
	DOVECOT_LMTP_PORT=$(free_port)
	DOVECOT_POP3_PORT=$(free_port)
	DOVECOT_PROTOCOLS="imap lmtp pop3" dovecot_conf \
		roost-delivery-bench-dovecot 1000 "" "mail_fsync = always
auth_username_format = %Ln
postmaster_address = postmaster@example.org
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $DOVECOT_LMTP_PORT
  }
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = $DOVECOT_POP3_PORT
  }
  inet_listener pop3s {
    port = 0
  }
}" >"$TMP/dovecot.conf"
	run_dovecot "$TMP/dovecot.conf"
	wait_port "$DOVECOT_LMTP_PORT" "$DOVECOT_PID" || die "dovecot: no LMTP"
	wait_port "$DOVECOT_POP3_PORT" "$DOVECOT_PID" || die "dovecot: no POP3"
}

lmtp_port() { if [[ $1 == roost ]]; then echo "$ROOST_LMTP_PORT"; else echo "$DOVECOT_LMTP_PORT"; fi; }
pop3_port() { if [[ $1 == roost ]]; then echo "$ROOST_POP3_PORT"; else echo "$DOVECOT_POP3_PORT"; fi; }

lmtp() {
	local server=$1; shift
	"$LMTP_LOAD" --host 127.0.0.1 --port "$(lmtp_port "$server")" "$@"
}

# Message indices: every run delivers new ones (the Message-IDs differ).
NEXT_FIRST=0
declare -A DELIVERED=([roost]=0 [dovecot]=0)

# deliver SERVER CONNS SIZE RCPTS COUNT [round]: one timed lmtp-load run,
# recorded with the server's CPU time per delivery.
deliver() {
	local s=$1 c=$2 size=$3 rcpts=$4 n=$5 round=${6:-0} out cpu0 cpu1 cpu_ms
	log "$s: LMTP, $c connections, $n messages of $size bytes, $rcpts recipient(s)"
	cpu0=$(proc_tree "$(server_pid "$s")" cpu)
	out=$(lmtp "$s" -c "$c" -n "$n" --size "$size" --rcpts "$rcpts" \
		--user-count "$LMTP_USERS" --first "$NEXT_FIRST")
	sleep 0.3 # let Dovecot's master reap its lmtp processes
	cpu1=$(proc_tree "$(server_pid "$s")" cpu)
	cpu_ms=$(python3 -c "print(f'{($cpu1 - $cpu0) * 1000 / $((n * rcpts)):.2f}')")
	record "$s" deliver "round=$round cpu_ms_per_delivery=$cpu_ms load1=$(cut -d' ' -f1 /proc/loadavg)" "$out"
	DELIVERED[$s]=$((DELIVERED[$s] + $(kv deliveries "$(grep '^RESULT' <<<"$out")")))
}

# servers_in_turn ROUND: SERVERS, in reverse order on odd rounds.
servers_in_turn() {
	local list
	read -ra list <<<"$SERVERS"
	if (($1 % 2 == 1)); then
		for ((i = ${#list[@]} - 1; i >= 0; i--)); do echo "${list[$i]}"; done
	else
		printf '%s\n' "${list[@]}"
	fi
}

# lmtp_tests: every configuration RUNS times, servers taking turns.
lmtp_tests() {
	local size c n r s spec rc rs rr rn
	for s in $SERVERS; do
		log "$s: warm-up, one message to each of $LMTP_USERS users"
		lmtp "$s" -c 1 -n "$LMTP_USERS" --user-count "$LMTP_USERS" \
			--first 900000000 >/dev/null
		DELIVERED[$s]=$((DELIVERED[$s] + LMTP_USERS))
	done
	for size in $LMTP_SIZES; do
		n=$(eval "echo \${LMTP_COUNT_$size:-$LMTP_COUNT}")
		for c in $LMTP_CONNS; do
			for ((r = 0; r < RUNS; r++)); do
				for s in $(servers_in_turn "$r"); do
					deliver "$s" "$c" "$size" 1 "$n" "$r"
				done
				NEXT_FIRST=$((NEXT_FIRST + n))
			done
		done
	done
	for spec in $LMTP_MULTI; do
		IFS=: read -r rc rs rr rn <<<"$spec"
		for ((r = 0; r < RUNS; r++)); do
			for s in $(servers_in_turn "$r"); do
				deliver "$s" "$rc" "$rs" "$rr" "$rn" "$r"
			done
			NEXT_FIRST=$((NEXT_FIRST + rn))
		done
	done
}

# count_files SERVER: message files in all users' INBOXes.
count_files() {
	local root=$TMP/dovecot-mail
	[[ $1 == roost ]] && root=$ROOST_DATA/mail
	find "$root" \( -path '*/cur/*' -o -path '*/new/*' \) -type f 2>/dev/null |
		grep -c . || true
}

# ---- POP3 ----------------------------------------------------------------
# pop_fill SERVER USER COUNT SIZE: deliver COUNT messages to USER (not
# timed).
pop_fill() {
	local s=$1 user=$2 n=$3 size=$4
	((n > 0)) || return 0
	log "$s: filling $user with $n x $size bytes over LMTP"
	lmtp "$s" -c 1 -n "$n" --size "$size" --user-pattern "$user" \
		--user-count 1 --first 800000000 --timeout 600000 >/dev/null
	DELIVERED[$s]=$((DELIVERED[$s] + n))
}

rss_args() {
	if [[ $1 == roost ]]; then
		echo "--rss-pid $ROOST_PID"
	else
		echo "--rss-pid $DOVECOT_PID --rss-child pop3"
	fi
}

# retr SERVER USER COUNT WINDOW ROUND: one pop3-load session of POP_RUNS
# runs.
retr() {
	local s=$1 user=$2 n=$3 w=$4 round=$5 out
	((n > 0)) || return 0
	log "$s: POP3 RETR of $user's $n messages, window $w"
	# shellcheck disable=SC2046
	out=$("$POP3_LOAD" --host 127.0.0.1 --port "$(pop3_port "$s")" \
		--user "$user" --pass "$PASSWORD" -n "$POP_RUNS" --expect "$n" \
		--window "$w" --timeout 600000 $(rss_args "$s"))
	record "$s" retr "user=$user round=$round load1=$(cut -d' ' -f1 /proc/loadavg)" "$out"
}

pop_tests() {
	local s r
	for s in $SERVERS; do
		pop_fill "$s" popsmall "$POP_SMALL_COUNT" "$POP_SMALL_SIZE"
		pop_fill "$s" popbig "$POP_BIG_COUNT" "$POP_BIG_SIZE"
		pop_fill "$s" pophuge 1 "$POP_HUGE_SIZE"
	done
	for ((r = 0; r < 2; r++)); do
		for s in $(servers_in_turn "$r"); do
			retr "$s" popsmall "$POP_SMALL_COUNT" 1 "$r"
			retr "$s" popsmall "$POP_SMALL_COUNT" "$POP_WINDOW" "$r"
			retr "$s" popbig "$POP_BIG_COUNT" 1 "$r"
			retr "$s" pophuge 1 1 "$r"
		done
	done
}

# ---- run -----------------------------------------------------------------
{
	echo "server=none test=machine nproc=$(nproc) loadavg_start=\"$(loadavg)\""
	roost_source_line
	[[ " $SERVERS " == *" dovecot "* ]] &&
		echo "server=none test=dovecot version=$(dovecot --version | tr ' ' _)"
} >>"$RESULTS"
for s in $SERVERS; do "start_$s"; done
lmtp_tests
echo "server=none test=machine loadavg_after_lmtp=\"$(loadavg)\"" >>"$RESULTS"
pop_tests
for s in $SERVERS; do
	files=$(count_files "$s")
	want=${DELIVERED[$s]}
	echo "server=$s test=files_check delivered=$want files=$files ok=$([[ $files == "$want" ]] && echo yes || echo NO)" |
		tee -a "$RESULTS" >&2
done
echo "server=none test=machine loadavg_end=\"$(loadavg)\"" >>"$RESULTS"

# ---- summary -------------------------------------------------------------
# Median over the rounds of each configuration, with the raw figures.
summary_deliver() {
	python3 - "$RESULTS" <<'PY'
import sys, statistics as st
rows = {}
for l in open(sys.argv[1]):
    kv = dict(x.split("=", 1) for x in l.split() if "=" in x)
    if kv.get("test") != "deliver":
        continue
    k = (kv["size"], kv["conns"], kv["rcpts"], kv["server"])
    rows.setdefault(k, []).append(kv)
print("\n| message bytes | connections | rcpts | server | runs | deliveries/s (median) | all runs | p50 ms | p99 ms | after-dot p50 ms | CPU ms / delivery |")
print("|---:|---:|---:|---|---:|---:|---|---:|---:|---:|---:|")
for k in sorted(rows, key=lambda k: (int(k[0]), int(k[2]), int(k[1]), k[3])):
    rs = sorted(rows[k], key=lambda r: float(r["deliveries_per_s"]))
    m = rs[(len(rs) - 1) // 2]
    allr = "/".join(r["deliveries_per_s"] for r in rows[k])
    print(f"| {k[0]} | {k[1]} | {k[2]} | {k[3]} | {len(rs)} | {m['deliveries_per_s']} | {allr} | "
          f"{m['p50_ms']} | {m['p99_ms']} | {m['data_p50_ms']} | {m['cpu_ms_per_delivery']} |")
PY
}
summary_retr() {
	python3 - "$RESULTS" <<'PY'
import sys
print("\n| maildrop | window | server | round | MB/run | s (p50 of runs) | MB/s | RETR p50 ms | RSS before kB | peak kB |")
print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
for l in open(sys.argv[1]):
    kv = dict(x.split("=", 1) for x in l.split() if "=" in x)
    if kv.get("test") != "retr":
        continue
    print(f"| {kv['user']} ({kv['maildrop']}) | {kv['window']} | {kv['server']} | {kv['round']} | "
          f"{int(kv['bytes_per_run'])/1e6:.1f} | {kv['p50_s']} | {kv['mb_per_s']} | {kv['retr_p50_ms']} | "
          f"{kv['rss_before_kb']} | {kv['rss_peak_kb']} |")
PY
}
summary_deliver
summary_retr
echo
rows files_check
grep '^server=none' "$RESULTS"
echo "raw results: $RESULTS"
