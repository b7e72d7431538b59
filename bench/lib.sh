# shellcheck shell=bash
# The shell the bench/run-*.sh scripts share: messages, building roost,
# temporary and result directories, starting roost and a private Dovecot
# on loopback, stopping them by PID, recording results. Sourced, not run:
#
#   BENCH_NAME=run-foo-bench
#   . "$(dirname "$0")/lib.sh"
#
# Settings every script takes (environment): SERVERS="roost dovecot"
# BUILD=1 BUILD_DIR=build SNAPSHOT=0 SNAPSHOT_DIR=/tmp/roost-NAME-src
# (NAME: fetch, store, login) ROOST_BIN=BUILD_DIR/roost DROP_CACHES=1
# KEEP_TMP=0 OUT=<dir for results.txt>. The functions also use COMMIT,
# TMP, RESULTS, PASSWORD, ROOST_PID, ROOST_PORT, ROOST_DATA, DOVECOT_PID
# and DOVECOT_PORT. Nothing is ever killed but the PIDs the script
# started itself.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SERVERS=${SERVERS:-"roost dovecot"}
BUILD=${BUILD:-1}
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
SNAPSHOT=${SNAPSHOT:-0}
_name=${BENCH_NAME#run-}
SNAPSHOT_DIR=${SNAPSHOT_DIR:-/tmp/roost-${_name%-bench}-src}
ROOST_BIN=${ROOST_BIN:-$BUILD_DIR/roost}
DROP_CACHES=${DROP_CACHES:-1}
KEEP_TMP=${KEEP_TMP:-0}
PASSWORD=bench-secret
ROOST_PID=
DOVECOT_PID=

die() { echo "$BENCH_NAME: $*" >&2; exit 1; }
log() { echo "== $*" >&2; }

require_root() {
	[[ $(id -u) -eq 0 ]] || die "run as root (Dovecot's master needs it)"
}

# build_roost TARGET...: build the ninja targets in release mode in
# BUILD_DIR (meson setup, or configure if it is another buildtype) from
# the work tree, or with SNAPSHOT=1 from the committed HEAD (`git
# archive` into SNAPSHOT_DIR, so that others' uncommitted edits stay out
# of the figures; BUILD_DIR must then serve only that snapshot). Nothing
# with BUILD=0. Sets COMMIT (HEAD now); BUILD_DIR/bench-source says what
# tree was built, for roost_source_line.
build_roost() {
	local src=$ROOT
	COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
	[[ $BUILD == 1 ]] || return 0
	if [[ $SNAPSHOT == 1 ]]; then
		# fresh mtimes (tar -m): ninja rebuilds whatever changed
		rm -rf "$SNAPSHOT_DIR"
		mkdir -p "$SNAPSHOT_DIR"
		git -C "$ROOT" archive HEAD | tar -x -m -C "$SNAPSHOT_DIR"
		src=$SNAPSHOT_DIR
		log "building the committed tree $COMMIT in $SNAPSHOT_DIR"
	fi
	if [[ ! -f $BUILD_DIR/build.ninja ]]; then
		meson setup "$BUILD_DIR" "$src" --buildtype=release >&2
	elif ! meson introspect --buildoptions "$BUILD_DIR" |
		python3 -c 'import json,sys; o={x["name"]:x["value"] for x in json.load(sys.stdin)}; sys.exit(o["buildtype"]!="release")'; then
		log "reconfiguring $BUILD_DIR as buildtype=release"
		meson configure "$BUILD_DIR" --buildtype=release >&2
	fi
	# only what the benchmark runs: unit tests need not build for it
	ninja -C "$BUILD_DIR" "$@" >&2
	if [[ $SNAPSHOT == 1 ]]; then
		echo "commit=$COMMIT source=snapshot"
	else
		echo "commit=$COMMIT source=worktree uncommitted_src_files=$(git -C "$ROOT" status --porcelain -- src 2>/dev/null | wc -l)"
	fi >"$BUILD_DIR/bench-source"
}

# A results.txt line saying which roost tree the figures are of: the one
# build_roost built now or, with BUILD=0, earlier into BUILD_DIR.
roost_source_line() {
	local built=commit=unknown
	[[ -f $BUILD_DIR/bench-source ]] && built=$(cat "$BUILD_DIR/bench-source")
	echo "server=none test=roost $built build=$BUILD head=$COMMIT"
}

# check_servers: every name in SERVERS is roost or dovecot, and there.
check_servers() {
	local s
	for s in $SERVERS; do
		case $s in
		roost) [[ -x $ROOST_BIN ]] || die "no $ROOST_BIN" ;;
		dovecot) command -v dovecot >/dev/null || die "dovecot not installed" ;;
		*) die "unknown server $s" ;;
		esac
	done
}

# make_dirs NAME: TMP, a new /tmp/NAME.* (removed on exit unless
# KEEP_TMP=1); OUT (default a new /tmp/NAME-results.*) and an empty
# RESULTS file in it.
make_dirs() {
	TMP=$(mktemp -d "/tmp/$1.XXXXXX")
	chmod 755 "$TMP" # Dovecot's imap runs as nobody and must traverse it
	OUT=${OUT:-$(mktemp -d "/tmp/$1-results.XXXXXX")}
	mkdir -p "$OUT"
	RESULTS=$OUT/results.txt
	: >"$RESULTS"
}

stop_pid() {
	[[ -n $1 ]] || return 0
	kill -TERM "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# The EXIT trap: the script's before_stop and after_stop functions, if
# it defines them, around stopping both servers; then TMP goes.
cleanup() {
	set +e
	declare -F before_stop >/dev/null && before_stop
	stop_pid "$ROOST_PID"
	stop_pid "$DOVECOT_PID"
	declare -F after_stop >/dev/null && after_stop
	if [[ $KEEP_TMP == 1 ]]; then
		echo "$BENCH_NAME: kept $TMP" >&2
	else
		rm -rf "$TMP"
	fi
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_port PORT PID: until something accepts on 127.0.0.1:PORT (10 s),
# or PID died.
wait_port() {
	local port=$1 pid=$2 i
	for ((i = 0; i < 100; i++)); do
		python3 -c "import socket; socket.create_connection(('127.0.0.1',$port),1).close()" \
			2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$(now) - $1:.3f}')"; }

# drop_caches: drop the page cache if DROP_CACHES=1; if the kernel does
# not let us, say so and set DROP_CACHES=0.
drop_caches() {
	[[ $DROP_CACHES == 1 ]] || return 0
	sync
	echo 3 >/proc/sys/vm/drop_caches 2>/dev/null && return 0
	log "cannot drop the page cache"
	DROP_CACHES=0
}

# passwd_plain USER...: passwd-file lines in Dovecot's format with
# {PLAIN} password $PASSWORD (benchmarks of the store, not of hashing).
passwd_plain() {
	local u
	for u in "$@"; do echo "$u:{PLAIN}$PASSWORD::::::"; done
}

# ---- servers -------------------------------------------------------------

# roost_conf [MORE]: roost's configuration for data ROOST_DATA, IMAP on
# 127.0.0.1:ROOST_PORT without TLS, POP3 on 127.0.0.1:ROOST_POP3_PORT
# and LMTP on 127.0.0.1:ROOST_LMTP_PORT if those are set (otherwise
# off, so that the defaults 1110, 1995 and 1024 are never taken), users
# from ROOST_DATA/passwd, then the lines MORE (sections may appear
# again), on stdout.
roost_conf() {
	cat <<EOF
[server]
data = $ROOST_DATA
[imap]
listen = 127.0.0.1:$ROOST_PORT
tls_listen =
[pop3]
listen = ${ROOST_POP3_PORT:+127.0.0.1:$ROOST_POP3_PORT}
tls_listen =
[lmtp]
listen = ${ROOST_LMTP_PORT:+127.0.0.1:$ROOST_LMTP_PORT}
[auth]
passwd_file = $ROOST_DATA/passwd
plaintext_loopback = yes
${1:-}
EOF
}

# run_roost CONF: start `roost serve` in the background (output appended
# to TMP/roost.out and TMP/roost.log), wait for ROOST_PORT; sets
# ROOST_PID.
run_roost() {
	"$ROOST_BIN" serve --config "$1" \
		>>"$TMP/roost.out" 2>>"$TMP/roost.log" &
	ROOST_PID=$!
	wait_port "$ROOST_PORT" "$ROOST_PID" ||
		{ tail "$TMP/roost.log" >&2; die "roost did not start"; }
	log "roost pid $ROOST_PID on 127.0.0.1:$ROOST_PORT"
}

# dovecot_conf NAME MAX_USERIP [LOGIN_SETTINGS [MORE]]: a private
# Dovecot configuration (nothing from /etc/dovecot; base and state dirs
# and log in TMP, IMAP on 127.0.0.1:DOVECOT_PORT without TLS, users from
# TMP/passwd, Maildirs in TMP/dovecot-mail/USER), on stdout; the
# protocols are DOVECOT_PROTOCOLS (default imap).
# LOGIN_SETTINGS go into `service imap-login`, the lines MORE after it.
dovecot_conf() {
	cat <<EOF
# Private instance for the benchmark; nothing from /etc/dovecot.
base_dir = $TMP/dovecot-run
state_dir = $TMP/dovecot-state
instance_name = $1
log_path = $TMP/dovecot.log
protocols = ${DOVECOT_PROTOCOLS:-imap}
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:$TMP/dovecot-mail/%u
mail_max_userip_connections = $2
passdb {
  driver = passwd-file
  args = $TMP/passwd
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$TMP/dovecot-mail/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $DOVECOT_PORT
  }
  inet_listener imaps {
    port = 0
  }
${3:-}
}
${4:-}
EOF
}

# dovecot_dirs: the directories dovecot_conf names, mail owned by nobody.
dovecot_dirs() {
	mkdir -p "$TMP/dovecot-run" "$TMP/dovecot-state" "$TMP/dovecot-mail"
	chown nobody:nogroup "$TMP/dovecot-mail"
}

# run_dovecot CONF: start `dovecot -F` in the background (output appended
# to TMP/dovecot.out), wait for DOVECOT_PORT; sets DOVECOT_PID.
run_dovecot() {
	dovecot -F -c "$1" >>"$TMP/dovecot.out" 2>&1 &
	DOVECOT_PID=$!
	wait_port "$DOVECOT_PORT" "$DOVECOT_PID" ||
		{ tail "$TMP/dovecot.out" "$TMP/dovecot.log" >&2
		  die "dovecot did not start"; }
	log "dovecot pid $DOVECOT_PID on 127.0.0.1:$DOVECOT_PORT"
}

server_port() { if [[ $1 == roost ]]; then echo "$ROOST_PORT"; else echo "$DOVECOT_PORT"; fi; }
server_pid() { if [[ $1 == roost ]]; then echo "$ROOST_PID"; else echo "$DOVECOT_PID"; fi; }

# stop_server SERVER: stop it by its PID and forget the PID.
stop_server() {
	if [[ $1 == roost ]]; then
		stop_pid "$ROOST_PID"
		ROOST_PID=
	else
		stop_pid "$DOVECOT_PID"
		DOVECOT_PID=
	fi
}

# proc_tree PID cpu|mem: over PID and its descendants, from /proc:
# cpu: CPU seconds (user + system, including the children they reaped,
# such as Dovecot's exited imap processes); mem: "procs rss_bytes
# pss_bytes" (VmRSS, and Pss from smaps_rollup). One python3 pass:
# 10,000 Dovecot processes are too many for a shell loop.
proc_tree() {
	python3 - "$1" "$2" <<'PY'
import os, sys
root, what = int(sys.argv[1]), sys.argv[2]
stat, parent = {}, {}
for d in os.listdir("/proc"):
    if d.isdigit():
        try:
            with open(f"/proc/{d}/stat") as f:
                v = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parent[int(d)] = int(v[1])
        stat[int(d)] = v
def in_tree(p):
    while p > 1:
        if p == root:
            return True
        p = parent.get(p, 0)
    return False
tree = [p for p in stat if in_tree(p)]
if what == "cpu":
    t = sum(int(stat[p][i]) for p in tree for i in (11, 12, 13, 14))
    print(f"{t / os.sysconf('SC_CLK_TCK'):.2f}")
    sys.exit()
procs = rss = pss = 0
for p in tree:
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

# ---- results -------------------------------------------------------------

# record SERVER TEST PARAMS OUTPUT: OUTPUT to stderr, and its RESULT line
# with SERVER, TEST and PARAMS in front to RESULTS.
record() {
	echo "$4" >&2
	echo "server=$1 test=$2 $3 $(grep '^RESULT' <<<"$4")" >>"$RESULTS"
}

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# kv KEY LINE: the value of KEY=value in LINE.
kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }
# rows TEST: the RESULTS lines of that test.
rows() { grep " test=$1 " "$RESULTS" || true; }
# mb BYTES: in MB (10^6 bytes), one decimal.
mb() { python3 -c "print(f'{$1/1e6:.1f}')"; }

# table TEST FN HEADER ALIGN: after an empty line, a Markdown table of
# the RESULTS lines of TEST: HEADER ("| a | b |"), ALIGN ("|---|---:|"),
# then what FN LINE prints for each line.
table() {
	local l
	echo
	echo "$3"
	echo "$4"
	while read -r l; do
		[[ -n $l ]] && "$2" "$l"
	done <<<"$(rows "$1")"
	return 0
}

# ---- TLS and system memory (run-idle-bench.sh) -----------------------------

# make_cert DIR: a self-signed EC P-256 certificate for localhost and
# 127.0.0.1 in DIR/cert.pem and DIR/key.pem (readable by Dovecot's
# login processes), so that both servers offer the same key.
make_cert() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
		-nodes -days 30 -subj /CN=localhost \
		-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
		-keyout "$1/key.pem" -out "$1/cert.pem" 2>/dev/null ||
		die "openssl req failed"
	chmod 644 "$1/cert.pem" "$1/key.pem"
}

# sys_mem: "memavail_kb slab_kb tcp_mem_pages" of the whole machine now
# (MemAvailable and Slab from /proc/meminfo, the "mem" of TCP in
# /proc/net/sockstat: pages of socket buffers of both ends).
sys_mem() {
	local avail slab tcp
	avail=$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo)
	slab=$(awk '/^Slab:/ { print $2 }' /proc/meminfo)
	tcp=$(awk '/^TCP:/ { for (i = 2; i < NF; i++) if ($i == "mem") print $(i + 1) }' /proc/net/sockstat)
	echo "$avail $slab $tcp"
}
