# Shared by record-cases.sh and record-founding.sh (sourced, not run): the private-namespace
# loopback set-up with a tcpdump already listening, and the outer step that runs one recording
# in a fresh namespace and copies it into Fixtures/ with its tshark view.
# Expects HOST, PORT, FIX and (outside) SCRATCH to be set by the sourcing script.

# Inside the namespace: lo as an Ethernet-sized link, tcpdump started and listening.
# Sets OUT (the capture file) and CAPPID; $1 = work directory.
netns_start_capture() {
    WORK="$1"
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
}

wait_for() { # $1 = file, $2 = word, $3 = tries of 0.1 s
    for _ in $(seq "$3"); do grep -q "$2" "$1" && return 0; sleep 0.1; done
    echo "timed out waiting for $2 in $1" >&2; cat "$1" >&2; return 1
}

stop_capture() { # $1 = seconds to let the last segments arrive (default 1)
    sleep "${1:-1}"
    kill -INT "$CAPPID"
    wait "$CAPPID" || true
}

tshark_fields() { # $1 = capture, $2 = output
    tshark -r "$1" -Y smtp -T fields \
        -e frame.number -e tcp.stream -e smtp.req.command \
        -e smtp.req.parameter -e smtp.response.code -E separator=/t -E aggregator='|' >"$2"
}

# Outside: records step $2 as Fixtures/$1-$2.pcap by running the sourcing script ($0) with
# --in-netns in a new network namespace. Sets W (the step's work directory) for the caller.
record_step() { # $1 = file prefix, $2 = step
    local step="$2" f="$1-$2.pcap"
    W="$SCRATCH/$step"
    rm -rf "$W"; mkdir -p "$W"
    echo "== recording $f"
    timeout 90 unshare --net bash "$0" --in-netns "$W" "$step"
    [[ "$(capinfos -c -M "$W/capture" | sed -n 's/^Number of packets: *//p')" -gt 0 ]] \
        || { echo "$f: no packets captured" >&2; cat "$W/cap.err" >&2; exit 1; }
    cp "$W/capture" "$FIX/$f"
    chmod 644 "$FIX/$f"
    tshark_fields "$FIX/$f" "$FIX/$f.tshark.txt"
    capinfos -c -E -s "$FIX/$f" | sed -n '2,$p'
    [[ -z "$(tshark -r "$FIX/$f" -Y 'tcp.flags.reset==1' -T fields -e frame.number)" ]] \
        || echo "WARNING: $f contains RST frames" >&2
}

# Outside: stop with a one-line message unless we are root and have every tool named (and
# Python's aiosmtpd). $1 = the script's name for messages, rest = commands needed.
require_recording_tools() {
    local name="$1"; shift
    [[ $EUID -eq 0 ]] || { echo "$name must run as root" >&2; exit 1; }
    local t
    for t in "$@"; do
        command -v "$t" >/dev/null || { echo "missing tool: $t" >&2; exit 1; }
    done
    python3 -c 'import aiosmtpd' 2>/dev/null || { echo "missing python module aiosmtpd" >&2; exit 1; }
}
