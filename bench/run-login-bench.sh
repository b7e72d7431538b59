#!/usr/bin/env bash
# Login and idle-memory benchmark: roost and Dovecot side by side.
#
# Builds nothing.  Expects (from `meson setup build && ninja -C build`):
#   build/roost               (override with ROOST_BIN)
#   build/bench/imap-load     (override with IMAP_LOAD)
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
# Settings (environment):
#   SERVERS="roost dovecot"  CYCLE_CONNS="1 10 50"  CYCLE_SECS=10
#   NOOP_CONNS=10  NOOP_SECS=5  IDLE_COUNTS="1000 10000"  USERS=1000
#   LOAD_THREADS=1  KEEP_TMP=0  DOVECOT_IMAP_SERVICE_COUNT=1
#   OUT=<dir for results.txt; default a new /tmp/roost-bench-results.*>
#   (an empty CYCLE_CONNS, NOOP_CONNS or IDLE_COUNTS skips that part)
# Results: one line per test in $OUT/results.txt and a summary on stdout.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROOST_BIN=${ROOST_BIN:-$ROOT/build/roost}
IMAP_LOAD=${IMAP_LOAD:-$ROOT/build/bench/imap-load}
SERVERS=${SERVERS:-"roost dovecot"}
CYCLE_CONNS=${CYCLE_CONNS-"1 10 50"}
CYCLE_SECS=${CYCLE_SECS:-10}
NOOP_CONNS=${NOOP_CONNS-10}
NOOP_SECS=${NOOP_SECS:-5}
IDLE_COUNTS=${IDLE_COUNTS-"1000 10000"}
USERS=${USERS:-1000}
LOAD_THREADS=${LOAD_THREADS:-1}
DOVECOT_IMAP_SERVICE_COUNT=${DOVECOT_IMAP_SERVICE_COUNT:-1}
KEEP_TMP=${KEEP_TMP:-0}
PASSWORD=bench-secret

die() { echo "run-login-bench: $*" >&2; exit 1; }
log() { echo "== $*" >&2; }

[[ $(id -u) -eq 0 ]] || die "run as root (Dovecot's master needs it)"
[[ -x $IMAP_LOAD ]] || die "no $IMAP_LOAD; run meson setup build && ninja -C build"
for s in $SERVERS; do
	case $s in
	roost) [[ -x $ROOST_BIN ]] || die "no $ROOST_BIN" ;;
	dovecot) command -v dovecot >/dev/null || die "dovecot not installed" ;;
	*) die "unknown server $s" ;;
	esac
done

TMP=$(mktemp -d /tmp/roost-bench.XXXXXX)
chmod 755 "$TMP"   # Dovecot's imap runs as nobody and needs to traverse
OUT=${OUT:-$(mktemp -d /tmp/roost-bench-results.XXXXXX)}
mkdir -p "$OUT"
RESULTS=$OUT/results.txt
: >"$RESULTS"
ROOST_PID=
DOVECOT_PID=
LOAD_PID=

cleanup() {
	set +e
	[[ -n $LOAD_PID ]] && kill -TERM "$LOAD_PID" 2>/dev/null
	if [[ -n $ROOST_PID ]]; then
		kill -TERM "$ROOST_PID" 2>/dev/null
		wait "$ROOST_PID" 2>/dev/null
	fi
	if [[ -n $DOVECOT_PID ]]; then
		kill -TERM "$DOVECOT_PID" 2>/dev/null
		wait "$DOVECOT_PID" 2>/dev/null
	fi
	if [[ $KEEP_TMP == 1 ]]; then
		echo "run-login-bench: kept $TMP" >&2
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 10,000 connections need 10,000 fds in the client and in roost (or in a
# Dovecot imap-login process); raise the soft limit as far as allowed.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# ---- users -------------------------------------------------------------
log "creating $USERS users (SHA512-CRYPT)"
for ((i = 1; i <= USERS; i++)); do echo "$PASSWORD"; done |
	openssl passwd -6 -stdin |
	awk '{ printf "user%d:{SHA512-CRYPT}%s::::::\n", NR, $0 }' >"$TMP/passwd"
chmod 644 "$TMP/passwd"

# ---- servers -------------------------------------------------------------
start_roost() {
	mkdir -p "$TMP/roost-data"
	cp "$TMP/passwd" "$TMP/roost-data/passwd"
	cat >"$TMP/roost.conf" <<EOF
[server]
data = $TMP/roost-data
[imap]
listen = 127.0.0.1:0
tls_listen =
max_connections_per_ip = 100000
prelogin_timeout_s = 600
[auth]
passwd_file = $TMP/roost-data/passwd
plaintext_loopback = yes
failure_delay_base_ms = 10
failure_delay_max_ms = 10
EOF
	"$ROOST_BIN" serve --config "$TMP/roost.conf" \
		>"$TMP/roost.out" 2>"$TMP/roost.log" &
	ROOST_PID=$!
	local i
	for ((i = 0; i < 100; i++)); do
		ROOST_PORT=$(sed -n 's/.*event=listening proto=imap tls=no addr=127\.0\.0\.1:\([0-9]*\).*/\1/p' \
			"$TMP/roost.log" | head -1)
		[[ -n $ROOST_PORT ]] && break
		kill -0 "$ROOST_PID" 2>/dev/null || {
			cat "$TMP/roost.log" >&2; die "roost did not start"; }
		sleep 0.1
	done
	[[ -n $ROOST_PORT ]] || die "roost never logged its listener"
	log "roost pid $ROOST_PID on 127.0.0.1:$ROOST_PORT"
}

start_dovecot() {
	DOVECOT_PORT=$(free_port)
	mkdir -p "$TMP/dovecot-run" "$TMP/dovecot-state" "$TMP/dovecot-mail"
	chown nobody:nogroup "$TMP/dovecot-mail"
	cat >"$TMP/dovecot.conf" <<EOF
# Private instance for the benchmark; nothing from /etc/dovecot.
base_dir = $TMP/dovecot-run
state_dir = $TMP/dovecot-state
instance_name = roost-bench-dovecot
log_path = $TMP/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
# auth_cache_size = 0 (default): every LOGIN verifies the hash, as roost does
mail_location = maildir:$TMP/dovecot-mail/%u
mail_max_userip_connections = 100000
passdb {
  driver = passwd-file
  args = $TMP/passwd
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$TMP/dovecot-mail/%u
}
# Limits sized for 10,000 logged-in connections (the hard fd limit here is
# 20,000, so no client_limit above that).
default_vsz_limit = 1G
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $DOVECOT_PORT
  }
  inet_listener imaps {
    port = 0
  }
  # high-performance mode: login processes are reused and each serves
  # many connections (one per CPU)
  service_count = 0
  process_min_avail = $(nproc)
  client_limit = 12000
}
service imap {
  # default client_limit = 1: one imap process per logged-in connection
  process_limit = 12000
  # 1 (default): a new process per session; N: a process serves N
  # sessions one after another (Dovecot's "performance" tuning)
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
}
EOF
	dovecot -F -c "$TMP/dovecot.conf" >"$TMP/dovecot.out" 2>&1 &
	DOVECOT_PID=$!
	local i
	for ((i = 0; i < 100; i++)); do
		if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$DOVECOT_PORT),1).close()" 2>/dev/null; then
			break
		fi
		kill -0 "$DOVECOT_PID" 2>/dev/null || {
			cat "$TMP/dovecot.out" "$TMP/dovecot.log" >&2
			die "dovecot did not start"; }
		sleep 0.1
	done
	log "dovecot pid $DOVECOT_PID on 127.0.0.1:$DOVECOT_PORT"
}

stop_server() {
	local pid
	pid=$(server_pid "$1")
	[[ -n $pid ]] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	if [[ $1 == roost ]]; then ROOST_PID=; else DOVECOT_PID=; fi
}

server_port() { if [[ $1 == roost ]]; then echo "$ROOST_PORT"; else echo "$DOVECOT_PORT"; fi; }
server_pid() { if [[ $1 == roost ]]; then echo "$ROOST_PID"; else echo "$DOVECOT_PID"; fi; }

# Prints "procs rss_bytes pss_bytes": VmRSS (/proc/PID/status) and Pss
# (/proc/PID/smaps_rollup) summed over the pid and all its descendants.
# One python3 pass: 10,000 Dovecot processes are too many for a shell loop.
mem_of() {
	python3 - "$1" <<'PY'
import os, sys
root = int(sys.argv[1])
parent = {}
for d in os.listdir("/proc"):
    if d.isdigit():
        try:
            with open(f"/proc/{d}/stat") as f:
                parent[int(d)] = int(f.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            pass
def in_tree(p):
    while p > 1:
        if p == root:
            return True
        p = parent.get(p, 0)
    return False
procs = rss = pss = 0
for p in parent:
    if not in_tree(p):
        continue
    try:
        with open(f"/proc/{p}/status") as f:
            r = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
        with open(f"/proc/{p}/smaps_rollup") as f:
            q = next(int(l.split()[1]) for l in f if l.startswith("Pss:"))
    except (OSError, StopIteration):
        continue
    procs += 1; rss += r; pss += q
print(procs, rss * 1024, pss * 1024)
PY
}

# Runs imap-load in place of the calling (sub)shell, so that $! of
# `load ... &` is imap-load itself and a signal reaches it.
load() {
	local server=$1; shift
	exec "$IMAP_LOAD" --host 127.0.0.1 --port "$(server_port "$server")" \
		--user-pattern 'user%d' --user-count "$USERS" \
		--pass "$PASSWORD" -t "$LOAD_THREADS" "$@"
}

record() {
	# record SERVER TEST PARAM RESULT-LINE...
	local server=$1 test=$2 param=$3; shift 3
	echo "server=$server test=$test $param $*" >>"$RESULTS"
}

run_cycle() {
	local server=$1 c=$2 out
	log "$server: cycle, $c connections, ${CYCLE_SECS}s"
	out=$(load "$server" --mode cycle -c "$c" -d "$CYCLE_SECS")
	echo "$out" >&2
	record "$server" cycle "conns=$c" "$(grep '^RESULT' <<<"$out")"
}

run_noop() {
	local server=$1 c=$2 out
	log "$server: noop, $c connections, ${NOOP_SECS}s"
	out=$(load "$server" --mode noop -c "$c" -d "$NOOP_SECS")
	echo "$out" >&2
	record "$server" noop "conns=$c" "$(grep '^RESULT' <<<"$out")"
}

run_idle() {
	local server=$1 n=$2 pid before after i ready
	# A freshly started server: otherwise memory freed by the earlier
	# tests (kept by malloc) would be reused and hide the real cost.
	stop_server "$server"
	"start_$server"
	sleep 2
	pid=$(server_pid "$server")
	before=$(mem_of "$pid")
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
	after=$(mem_of "$pid")
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
	record "$server" idle "n=$n ready=$ready procs_before=$procs_b procs_after=$procs_a" \
		"rss_before=$rss_b rss_after=$rss_a pss_before=$pss_b pss_after=$pss_a" \
		"rss_per_conn=$per_rss pss_per_conn=$per_pss" \
		"$(grep '^RESULT' "$TMP/idle.out" || true)"
}

# Context for reading the figures: other load on the machine, and the
# cost of one fork+exec here (Dovecot starts an imap process per login).
t0=$(date +%s%N)
for ((i = 0; i < 100; i++)); do /bin/true; done
t1=$(date +%s%N)
echo "server=none test=machine loadavg_start=\"$(cut -d' ' -f1-3 /proc/loadavg)\"" \
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

echo "server=none test=machine loadavg_end=\"$(cut -d' ' -f1-3 /proc/loadavg)\"" \
	>>"$RESULTS"

# ---- summary -------------------------------------------------------------
kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }
echo
echo "| server | connections | logins/s | login p50 ms | login p99 ms | cycles/s | cycle p50 ms | cycle p99 ms | errors |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
while read -r line; do
	[[ $line == *" test=cycle "* ]] || continue
	echo "| $(kv server "$line") | $(kv conns "$line") | $(kv login_per_s "$line") | $(kv login_p50_ms "$line") | $(kv login_p99_ms "$line") | $(kv cycle_per_s "$line") | $(kv cycle_p50_ms "$line") | $(kv cycle_p99_ms "$line") | $(kv errors "$line") |"
done <"$RESULTS"
echo
echo "| server | connections | NOOP/s | NOOP p50 ms | NOOP p99 ms | errors |"
echo "|---|---:|---:|---:|---:|---:|"
while read -r line; do
	[[ $line == *" test=noop "* ]] || continue
	echo "| $(kv server "$line") | $(kv conns "$line") | $(kv noop_per_s "$line") | $(kv noop_p50_ms "$line") | $(kv noop_p99_ms "$line") | $(kv errors "$line") |"
done <"$RESULTS"
echo
echo "| server | idle conns | logged in | processes before → after | RSS delta / conn | PSS delta / conn | RSS after (MiB) | PSS after (MiB) |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
while read -r line; do
	[[ $line == *" test=idle "* ]] || continue
	echo "| $(kv server "$line") | $(kv n "$line") | $(kv ready "$line") | $(kv procs_before "$line") → $(kv procs_after "$line") | $(kv rss_per_conn "$line") B | $(kv pss_per_conn "$line") B | $(($(kv rss_after "$line") / 1048576)) | $(($(kv pss_after "$line") / 1048576)) |"
done <"$RESULTS"
echo
grep '^server=none' "$RESULTS"
echo "raw results: $RESULTS"
