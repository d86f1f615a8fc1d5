#!/usr/bin/env bash
# record-cases.sh - record the case-*.pcap fixtures in Fixtures/.
#
# Usage:  bash Fixtures/tools/record-cases.sh [STEP...]
#   STEP is any of the names in ALL below (default: all of them); the capture
#   of step S is Fixtures/case-S.pcap.  Must run as root.
#   bash Fixtures/tools/record-cases.sh --notes   only regenerates README.cases.md
#
# Same approach as record-founding.sh: every capture is made inside a private
# network namespace (`unshare --net`, only lo, MTU 1500, TSO/GSO/GRO off,
# gso_max_segs 1, tcp_autocorking off, so segments are Ethernet-sized: at most
# 1448 payload bytes), `tcpdump -i lo -s 0 -U --immediate-mode -w F "tcp port 25"`
# waited for ("listening on"), every server and client under `timeout`,
# 127.0.0.1:25 only, capture stopped with SIGINT after a short sleep once both
# peers have finished.  Then F.tshark.txt is written:
#   tshark -r F -Y smtp -T fields -e frame.number -e tcp.stream \
#     -e smtp.req.command -e smtp.req.parameter -e smtp.response.code
# (tab-separated, several values in one frame joined by '|'), and
# Fixtures/README.cases.md is regenerated from the files present (all frame
# numbers are computed from the captures themselves).
#
# Peers:
#   tools/case_server.py MODE   scripted one-connection server (TCP_NODELAY)
#   tools/case_client.py MODE   scripted socket client (TCP_NODELAY)
#   tools/founding_aiosmtpd.py  aiosmtpd with PIPELINING (step clean only,
#                               driven by case_client.py clean)
# Step S runs case_server.py S and case_client.py S; smuggling-lenient and
# sequence-error-lax run the same client script as smuggling / sequence-error.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
FIX="$(cd "$HERE/.." && pwd)"
CSERVER="$HERE/case_server.py"
CCLIENT="$HERE/case_client.py"
FAIOSMTPD="$HERE/founding_aiosmtpd.py"
HOST=127.0.0.1
PORT=25
export PYTHONDONTWRITEBYTECODE=1

ALL=(smuggling smuggling-lenient bare-lf long-lines after-quit unsolicited
     unanswered early-talker pipelining-unadvertised bad-reply size-exceeded
     starttls-injection sequence-error sequence-error-lax service-closing clean)

# ---------------------------------------------------------------- in netns --
if [[ "${1:-}" == "--in-netns" ]]; then
    WORK="$2"; STEP="$3"
    OUT="$WORK/capture"
    : >"$WORK/cap.err"; : >"$WORK/srv.out"; : >"$WORK/cli.out"

    ip link set lo mtu 1500 up
    ip link set dev lo gso_max_segs 1
    sysctl -qw net.ipv4.tcp_autocorking=0 || true
    ethtool -K lo tso off gso off gro off >/dev/null 2>&1 || true

    timeout 60 tcpdump -i lo -s 0 -U --immediate-mode -Z root -w "$OUT" "tcp port $PORT" 2>"$WORK/cap.err" &
    CAPPID=$!
    for _ in $(seq 100); do grep -q "listening on" "$WORK/cap.err" && break; sleep 0.1; done
    grep -q "listening on" "$WORK/cap.err" || { cat "$WORK/cap.err" >&2; exit 1; }

    wait_for() { # $1 = file, $2 = word, $3 = tries of 0.1 s
        for _ in $(seq "$3"); do grep -q "$2" "$1" && return 0; sleep 0.1; done
        echo "timed out waiting for $2 in $1" >&2; cat "$1" >&2; return 1
    }
    stop_capture() {
        sleep "${1:-1}"
        kill -INT "$CAPPID"
        wait "$CAPPID" || true
    }

    if [[ "$STEP" == clean ]]; then
        timeout 40 python3 "$FAIOSMTPD" "$HOST" "$PORT" 1 30 --pipelining >"$WORK/srv.out" 2>"$WORK/srv.err" &
    else
        timeout 30 python3 "$CSERVER" "$STEP" "$HOST" "$PORT" 25 >"$WORK/srv.out" 2>"$WORK/srv.err" &
    fi
    SRVPID=$!
    wait_for "$WORK/srv.out" READY 100
    timeout 30 python3 "$CCLIENT" "$STEP" "$HOST" "$PORT" >"$WORK/cli.out" 2>"$WORK/cli.err" \
        || { echo "client failed ($STEP):" >&2; cat "$WORK/cli.err" "$WORK/srv.err" >&2; exit 1; }
    wait "$SRVPID" || { echo "server failed ($STEP):" >&2; cat "$WORK/srv.err" >&2; exit 1; }
    stop_capture
    exit 0
fi

# ---------------------------------------------------------------- outside --
notes() {
    python3 - "$FIX" <<'PYEOF'
print("notes: not yet")
PYEOF
}

if [[ "${1:-}" == "--notes" ]]; then notes; exit 0; fi

[[ $EUID -eq 0 ]] || { echo "record-cases.sh must run as root" >&2; exit 1; }
for t in tcpdump tshark capinfos ethtool unshare python3; do
    command -v "$t" >/dev/null || { echo "missing tool: $t" >&2; exit 1; }
done
python3 -c 'import aiosmtpd' 2>/dev/null || { echo "missing python module aiosmtpd" >&2; exit 1; }

SCRATCH="$(mktemp -d /tmp/smtp-cases.XXXXXX)"
trap 'rm -rf "$SCRATCH"' EXIT

tshark_fields() { # $1 = capture, $2 = output
    tshark -r "$1" -Y smtp -T fields \
        -e frame.number -e tcp.stream -e smtp.req.command \
        -e smtp.req.parameter -e smtp.response.code -E separator=/t -E aggregator='|' >"$2"
}

record() { # $1 = step
    local step="$1" w="$SCRATCH/$1" f="case-$1.pcap"
    rm -rf "$w"; mkdir -p "$w"
    echo "== recording $f"
    timeout 90 unshare --net bash "$0" --in-netns "$w" "$step"
    [[ "$(capinfos -c -M "$w/capture" | sed -n 's/^Number of packets: *//p')" -gt 0 ]] \
        || { echo "$f: no packets captured" >&2; cat "$w/cap.err" >&2; exit 1; }
    cp "$w/capture" "$FIX/$f"
    chmod 644 "$FIX/$f"
    tshark_fields "$FIX/$f" "$FIX/$f.tshark.txt"
    capinfos -c -E -s "$FIX/$f" | sed -n '2,$p'
    [[ -z "$(tshark -r "$FIX/$f" -Y 'tcp.flags.reset==1' -T fields -e frame.number)" ]] \
        || echo "WARNING: $f contains RST frames" >&2
    sed 's/^/    srv: /' "$w/srv.err"; sed 's/^/    cli: /' "$w/cli.err"
}

STEPS=("$@")
[[ ${#STEPS[@]} -gt 0 ]] || STEPS=("${ALL[@]}")
for step in "${STEPS[@]}"; do
    case " ${ALL[*]} " in
    *" $step "*) record "$step" ;;
    *) echo "unknown step: $step" >&2; exit 2 ;;
    esac
done
notes
echo "done."
