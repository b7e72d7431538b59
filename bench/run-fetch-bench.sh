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
# snapshot; see bench/lib.sh). Must run as root (Dovecot's master wants
# it, and so do drop_caches and clear_refs). Servers are stopped by PID;
# nothing else is killed.
#
# Settings (environment), besides those of bench/lib.sh (SERVERS, BUILD,
# BUILD_DIR, SNAPSHOT, SNAPSHOT_DIR=/tmp/roost-fetch-src, DROP_CACHES,
# KEEP_TMP, OUT: here the dir for results.txt and the answers):
#   BIG=100000  FILL_CONNS=4  FILL_WINDOW=2  FILL_BATCH=20
#   ENV_RUNS=5  SEARCH_RUNS=5  BODY_RUNS=3
#   SMALL_COUNT=2000  SMALL_SIZE=4096
#   BIG_SIZES="10000000 50000000"  BIG_COUNTS="5 3"
#   SEARCH_QUERIES="TEXT:zyzzogeton:: TEXT:tangerine:: ..." (KEY:VALUE:
#     CHARSET:count name from `imap-fetch --mode info`)
#   COMPARE_WITH=<OUT of an earlier run>: compare this run's answers with
#     that run's answers of the servers not in SERVERS too (e.g. rerun
#     SERVERS=roost after a roost change, and check it against the
#     Dovecot answers of the full run)
set -euo pipefail

BENCH_NAME=run-fetch-bench
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
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
COMPARE_WITH=${COMPARE_WITH:-}

require_root
build_roost roost bench/imap-fetch
IMAP_FETCH=${IMAP_FETCH:-$BUILD_DIR/bench/imap-fetch}
[[ -x $IMAP_FETCH ]] || die "no $IMAP_FETCH"
check_servers
make_dirs roost-fetch-bench
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

after_stop() {
	[[ -f $TMP/roost.log ]] && cp "$TMP/roost.log" "$OUT/roost.log"
	[[ -f $TMP/dovecot.log ]] && cp "$TMP/dovecot.log" "$OUT/dovecot.log"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Dovecot's passwd-file format, read by both servers. {PLAIN}: the
# benchmark is about FETCH and SEARCH, not password hashing.
passwd_plain big >"$TMP/passwd"
chmod 644 "$TMP/passwd"

# ---- servers -------------------------------------------------------------
start_roost() {
	ROOST_DATA=$TMP/roost-data
	mkdir -p "$ROOST_DATA"
	cp "$TMP/passwd" "$ROOST_DATA/passwd"
	ROOST_PORT=${ROOST_PORT:-$(free_port)}
	roost_conf "[store]
max_message_size = 200M" >"$TMP/roost.conf"
	run_roost "$TMP/roost.conf"
}

start_dovecot() {
	dovecot_dirs
	DOVECOT_PORT=${DOVECOT_PORT:-$(free_port)}
	dovecot_conf roost-fetch-bench-dovecot 1000 >"$TMP/dovecot.conf"
	run_dovecot "$TMP/dovecot.conf"
}

# restart SERVER: stop it, drop the page cache, start it again: the next
# command it answers is cold.
restart() {
	stop_server "$1"
	drop_caches
	"start_$1"
}

fetchtool() {
	local server=$1; shift
	"$IMAP_FETCH" --host 127.0.0.1 --port "$(server_port "$server")" \
		--user big --pass "$PASSWORD" "$@"
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
	echo "server=none test=machine nproc=$(nproc) loadavg_start=\"$(loadavg)\""
	roost_source_line
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
echo "server=none test=machine loadavg_end=\"$(loadavg)\"" >>"$RESULTS"

# ---- summary -------------------------------------------------------------
fill_row() {
	echo "| $(kv server "$1") | $(kv mailbox "$1") | $(kv messages "$1") | $(mb "$(kv bytes "$1")") | $(kv conns "$1") | $(kv seconds "$1") | $(kv msgs_per_s "$1") |"
}
envelope_row() {
	echo "| $(kv server "$1") | $(kv messages "$1") | $(mb "$(kv response_bytes "$1")") | $(kv select_ms "$1") | $(kv first_s "$1") | $(kv warm_p50_s "$1") | $(kv warm_min_s "$1") | $(kv warm_max_s "$1") |"
}
body_row() {
	local cmd="one per message"
	[[ $(kv range "$1") == 1 ]] && cmd="FETCH 1:*"
	echo "| $(kv server "$1") | $(kv size "$1") | $(kv messages "$1") | $cmd | $(mb "$(kv bytes_per_run "$1")") | $(kv p50_s "$1") | $(kv mb_per_s "$1") | $(kv rss_before_kb "$1") | $(kv rss_peak_kb "$1") |"
}
search_row() {
	echo "| $(kv server "$1") | $(kv key "$1") $(kv value "$1") | $(kv matches "$1") | $(kv first_s "$1") | $(kv warm_p50_s "$1") | $(kv warm_min_s "$1") | $(kv warm_max_s "$1") |"
}
table fill fill_row \
	"| server | mailbox | messages | MB | connections | fill s | msgs/s |" \
	"|---|---|---:|---:|---:|---:|---:|"
table envelope envelope_row \
	"| server | messages | response MB | cold SELECT ms | cold FETCH s | warm FETCH s (p50) | warm min | warm max |" \
	"|---|---:|---:|---:|---:|---:|---:|---:|"
table body body_row \
	"| server | message bytes | messages | commands | MB/run | s (p50) | MB/s | server RSS before kB | peak kB |" \
	"|---|---:|---:|---|---:|---:|---:|---:|---:|"
table search search_row \
	"| server | query | matches | cold s | warm s (p50) | warm min | warm max |" \
	"|---|---|---:|---:|---:|---:|---:|"
echo
rows search_check
rows envelope_check
rows rss
grep '^server=none test=machine' "$RESULTS"
echo "raw results: $RESULTS"
