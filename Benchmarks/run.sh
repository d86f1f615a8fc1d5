#!/usr/bin/env bash
# Benchmarks/run.sh — time smtp-trace against the libpcap floor and tshark on generated captures,
# and check its findings against the generator's ground truth.
#
# usage: bash Benchmarks/run.sh [--sizes 1G,4G] [--runs 5] [--seed 42] [--no-tshark] [--quick]
#
#   --sizes LIST   capture sizes to generate and time, comma-separated (generate.c syntax:
#                  20M, 1G, 4G, ...). Default 1G,4G.
#   --runs N       timed runs per program and size, each set after one untimed warm-up run.
#                  Default 5. Sizes of 2G and more get at most 3, tshark at most 3.
#   --seed N       generator seed. Default 42.
#   --no-tshark    do not time tshark.
#   --quick        1G only and 3 runs (an explicit --sizes or --runs still wins).
#   -h, --help     this text.
#
# What it does, with no network and every command under a time limit (coreutils `timeout`):
#   1. builds Benchmarks/generate.c and Benchmarks/floor.c with cc -O2 into Benchmarks/out/, and
#      smtp-trace with `swift build -c release --experimental-lto-mode=full --static-swift-stdlib
#      --product smtp-trace --scratch-path .build-bench` (never .build, which belongs to whoever
#      develops in this tree; link-time optimisation and the static runtime as `make build`);
#   2. per size, generates Benchmarks/out/bench-<size>.pcap (+ .truth.json) with the seed, unless
#      it exists from the same seed and the same generate.c (recorded in bench-<size>.pcap.seed),
#      and puts it into the page cache as a read from disk leaves it (`read_from_disk`: its pages
#      dropped, then read once with cat), so that every program reads it from the page cache;
#   3. times, with `/usr/bin/time -f '%e %M'` (wall seconds, peak RSS KiB), after one warm-up
#      run each: the floor (a bare pcap_next_ex loop), `smtp-trace --threads 1 --json FILE > /dev/null`
#      (single-threaded: the figure the ratios use), then as many rounds of the floor and
#      smtp-trace back to back, in turn first (`paired`: each round's ratio, timed to the
#      microsecond, sees the same load on a shared machine), `smtp-trace --threads 2 --json FILE` (one
#      thread reads, deals connections out, applies the rules and writes; the other
#      reassembles and decodes), and
#      on the 1G file only tshark's SMTP dissection
#      (`tshark -n -r FILE -Y smtp -T fields -e frame.number -e smtp.req.command
#      -e smtp.response.code > /dev/null`);
#   4. prints a table of medians (seconds, MB/s with MB = 10^6 bytes of file, peak RSS MiB =
#      the largest of the timed runs), the ratios smtp-trace/floor (floor time / smtp-trace time:
#      the fraction of the floor's speed smtp-trace reaches; also from the fastest run of each, the
#      least disturbed on a shared machine, and the median of the paired rounds' ratios) and
#      tshark/smtp-trace (tshark time /
#      smtp-trace time: how many times faster smtp-trace is), and smtp-trace's RSS per size;
#   5. checks the warm-up run's JSON output of each size against the truth with
#      Benchmarks/compare-truth.py;
#   6. if `smtp-trace --help` offers --independent, times `smtp-trace --independent --json f1 f2`
#      on two 1G captures (seeds S and S+1) against the two run one after the other
#      (single-threaded each).
# Generated files, binaries, logs and the JSON outputs stay in Benchmarks/out/ (gitignored).
# Exit status: 0 all done and the findings equal the truth; 1 a findings difference or a failed
# step; 2 a usage error. Default options take about 6-8 minutes on 2 cores (first swift build
# excluded).
#
# For testing this script only: SMTP_TRACE_BIN=/path/to/smtp-trace skips the swift build and
# times that binary instead.

set -euo pipefail
# Decimal points in every number printed or read here (bash's EPOCHREALTIME follows LC_NUMERIC).
export LC_ALL=C
# The paired rounds time with EPOCHREALTIME (bash 5.0 and later; an older bash would take one
# from the environment as it is).
((BASH_VERSINFO[0] >= 5)) || { echo "run.sh: error: bash 5.0 or later is needed (EPOCHREALTIME)" >&2; exit 1; }

die() { echo "run.sh: error: $*" >&2; exit 1; }
warn() { echo "run.sh: warning: $*" >&2; }
usage_error() { echo "run.sh: $*; see: bash Benchmarks/run.sh --help" >&2; exit 2; }
usage() { sed -n '2,/^$/{/^#/!d;s/^# \{0,1\}//;p}' "$0" >&2; }

# ---------------------------------------------------------------- options
SIZES="1G,4G"; RUNS=5; SEED=42; TSHARK=1; QUICK=0; SIZES_SET=0; RUNS_SET=0
while (($#)); do
    case "$1" in
        --sizes) [[ $# -ge 2 ]] || usage_error "$1 needs a value"; SIZES=$2; SIZES_SET=1; shift 2 ;;
        --sizes=*) SIZES=${1#*=}; SIZES_SET=1; shift ;;
        --runs) [[ $# -ge 2 ]] || usage_error "$1 needs a value"; RUNS=$2; RUNS_SET=1; shift 2 ;;
        --runs=*) RUNS=${1#*=}; RUNS_SET=1; shift ;;
        --seed) [[ $# -ge 2 ]] || usage_error "$1 needs a value"; SEED=$2; shift 2 ;;
        --seed=*) SEED=${1#*=}; shift ;;
        --no-tshark) TSHARK=0; shift ;;
        --quick) QUICK=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage_error "unknown option '$1'" ;;
    esac
done
if ((QUICK)); then
    ((SIZES_SET)) || SIZES="1G"
    ((RUNS_SET)) || RUNS=3
fi
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || usage_error "--runs must be a positive integer, not '$RUNS'"
[[ $SEED =~ ^[0-9]+$ ]] || usage_error "--seed must be a non-negative integer, not '$SEED'"
IFS=, read -r -a SIZE_LIST <<< "${SIZES^^}"
((${#SIZE_LIST[@]})) || usage_error "--sizes is empty"
for s in "${SIZE_LIST[@]}"; do
    [[ $s =~ ^[1-9][0-9]*[KMG]$ ]] || usage_error "bad size '$s' in --sizes (like 20M, 1G, 4G)"
done

# ---------------------------------------------------------------- paths
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
[[ -f Package.swift && -f Benchmarks/generate.c && -f Benchmarks/floor.c ]] \
    || die "$ROOT does not look like the smtp-trace tree (Package.swift, Benchmarks/generate.c, floor.c)"
OUT=Benchmarks/out
mkdir -p "$OUT"
GEN=$OUT/generate
FLOOR=$OUT/floor
SCRATCH=.build-bench
TMPD=$(mktemp -d "${TMPDIR:-/tmp}/smtp-trace-bench.XXXXXX")
trap 'rm -rf "$TMPD"' EXIT
TIMEF=$TMPD/time
ERRF=$TMPD/stderr

# size label -> bytes (binary units, as generate.c reads them)
size_bytes() {
    local n=${1%?} u=${1: -1}
    case $u in K) echo $((n << 10)) ;; M) echo $((n << 20)) ;; G) echo $((n << 30)) ;; esac
}
mib() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }

# ---------------------------------------------------------------- machine
echo "== smtp-trace benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
cpu=$(grep -m1 '^model name' /proc/cpuinfo | sed 's/^[^:]*: *//' || true)
mem=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
echo "machine: $(nproc) CPUs (${cpu:-unknown model}), $mem RAM, $(uname -sr)$( [[ -r /etc/debian_version ]] && echo ", Debian $(cat /etc/debian_version)")"
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ $commit != unknown ]] && [[ -n $(git --no-optional-locks status --porcelain --untracked-files=no 2>/dev/null) ]]; then
    commit="$commit + uncommitted edits"
fi
echo "tree: $ROOT at $commit"
echo "options: sizes ${SIZE_LIST[*]}, runs $RUNS (at most 3 for sizes >= 2G and for tshark), seed $SEED, tshark $( ((TSHARK)) && echo on || echo off)"

# ---------------------------------------------------------------- tools
if [[ ! -x /usr/bin/time ]]; then
    if [[ $(id -u) == 0 ]] && command -v apt-get > /dev/null; then
        echo "installing GNU time (/usr/bin/time is missing): apt-get install -y time"
        timeout 300 apt-get install -y time > "$OUT/apt-time.log" 2>&1 \
            || die "apt-get install -y time failed, see $OUT/apt-time.log"
    else
        die "/usr/bin/time (GNU time) is missing; install it: apt-get install -y time"
    fi
fi
/usr/bin/time -f '%e %M' -o "$TIMEF" true && [[ $(tail -n 1 "$TIMEF") =~ ^[0-9.]+\ [0-9]+$ ]] \
    || die "/usr/bin/time is not GNU time (it must accept -f '%e %M' -o FILE)"
command -v timeout > /dev/null || die "coreutils timeout is missing"
command -v cc > /dev/null || die "no C compiler (cc)"
command -v python3 > /dev/null || die "python3 is missing (needed by Benchmarks/compare-truth.py)"
if [[ -z ${SMTP_TRACE_BIN:-} ]] && ! pkg-config --exists libpcap jemalloc 2> /dev/null; then
    die "libpcap-dev or libjemalloc-dev is missing (smtp-trace links both); run 'make build' once, or apt-get install -y libpcap-dev libjemalloc-dev pkg-config"
fi

echo
echo "== build"
timeout 120 cc -O2 -o "$GEN" Benchmarks/generate.c -lm || die "cc Benchmarks/generate.c failed"
timeout 120 cc -O2 -o "$FLOOR" Benchmarks/floor.c -lpcap \
    || die "cc Benchmarks/floor.c -lpcap failed (is libpcap-dev installed?)"
echo "cc -O2: $GEN, $FLOOR ($(cc --version | head -n 1))"
if [[ -n ${SMTP_TRACE_BIN:-} ]]; then
    TOOL=$SMTP_TRACE_BIN
    [[ -x $TOOL ]] || die "SMTP_TRACE_BIN=$TOOL is not executable"
    echo "smtp-trace: $TOOL (SMTP_TRACE_BIN; not built)"
else
    command -v swift > /dev/null || die "swift is not on PATH"
    # --skip-update: use the dependencies already checked out in .build-bench (no network).
    BUILD=(swift build -c release --experimental-lto-mode=full --static-swift-stdlib --product smtp-trace --scratch-path "$SCRATCH" --skip-update)
    echo "${BUILD[*]}  (log: $OUT/build.log; the first build takes a few minutes)"
    start=$SECONDS
    if ! timeout 1800 "${BUILD[@]}" > "$OUT/build.log" 2>&1; then
        tail -n 30 "$OUT/build.log" >&2
        die "swift build failed (full log: $OUT/build.log). If dependencies are missing from $SCRATCH, run the same command once without --skip-update, with network."
    fi
    TOOL=$("${BUILD[@]}" --show-bin-path)/smtp-trace
    [[ -x $TOOL ]] || die "built, but $TOOL is missing"
    echo "smtp-trace: $TOOL (built in $((SECONDS - start)) s; $(swift --version 2>/dev/null | head -n 1))"
fi
"$TOOL" --version > /dev/null 2>&1 || die "$TOOL --version fails"
echo "smtp-trace --version: $("$TOOL" --version 2>&1 | head -n 1)"
# Single-threaded timings (the issue's target) when the build has --threads; the second core
# is then measured on its own.
ONE_THREAD=(); TWO_THREADS=0
# (The help text is read whole first: `grep -q` on a pipe could end it early, and with
# pipefail a SIGPIPE would read as "not offered".)
TOOL_HELP=$("$TOOL" --help 2>&1 || true)
if grep -q -- '--threads' <<< "$TOOL_HELP"; then
    ONE_THREAD=(--threads 1); TWO_THREADS=1
fi

TSHARK_CMD=(tshark -n -r FILE -Y smtp -T fields -e frame.number -e smtp.req.command -e smtp.response.code)
if ((TSHARK)); then
    if command -v tshark > /dev/null; then
        echo "tshark: $(tshark --version 2>/dev/null | head -n 1)"
    else
        warn "tshark is not installed: not timed"; TSHARK=0
    fi
fi

# ---------------------------------------------------------------- helpers
# other_cpu: percent of all CPUs busy over one second (to warn when something else is running).
other_cpu() {
    local a b
    read -r -a a < <(grep '^cpu ' /proc/stat); sleep 1; read -r -a b < <(grep '^cpu ' /proc/stat)
    local busy=0 total=0 i d
    for i in 1 2 3 4 5 6 7 8; do
        d=$((b[i] - a[i])); total=$((total + d))
        [[ $i == 4 || $i == 5 ]] || busy=$((busy + d))   # 4 idle, 5 iowait
    done
    echo $(( total > 0 ? 100 * busy / total : 0 ))
}
# check_quiet WHAT: before timing, wait up to 60 s for the CPUs to be idle (< 10% busy, e.g. after
# someone else's build), then go on either way and say so.
check_quiet() {
    local busy waited=0
    busy=$(other_cpu)
    while ((busy > 10 && waited < 60)); do
        ((waited)) || echo "waiting up to 60 s for the CPUs to go quiet (${busy}% busy before timing $1)"
        sleep 4; waited=$((waited + 5)); busy=$(other_cpu)
    done
    if ((busy > 10)); then
        echo "note: the CPUs are still ${busy}% busy (other processes?): the timings of $1 may be slow"
    elif ((waited)); then
        echo "quiet after ${waited} s"
    fi
}

# generate LABEL SEED PCAP: make PCAP (+ .truth.json) unless it is there from the same seed and generator.
GEN_SHA=$(sha256sum Benchmarks/generate.c | cut -c1-16)
# read_from_disk FILE...: the files' pages in the page cache as a read from disk leaves them.
# How a file sits in the cache depends on how it got there: pages a program wrote (the
# generator) are held in small folios, pages read from disk in large ones (readahead; Linux 6.x
# on ext4 and XFS), which the kernel maps with one page-table entry per 2 MiB. Every program
# reads the latter faster (the floor 0.26 -> 0.24 s on the 1G file, smtp-trace 0.62 -> 0.59 s);
# dropping the files' pages and reading them once makes the figures independent of the files'
# history (DONTNEED drops clean pages only, hence the fsync first).
read_from_disk() {
    timeout 600 python3 - "$@" <<'PY'
import os, sys
for path in sys.argv[1:]:
    fd = os.open(path, os.O_RDONLY)
    os.fsync(fd)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    os.close(fd)
PY
    timeout 600 cat "$@" > /dev/null
}

generate() {
    local label=$1 seed=$2 pcap=$3
    local stamp="size $label seed $seed generate.c $GEN_SHA"
    if [[ -s $pcap && -s $pcap.truth.json && -f $pcap.seed && $(cat "$pcap.seed") == "$stamp" ]]; then
        echo "$pcap: exists (seed $seed), not regenerated"
        return
    fi
    rm -f "$pcap" "$pcap.truth.json" "$pcap.seed"
    local start=$SECONDS
    timeout 900 "$GEN" --size "$label" --seed "$seed" --out "$pcap.tmp" --truth "$pcap.truth.json.tmp" \
        || { rm -f "$pcap.tmp" "$pcap.truth.json.tmp"; die "generate --size $label --seed $seed failed"; }
    mv "$pcap.tmp" "$pcap"; mv "$pcap.truth.json.tmp" "$pcap.truth.json"
    echo "$stamp" > "$pcap.seed"
    sync "$pcap"   # write it out now, not while timing
    echo "$pcap: generated (--size $label --seed $seed) in $((SECONDS - start)) s"
}

# measure OUTFILE LIMIT CMD...: run CMD once under /usr/bin/time with stdout to OUTFILE; sets
# M_SEC and M_KIB. Returns CMD's status (124: timed out), with its stderr in $ERRF.
measure() {
    local out=$1 limit=$2; shift 2
    local rc=0
    /usr/bin/time -f '%e %M' -o "$TIMEF" timeout --kill-after=10 "$limit" "$@" > "$out" 2> "$ERRF" || rc=$?
    read -r M_SEC M_KIB < <(tail -n 1 "$TIMEF")
    return $rc
}

# median VALUE...: the median of the values (the mean of the middle two for an even count).
median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

declare -A MED MIN RSS TIMES
# bench NAME LABEL N LIMIT WARMUP_OUT CMD...: one warm-up run (stdout to WARMUP_OUT), then N timed
# runs (stdout to /dev/null); stores the median seconds and the largest peak RSS under NAME,LABEL.
# Returns non-zero (after printing why) if any run fails.
bench() {
    local name=$1 label=$2 n=$3 limit=$4 wout=$5; shift 5
    local rc=0 times=() maxk=0 i
    measure "$wout" "$limit" "$@" || rc=$?
    if ((rc)); then
        echo "  $name $label: FAILED (warm-up, exit $rc$( ((rc == 124)) && echo ", timed out after $limit s")): $(tail -n 3 "$ERRF" | tr '\n' ' ')"
        return 1
    fi
    local warm=$M_SEC
    for ((i = 1; i <= n; i++)); do
        measure /dev/null "$limit" "$@" || rc=$?
        if ((rc)); then
            echo "  $name $label: FAILED (run $i, exit $rc$( ((rc == 124)) && echo ", timed out after $limit s")): $(tail -n 3 "$ERRF" | tr '\n' ' ')"
            return 1
        fi
        times+=("$M_SEC")
        if ((M_KIB > maxk)); then maxk=$M_KIB; fi
    done
    MED[$name,$label]=$(median "${times[@]}")
    MIN[$name,$label]=$(printf '%s\n' "${times[@]}" | sort -g | head -n 1)
    RSS[$name,$label]=$maxk
    TIMES[$name,$label]="${times[*]}"
    printf '  %-11s %-4s warm-up %6s s; runs: %s s; median %s s; peak RSS %s MiB\n' \
        "$name" "$label" "$warm" "${times[*]}" "${MED[$name,$label]}" "$(mib "$maxk")"
}

# paired LABEL N PCAP FLOOR_LIMIT TOOL_LIMIT: N rounds of the floor and smtp-trace (one thread)
# back to back, each timed to the microsecond (bash's EPOCHREALTIME around the command), the
# floor first in odd rounds and second in even ones (so that whatever the first program leaves
# behind, warm caches or a changed clock speed, favours neither); stores the median of the
# rounds' ratios (floor s / smtp-trace s) and the rounds' ratios. The blocks above time all
# floor runs, then all smtp-trace runs: load on a shared machine that comes and goes between
# the blocks moves one program's median and not the other's. Within a round it meets both.
declare -A PAIRED PAIRS
# timed_once LIMIT CMD...: CMD once under the time limit, its output dropped and its stderr in
# $ERRF; sets T_SEC (seconds, to the microsecond). Returns CMD's status (124: timed out).
timed_once() {
    local limit=$1 t0 rc=0
    shift
    t0=$EPOCHREALTIME
    timeout --kill-after=10 "$limit" "$@" > /dev/null 2> "$ERRF" || rc=$?
    T_SEC=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.6f", b - a }')
    return $rc
}
paired() {
    local label=$1 n=$2 pcap=$3 floor_limit=$4 tool_limit=$5 i rc program order floor_s tool_s ratios=()
    for ((i = 1; i <= n; i++)); do
        if ((i % 2)); then order="floor tool"; else order="tool floor"; fi
        for program in $order; do
            rc=0
            if [[ $program == floor ]]; then
                timed_once "$floor_limit" "$FLOOR" "$pcap" || rc=$?
                floor_s=$T_SEC
            else
                timed_once "$tool_limit" "$TOOL" "${ONE_THREAD[@]}" --json "$pcap" || rc=$?
                tool_s=$T_SEC
            fi
            if ((rc != 0)); then
                echo "  paired $label: FAILED (round $i, $program, exit $rc$( ((rc == 124)) && echo ", timed out")): $(tail -n 3 "$ERRF" | tr '\n' ' ')"
                return 1
            fi
        done
        ratios+=("$(awk -v a="$floor_s" -v b="$tool_s" 'BEGIN { printf "%.3f", a / b }')")
    done
    PAIRS[$label]="${ratios[*]}"
    PAIRED[$label]=$(printf '%.3f' "$(median "${ratios[@]}")")
    printf '  paired      %-4s %s rounds of the floor and smtp-trace back to back, in turn first: ratios %s; median %s\n' \
        "$label" "$n" "${PAIRS[$label]}" "${PAIRED[$label]}"
}

# ---------------------------------------------------------------- per size
declare -A FILEB PKTS TRUTH
STATUS=0
TRUTH_FAILED=0
TSHARK_DONE=0
for label in "${SIZE_LIST[@]}"; do
    pcap=$OUT/bench-$label.pcap
    echo
    echo "== $label"
    generate "$label" "$SEED" "$pcap"
    bytes=$(stat -c %s "$pcap")
    FILEB[$label]=$bytes
    read_from_disk "$pcap"
    n=$RUNS
    if (($(size_bytes "$label") >= 2 << 30 && n > 3)); then n=3; fi
    echo "file: $bytes bytes, dropped from the page cache and read once (as from disk); $n timed runs per program"
    check_quiet "$label"
    # Time limits, generous: floor >= 50 MB/s, smtp-trace >= 10 MB/s, tshark >= 5 MB/s.
    bench floor "$label" "$n" $((60 + bytes / 50000000)) "$TMPD/floor.out" "$FLOOR" "$pcap" \
        || die "the floor failed on $pcap"
    read -r _ PKTS[$label] _ _ < "$TMPD/floor.out"
    jsonl=$OUT/bench-$label.smtp-trace.jsonl
    bench smtp-trace "$label" "$n" $((120 + bytes / 10000000)) "$jsonl" "$TOOL" "${ONE_THREAD[@]}" --json "$pcap" \
        || die "smtp-trace --json $pcap failed"
    paired "$label" "$n" "$pcap" $((60 + bytes / 50000000)) $((120 + bytes / 10000000)) \
        || die "the paired runs failed on $pcap"
    if ((TWO_THREADS)); then
        bench two-cores "$label" "$n" $((120 + bytes / 10000000)) "$TMPD/two.out" "$TOOL" --threads 2 --json "$pcap" \
            || die "smtp-trace --threads 2 --json $pcap failed"
        cmp -s "$TMPD/two.out" "$jsonl" || { echo "  $label: --threads 2 output DIFFERS from --threads 1"; STATUS=1; }
    fi
    # Ground truth, on the warm-up run's output.
    verdict=$(python3 Benchmarks/compare-truth.py "$jsonl" "$pcap.truth.json" 2>&1) || { TRUTH_FAILED=1; STATUS=1; }
    TRUTH[$label]=$verdict
    echo "  $label $verdict" | sed '2,$s/^/  /'
    if ((TSHARK)) && [[ $label == 1G ]]; then
        tn=$((n < 3 ? n : 3))
        cmd=("${TSHARK_CMD[@]}"); cmd[3]=$pcap
        if bench tshark "$label" "$tn" $((120 + bytes / 5000000)) /dev/null "${cmd[@]}"; then
            TSHARK_DONE=1
        else
            warn "tshark failed on $pcap; left out of the table"
        fi
    fi
done
if ((TSHARK)) && ! [[ " ${SIZE_LIST[*]} " == *" 1G "* ]]; then
    echo "tshark: not timed (it runs on the 1G file only, and 1G is not among --sizes)"
fi

# ---------------------------------------------------------------- table
num() { awk "BEGIN { printf \"$1\", $2 }"; }
cell() {   # cell NAME LABEL -> "seconds MB/s MiB" or dashes
    local k=$1,$2
    if [[ -n ${MED[$k]:-} ]]; then
        printf '%8.2f %7s %7s' "${MED[$k]}" \
            "$(awk -v b="${FILEB[$2]}" -v s="${MED[$k]}" 'BEGIN { if (s > 0) printf "%.0f", b / 1e6 / s; else printf "-" }')" \
            "$(mib "${RSS[$k]}")"
    else
        printf '%8s %7s %7s' - - -
    fi
}
echo
echo "== results (median of the timed runs; MB/s = file bytes / 10^6 / median s; RSS = largest peak of the timed runs)"
if ((TSHARK_DONE)); then
    echo "tshark command: ${TSHARK_CMD[*]} > /dev/null"
elif ((TSHARK)); then
    echo "tshark: not timed (it failed, or 1G is not among --sizes)"
else
    echo "tshark: not timed (--no-tshark or not installed)"
fi
printf '%-5s %9s %10s | %-24s | %-24s | %-24s\n' "" "file" "" "floor (pcap_next_ex)" "smtp-trace --json (1 core)" "tshark -Y smtp"
printf '%-5s %9s %10s | %8s %7s %7s | %8s %7s %7s | %8s %7s %7s\n' size MB packets s MB/s MiB s MB/s MiB s MB/s MiB
for label in "${SIZE_LIST[@]}"; do
    printf '%-5s %9s %10s | %s | %s | %s\n' "$label" "$(num '%.0f' "${FILEB[$label]} / 1e6")" "${PKTS[$label]}" \
        "$(cell floor "$label")" "$(cell smtp-trace "$label")" "$(cell tshark "$label")"
done
echo
echo "ratios:"
for label in "${SIZE_LIST[@]}"; do
    f=${MED[floor,$label]}; s=${MED[smtp-trace,$label]}
    line="  $label  smtp-trace/floor throughput $(awk -v f="$f" -v s="$s" 'BEGIN { printf "%.3f (%.1f%% of the floor speed; the floor is %.0fx faster)", f / s, 100 * f / s, s / f }')"
    # On a shared machine the fastest runs are the least disturbed: their ratio too.
    line+=" [fastest runs: $(awk -v f="${MIN[floor,$label]}" -v s="${MIN[smtp-trace,$label]}" 'BEGIN { printf "%.3f", f / s }');"
    line+=" paired rounds: ${PAIRED[$label]}]"
    if [[ -n ${MED[tshark,$label]:-} ]]; then
        line+="; tshark/smtp-trace time $(awk -v t="${MED[tshark,$label]}" -v s="$s" 'BEGIN { printf "%.2f (smtp-trace %.2fx as fast)", t / s, t / s }')"
    fi
    echo "$line"
done
rss_line="smtp-trace peak RSS by size:"
first=""
for label in "${SIZE_LIST[@]}"; do
    rss_line+="  $label $(mib "${RSS[smtp-trace,$label]}") MiB"
    [[ -n $first ]] || first=$label
done
if ((${#SIZE_LIST[@]} > 1)); then
    last=${SIZE_LIST[-1]}
    rss_line+="  (file x$(num '%.2f' "${FILEB[$last]} / ${FILEB[$first]}") from $first to $last, RSS x$(num '%.2f' "${RSS[smtp-trace,$last]} / ${RSS[smtp-trace,$first]}"))"
fi
echo "$rss_line"
if ((TWO_THREADS)); then
    line="one file on two cores (smtp-trace --threads 2 --json: reading, dealing out, rules and writing on one thread, reassembly and decoding on the other; same output):"
    for label in "${SIZE_LIST[@]}"; do
        line+="  $label $(printf '%.2f' "${MED[two-cores,$label]}") s, x$(num '%.2f' "${MED[smtp-trace,$label]} / ${MED[two-cores,$label]}"), $(mib "${RSS[two-cores,$label]}") MiB"
    done
    echo "$line"
fi
# The generator's half-open sessions (the founding case) never close, and a capture of a few
# minutes never reaches the 600 s idle timeout, so open connections grow with the file size.
# Run once more per size with a short idle timeout: what is left is memory per open connection.
rss_line="smtp-trace peak RSS with --idle-timeout 30 (half-open connections closed after 30 s of capture time):"
for label in "${SIZE_LIST[@]}"; do
    if measure "$TMPD/idle.out" $((120 + FILEB[$label] / 10000000)) "$TOOL" "${ONE_THREAD[@]}" --json --idle-timeout 30 "$OUT/bench-$label.pcap"; then
        RSS[idle,$label]=$M_KIB
        verdict=$(python3 Benchmarks/compare-truth.py "$TMPD/idle.out" "$OUT/bench-$label.pcap.truth.json" 2>&1) \
            && ok="findings equal the truth" || { ok="FINDINGS DIFFER"; STATUS=1; }
        rss_line+="  $label $(mib "$M_KIB") MiB ($ok)"
    else
        rss_line+="  $label FAILED"; STATUS=1
    fi
done
if ((${#SIZE_LIST[@]} > 1)) && [[ -n ${RSS[idle,$first]:-} && -n ${RSS[idle,$last]:-} ]]; then
    rss_line+="  (RSS x$(num '%.2f' "${RSS[idle,$last]} / ${RSS[idle,$first]}") from $first to $last)"
fi
echo "$rss_line"
echo
echo "ground truth (Benchmarks/compare-truth.py on each size's warm-up output):"
for label in "${SIZE_LIST[@]}"; do echo "  $label ${TRUTH[$label]}" | sed '2,$s/^/  /'; done

# ---------------------------------------------------------------- parallel
echo
if grep -q -- '--independent' <<< "$TOOL_HELP"; then
    echo "== parallel: smtp-trace --independent on two 1G captures (seeds $SEED and $((SEED + 1)))"
    p1=$OUT/bench-1G.pcap
    p2=$OUT/bench-1G-seed$((SEED + 1)).pcap
    generate 1G "$SEED" "$p1"
    generate 1G $((SEED + 1)) "$p2"
    read_from_disk "$p1" "$p2"
    pn=$((RUNS < 3 ? RUNS : 3))
    limit=$((240 + ($(stat -c %s "$p1") + $(stat -c %s "$p2")) / 10000000))
    check_quiet parallel
    # The sequential pair as one timed command; its RSS is the larger of the two runs.
    if bench sequential 2x1G "$pn" "$limit" /dev/null \
            bash -c '"$0" $3 --json "$1" > /dev/null && "$0" $3 --json "$2" > /dev/null' "$TOOL" "$p1" "$p2" "${ONE_THREAD[*]}" \
        && bench independent 2x1G "$pn" "$limit" /dev/null "$TOOL" --independent --json "$p1" "$p2"; then
        echo "parallel: one after the other ${MED[sequential,2x1G]} s, --independent ${MED[independent,2x1G]} s:" \
            "speed-up $(num '%.2f' "${MED[sequential,2x1G]} / ${MED[independent,2x1G]}")x on $(nproc) CPUs;" \
            "peak RSS $(mib "${RSS[sequential,2x1G]}") MiB vs $(mib "${RSS[independent,2x1G]}") MiB"
    else
        warn "the parallel measurement failed (see above); not counted as a benchmark failure"
    fi
else
    echo "parallel: not supported by this build (smtp-trace --help offers no --independent)"
fi

echo
if ((TRUTH_FAILED)); then
    echo "RESULT: the findings DIFFER from the ground truth (see above)"
elif ((TSHARK)) && ((!TSHARK_DONE)) && [[ " ${SIZE_LIST[*]} " == *" 1G "* ]]; then
    echo "RESULT: done; findings equal the ground truth; tshark failed (see above)"
else
    echo "RESULT: done; findings equal the ground truth"
fi
exit $STATUS
