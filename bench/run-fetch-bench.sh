#!/usr/bin/env bash
# FETCH and SEARCH benchmark: roost and Dovecot side by side, in one run,
# on the same generated corpus (bench/imap-fetch, seed 1).
#
#   1. `FETCH 1:* (ENVELOPE BODYSTRUCTURE)` on a BIG-message INBOX: cold
#      (the first after the mailbox was filled, the server restarted and
#      the page cache dropped) and warm (ENV_RUNS more on the same
#      connection); every run must return one FETCH per message.
#   2. `FETCH n BODY[]` throughput (MB/s, 10^6 bytes) on mailboxes of
#      SMALL_COUNT messages of SMALL_SIZE bytes (one command per message,
#      and one `FETCH 1:* BODY[]`) and of BIG_COUNTS messages of
#      BIG_SIZES bytes, one command each, BODY_RUNS runs; the server's
#      peak RSS during each run (VmHWM after resetting it with
#      /proc/PID/clear_refs; for Dovecot its imap process).
#   3. `SEARCH` on the BIG INBOX for each of SEARCH_QUERIES: the first
#      after a server restart with the page cache dropped (cold), then
#      SEARCH_RUNS more (warm). The matches are mapped to corpus indices
#      (by Message-ID) and compared between the servers and with the
#      count the generator planted.
#
# Both stores are filled the same way, over IMAP: APPEND with LITERAL+
# on FILL_CONNS connections, FILL_WINDOW commands in flight each and
# FILL_BATCH messages per command (MULTIAPPEND when > 1; the 10 and 50 MB
# messages one per command, on one connection).
#
# Builds roost in release mode (meson setup/configure, ninja) unless
# BUILD=0, from the work tree, or with SNAPSHOT=1 from the committed HEAD
# (`git archive` into SNAPSHOT_DIR, so that others' uncommitted edits
# stay out of the figures; BUILD_DIR must then be used only for that
# snapshot). Must run as root (Dovecot's master wants it, and so do
# drop_caches and clear_refs). Servers are stopped by PID; nothing else
# is killed.
#
# Settings (environment):
#   SERVERS="roost dovecot"  BUILD_DIR=build  BUILD=1
#   SNAPSHOT=0  SNAPSHOT_DIR=/tmp/roost-fetch-src
#   BIG=100000  FILL_CONNS=4  FILL_WINDOW=2  FILL_BATCH=20
#   ENV_RUNS=5  SEARCH_RUNS=5  BODY_RUNS=3
#   SMALL_COUNT=2000  SMALL_SIZE=4096
#   BIG_SIZES="10000000 50000000"  BIG_COUNTS="5 3"
#   SEARCH_QUERIES="TEXT:zyzzogeton:: TEXT:tangerine:: ..." (KEY:VALUE:
#     CHARSET:count name from `imap-fetch --mode info`)
#   DROP_CACHES=1  KEEP_TMP=0  OUT=<dir for results.txt and the rest>
#   COMPARE_WITH=<OUT of an earlier run>: compare this run's answers with
#     that run's answers of the servers not in SERVERS too (e.g. rerun
#     SERVERS=roost after a roost change, and check it against the
#     Dovecot answers of the full run)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
BUILD=${BUILD:-1}
SNAPSHOT=${SNAPSHOT:-0}
SNAPSHOT_DIR=${SNAPSHOT_DIR:-/tmp/roost-fetch-src}
SERVERS=${SERVERS:-"roost dovecot"}
BIG=${BIG:-100000}
FILL_CONNS=${FILL_CONNS:-4}
FILL_WINDOW=${FILL_WINDOW:-2}
FILL_BATCH=${FILL_BATCH:-20}
ENV_RUNS=${ENV_RUNS:-5}
SEARCH_RUNS=${SEARCH_RUNS:-5}
BODY_RUNS=${BODY_RUNS:-3}
SMALL_COUNT=${SMALL_COUNT:-2000}
SMALL_SIZE=${SMALL_SIZE:-4096}
BIG_SIZES=${BIG_SIZES-"10000000 50000000"}
BIG_COUNTS=${BIG_COUNTS-"5 3"}
SEARCH_QUERIES=${SEARCH_QUERIES-"TEXT:zyzzogeton::text_zyzzogeton TEXT:tangerine::text_tangerine FROM:Zabriskie::from_zabriskie FROM:Okonkwo::from_okonkwo FROM:Müller:UTF-8:from_mueller"}
DROP_CACHES=${DROP_CACHES:-1}
KEEP_TMP=${KEEP_TMP:-0}
COMPARE_WITH=${COMPARE_WITH:-}
PASSWORD=bench-secret

die() { echo "run-fetch-bench: $*" >&2; exit 1; }
log() { echo "== $*" >&2; }

[[ $(id -u) -eq 0 ]] || die "run as root (Dovecot's master needs it)"

# ---- build ---------------------------------------------------------------
SRC=$ROOT
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ $BUILD == 1 && $SNAPSHOT == 1 ]]; then
	# fresh mtimes (tar -m): ninja rebuilds whatever changed
	rm -rf "$SNAPSHOT_DIR"
	mkdir -p "$SNAPSHOT_DIR"
	git -C "$ROOT" archive HEAD | tar -x -m -C "$SNAPSHOT_DIR"
	SRC=$SNAPSHOT_DIR
	log "building the committed tree $COMMIT in $SNAPSHOT_DIR"
fi
if [[ $BUILD == 1 ]]; then
	if [[ ! -f $BUILD_DIR/build.ninja ]]; then
		meson setup "$BUILD_DIR" "$SRC" --buildtype=release >&2
	elif ! meson introspect --buildoptions "$BUILD_DIR" |
		python3 -c 'import json,sys; o={x["name"]:x["value"] for x in json.load(sys.stdin)}; sys.exit(o["buildtype"]!="release")'; then
		log "reconfiguring $BUILD_DIR as buildtype=release"
		meson configure "$BUILD_DIR" --buildtype=release >&2
	fi
	ninja -C "$BUILD_DIR" roost bench/imap-fetch >&2
fi
ROOST_BIN=${ROOST_BIN:-$BUILD_DIR/roost}
IMAP_FETCH=${IMAP_FETCH:-$BUILD_DIR/bench/imap-fetch}
[[ -x $IMAP_FETCH ]] || die "no $IMAP_FETCH"
for s in $SERVERS; do
	case $s in
	roost) [[ -x $ROOST_BIN ]] || die "no $ROOST_BIN" ;;
	dovecot) command -v dovecot >/dev/null || die "dovecot not installed" ;;
	*) die "unknown server $s" ;;
	esac
done

TMP=$(mktemp -d /tmp/roost-fetch-bench.XXXXXX)
chmod 755 "$TMP" # Dovecot's imap runs as nobody and must traverse it
OUT=${OUT:-$(mktemp -d /tmp/roost-fetch-bench-results.XXXXXX)}
mkdir -p "$OUT"
RESULTS=$OUT/results.txt
: >"$RESULTS"
CHECK_SERVERS=$SERVERS
if [[ -n $COMPARE_WITH ]]; then
	for s in roost dovecot; do
		[[ " $SERVERS " == *" $s "* ]] && continue
		[[ -f $COMPARE_WITH/map-$s.txt ]] || continue
		cp "$COMPARE_WITH"/{map,search,envelope}-"$s"*.txt "$OUT/"
		CHECK_SERVERS="$CHECK_SERVERS $s"
		log "comparing with $s's answers in $COMPARE_WITH"
	done
fi
ROOST_PID=
DOVECOT_PID=

stop_pid() {
	[[ -n $1 ]] || return 0
	kill -TERM "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

cleanup() {
	set +e
	stop_pid "$ROOST_PID"
	stop_pid "$DOVECOT_PID"
	[[ -f $TMP/roost.log ]] && cp "$TMP/roost.log" "$OUT/roost.log"
	[[ -f $TMP/dovecot.log ]] && cp "$TMP/dovecot.log" "$OUT/dovecot.log"
	if [[ $KEEP_TMP == 1 ]]; then
		echo "run-fetch-bench: kept $TMP" >&2
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

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

drop_caches() {
	[[ $DROP_CACHES == 1 ]] || return 0
	sync
	echo 3 >/proc/sys/vm/drop_caches 2>/dev/null ||
		{ log "cannot drop the page cache"; DROP_CACHES=0; }
}

# Dovecot's passwd-file format, read by both servers. {PLAIN}: the
# benchmark is about FETCH and SEARCH, not password hashing.
echo "big:{PLAIN}$PASSWORD::::::" >"$TMP/passwd"
chmod 644 "$TMP/passwd"

# ---- servers -------------------------------------------------------------
start_roost() {
	ROOST_DATA=$TMP/roost-data
	mkdir -p "$ROOST_DATA"
	cp "$TMP/passwd" "$ROOST_DATA/passwd"
	ROOST_PORT=${ROOST_PORT:-$(free_port)}
	cat >"$TMP/roost.conf" <<EOF
[server]
data = $ROOST_DATA
[imap]
listen = 127.0.0.1:$ROOST_PORT
tls_listen =
[store]
max_message_size = 200M
[auth]
passwd_file = $ROOST_DATA/passwd
plaintext_loopback = yes
EOF
	"$ROOST_BIN" serve --config "$TMP/roost.conf" \
		>>"$TMP/roost.out" 2>>"$TMP/roost.log" &
	ROOST_PID=$!
	wait_port "$ROOST_PORT" "$ROOST_PID" ||
		{ tail "$TMP/roost.log" >&2; die "roost did not start"; }
	log "roost pid $ROOST_PID on 127.0.0.1:$ROOST_PORT"
}

start_dovecot() {
	mkdir -p "$TMP/dovecot-run" "$TMP/dovecot-state" "$TMP/dovecot-mail"
	chown nobody:nogroup "$TMP/dovecot-mail"
	DOVECOT_PORT=${DOVECOT_PORT:-$(free_port)}
	cat >"$TMP/dovecot.conf" <<EOF
# Private instance for the benchmark; nothing from /etc/dovecot.
base_dir = $TMP/dovecot-run
state_dir = $TMP/dovecot-state
instance_name = roost-fetch-bench-dovecot
log_path = $TMP/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:$TMP/dovecot-mail/%u
mail_max_userip_connections = 1000
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
}
EOF
	dovecot -F -c "$TMP/dovecot.conf" >>"$TMP/dovecot.out" 2>&1 &
	DOVECOT_PID=$!
	wait_port "$DOVECOT_PORT" "$DOVECOT_PID" ||
		{ tail "$TMP/dovecot.out" "$TMP/dovecot.log" >&2
		  die "dovecot did not start"; }
	log "dovecot pid $DOVECOT_PID on 127.0.0.1:$DOVECOT_PORT"
}

stop_server() {
	if [[ $1 == roost ]]; then
		stop_pid "$ROOST_PID"
		ROOST_PID=
	else
		stop_pid "$DOVECOT_PID"
		DOVECOT_PID=
	fi
}

# restart SERVER: stop it, drop the page cache, start it again: the next
# command it answers is cold.
restart() {
	stop_server "$1"
	drop_caches
	"start_$1"
}

server_port() { if [[ $1 == roost ]]; then echo "$ROOST_PORT"; else echo "$DOVECOT_PORT"; fi; }

fetchtool() {
	local server=$1; shift
	"$IMAP_FETCH" --host 127.0.0.1 --port "$(server_port "$server")" \
		--user big --pass "$PASSWORD" "$@"
}

record() {
	# record SERVER TEST PARAMS OUTPUT
	echo "$4" >&2
	echo "server=$1 test=$2 $3 $(grep '^RESULT' <<<"$4")" >>"$RESULTS"
}

roost_rss() {
	# roost_rss SERVER LABEL: roost's VmRSS now, in results.txt
	[[ $1 == roost && -n $ROOST_PID ]] || return 0
	local kb
	kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$ROOST_PID/status")
	echo "server=roost test=rss when=$2 rss_kb=$kb" >>"$RESULTS"
	log "roost VmRSS $kb kB ($2)"
}

# ---- the tests ------------------------------------------------------------
fill() {
	# fill SERVER MAILBOX COUNT CONNS [--size N] [--first N]
	local server=$1 mbox=$2 n=$3 conns=$4 out
	shift 4
	log "$server: fill $mbox with $n messages ($conns connections)"
	out=$(fetchtool "$server" --mode fill --mailbox "$mbox" -n "$n" \
		-c "$conns" --window "$FILL_WINDOW" --batch "$FILL_BATCH" "$@")
	record "$server" fill "" "$out"
}

fill_all() {
	local s=$1 sizes=($BIG_SIZES) counts=($BIG_COUNTS) i
	fill "$s" INBOX "$BIG" "$FILL_CONNS"
	fill "$s" small "$SMALL_COUNT" 1 --size "$SMALL_SIZE" --first 1000000
	for i in "${!sizes[@]}"; do
		fill "$s" "size${sizes[$i]}" "${counts[$i]}" 1 \
			--size "${sizes[$i]}" --first $((2000000 + i * 1000)) \
			--batch 1
	done
	roost_rss "$s" after_fill
}

run_envelope() {
	local s=$1 out
	restart "$s"
	roost_rss "$s" before_envelope
	log "$s: FETCH 1:* (ENVELOPE BODYSTRUCTURE), 1 cold + $ENV_RUNS warm"
	out=$(fetchtool "$s" --mode envelope -n $((ENV_RUNS + 1)) \
		--expect "$BIG" --map "$OUT/map-$s.txt" \
		--dump "$OUT/envelope-$s.txt")
	record "$s" envelope "" "$out"
	roost_rss "$s" after_envelope
}

rss_args() {
	if [[ $1 == roost ]]; then
		echo "--rss-pid $ROOST_PID"
	else
		echo "--rss-pid $DOVECOT_PID --rss-child imap"
	fi
}

run_body() {
	local s=$1 sizes=($BIG_SIZES) i out
	log "$s: FETCH n BODY[] on $SMALL_COUNT x $SMALL_SIZE bytes"
	# shellcheck disable=SC2046
	out=$(fetchtool "$s" --mode body --mailbox small -n "$BODY_RUNS" \
		--expect-size "$SMALL_SIZE" $(rss_args "$s"))
	record "$s" body "size=$SMALL_SIZE" "$out"
	# shellcheck disable=SC2046
	out=$(fetchtool "$s" --mode body --mailbox small -n "$BODY_RUNS" \
		--range --expect-size "$SMALL_SIZE" $(rss_args "$s"))
	record "$s" body "size=$SMALL_SIZE" "$out"
	for i in "${!sizes[@]}"; do
		log "$s: FETCH n BODY[] on ${sizes[$i]} bytes"
		# shellcheck disable=SC2046
		out=$(fetchtool "$s" --mode body --mailbox "size${sizes[$i]}" \
			-n "$BODY_RUNS" --expect-size "${sizes[$i]}" \
			$(rss_args "$s"))
		record "$s" body "size=${sizes[$i]}" "$out"
	done
	roost_rss "$s" after_body
}

run_search() {
	# run_search SERVER QNUM KEY VALUE CHARSET
	local s=$1 q=$2 key=$3 value=$4 cs=$5 out args=()
	[[ -n $cs ]] && args=(--charset "$cs")
	restart "$s"
	log "$s: SEARCH ${cs:+CHARSET $cs }$key $value, 1 cold + $SEARCH_RUNS warm"
	out=$(fetchtool "$s" --mode search --expect "$BIG" \
		-n $((SEARCH_RUNS + 1)) --key "$key" --value "$value" \
		"${args[@]}" --out "$OUT/search-$s-$q.txt")
	record "$s" search "query=$q key=$key value=$value" "$out"
}

# Compare the SEARCH answers of the servers as sets of corpus indices
# (sequence numbers mapped through each server's Message-IDs) and with
# the count the generator planted.
check_search() {
	local q=$1 expect=$2
	python3 - "$OUT" "$q" "$expect" $CHECK_SERVERS <<'PY' | tee -a "$RESULTS" >&2
import sys
out, q, expect, servers = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
sets = {}
for s in servers:
    m = dict(l.split() for l in open(f"{out}/map-{s}.txt"))
    seqs = [l.strip() for l in open(f"{out}/search-{s}-{q}.txt")]
    sets[s] = {int(m[x]) for x in seqs}
line = f"server=none test=search_check query={q} expected={expect}"
for s in servers:
    line += f" {s}={len(sets[s])}"
if len(servers) == 2:
    a, b = (sets[s] for s in servers)
    line += f" same={'yes' if a == b else 'NO'}"
    line += f" only_{servers[0]}={len(a - b)} only_{servers[1]}={len(b - a)}"
    if a != b:
        ex = sorted(a ^ b)[:10]
        line += " examples=" + ",".join(map(str, ex))
print(line)
PY
}

# Compare the ENVELOPE and BODYSTRUCTURE answers message by message.
check_envelope() {
	[[ $CHECK_SERVERS == *roost* && $CHECK_SERVERS == *dovecot* ]] || return 0
	python3 - "$OUT" <<'PY' | tee -a "$RESULTS" >&2
import sys
out = sys.argv[1]
def load(s):
    d = {}
    for l in open(f"{out}/envelope-{s}.txt", errors="replace"):
        idx, text = l.rstrip("\n").split("\t", 1)
        env, _, bs = text.partition(" BODYSTRUCTURE ")
        d[idx] = (env, bs)
    return d
r, d = load("roost"), load("dovecot")
diff_env = [k for k in r if k in d and r[k][0] != d[k][0]]
diff_bs = [k for k in r if k in d and r[k][1] != d[k][1]]
with open(f"{out}/envelope-diff.txt", "w") as f:
    for name, keys, i in (("ENVELOPE", diff_env, 0), ("BODYSTRUCTURE", diff_bs, 1)):
        for k in keys[:5]:
            f.write(f"{name} of message {k}:\n  roost:   {r[k][i]}\n"
                    f"  dovecot: {d[k][i]}\n")
print(f"server=none test=envelope_check messages={len(r)} "
      f"envelope_differs={len(diff_env)} bodystructure_differs={len(diff_bs)} "
      f"examples={out}/envelope-diff.txt")
PY
}

# ---- run -----------------------------------------------------------------
{
	echo "server=none test=machine nproc=$(nproc) loadavg_start=\"$(cut -d' ' -f1-3 /proc/loadavg)\""
	if [[ $SNAPSHOT == 1 ]]; then
		echo "server=none test=roost commit=$COMMIT source=snapshot"
	else
		echo "server=none test=roost commit=$COMMIT source=worktree uncommitted_src_files=$(git -C "$ROOT" status --porcelain -- src 2>/dev/null | wc -l)"
	fi
} >>"$RESULTS"
info=$("$IMAP_FETCH" --mode info -n "$BIG")
echo "server=none test=corpus $info" >>"$RESULTS"
log "corpus: $info"
for s in $SERVERS; do "start_$s"; done
for s in $SERVERS; do
	t0=$(now)
	fill_all "$s"
	log "$s: filled in $(elapsed "$t0") s"
done
for s in $SERVERS; do run_envelope "$s"; done
check_envelope
for s in $SERVERS; do run_body "$s"; done
q=0
for spec in $SEARCH_QUERIES; do
	q=$((q + 1))
	IFS=: read -r key value cs name <<<"$spec"
	for s in $SERVERS; do run_search "$s" "$q" "$key" "$value" "$cs"; done
	check_search "$q" "$(sed -n "s/.* $name=\([0-9]*\).*/\1/p" <<<" $info")"
done
echo "server=none test=machine loadavg_end=\"$(cut -d' ' -f1-3 /proc/loadavg)\"" >>"$RESULTS"

# ---- summary -------------------------------------------------------------
kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }
rows() { grep " test=$1 " "$RESULTS" || true; }
echo
echo "| server | mailbox | messages | MB | connections | fill s | msgs/s |"
echo "|---|---|---:|---:|---:|---:|---:|"
while read -r l; do
	[[ -n $l ]] || continue
	echo "| $(kv server "$l") | $(kv mailbox "$l") | $(kv messages "$l") | $(python3 -c "print(f'{$(kv bytes "$l")/1e6:.1f}')") | $(kv conns "$l") | $(kv seconds "$l") | $(kv msgs_per_s "$l") |"
done <<<"$(rows fill)"
echo
echo "| server | messages | response MB | cold SELECT ms | cold FETCH s | warm FETCH s (p50) | warm min | warm max |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
while read -r l; do
	[[ -n $l ]] || continue
	echo "| $(kv server "$l") | $(kv messages "$l") | $(python3 -c "print(f'{$(kv response_bytes "$l")/1e6:.1f}')") | $(kv select_ms "$l") | $(kv first_s "$l") | $(kv warm_p50_s "$l") | $(kv warm_min_s "$l") | $(kv warm_max_s "$l") |"
done <<<"$(rows envelope)"
echo
echo "| server | message bytes | messages | commands | MB/run | s (p50) | MB/s | server RSS before kB | peak kB |"
echo "|---|---:|---:|---|---:|---:|---:|---:|---:|"
while read -r l; do
	[[ -n $l ]] || continue
	cmd="one per message"
	[[ $(kv range "$l") == 1 ]] && cmd="FETCH 1:*"
	echo "| $(kv server "$l") | $(kv size "$l") | $(kv messages "$l") | $cmd | $(python3 -c "print(f'{$(kv bytes_per_run "$l")/1e6:.1f}')") | $(kv p50_s "$l") | $(kv mb_per_s "$l") | $(kv rss_before_kb "$l") | $(kv rss_peak_kb "$l") |"
done <<<"$(rows body)"
echo
echo "| server | query | matches | cold s | warm s (p50) | warm min | warm max |"
echo "|---|---|---:|---:|---:|---:|---:|"
while read -r l; do
	[[ -n $l ]] || continue
	echo "| $(kv server "$l") | $(kv key "$l") $(kv value "$l") | $(kv matches "$l") | $(kv first_s "$l") | $(kv warm_p50_s "$l") | $(kv warm_min_s "$l") | $(kv warm_max_s "$l") |"
done <<<"$(rows search)"
echo
rows search_check
rows envelope_check
rows rss
grep '^server=none test=machine' "$RESULTS"
echo "raw results: $RESULTS"
