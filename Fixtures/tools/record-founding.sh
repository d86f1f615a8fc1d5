#!/usr/bin/env bash
# record-founding.sh - record the founding-*.pcap fixtures in Fixtures/.
#
# Usage:  bash Fixtures/tools/record-founding.sh [STEP...]
#   STEP is any of: reply-during-data missing-helo missing-helo-accepted
#                   helo-trailing-dot ehlo-fallback ehlo-fallback-rset
#                   helo-trailing-space auth pipelining starttls bdat escape
#                   (default: all of them).  Must run as root.
#
# Same approach as tools/record.sh: every capture is made inside a private
# network namespace (`unshare --net`, only lo, MTU 1500, TSO/GSO/GRO off,
# gso_max_segs 1, so segments are Ethernet-sized: at most 1448 payload bytes),
# `tcpdump -i lo -s 0 -U --immediate-mode -w F "tcp port 25"` waited for
# ("listening on"; --immediate-mode because these sessions are over in
# well under a second and without it the kernel's packet block may not be
# handed to tcpdump before the SIGINT: 0 packets were written),
# every server and client under `timeout`, 127.0.0.1 only, capture stopped
# with SIGINT after a short sleep.  Then F.tshark.txt is written:
#   tshark -r F -Y smtp -T fields -e frame.number -e tcp.stream \
#     -e smtp.req.command -e smtp.req.parameter -e smtp.response.code
# (tab-separated, several reply codes in one frame joined by '|'),
# and Fixtures/README.founding.md is regenerated from the files present.
#
# Peers:
#   tools/founding_server.py MODE   scripted one-connection server (misbehaving
#                                   or unusual servers, BDAT, escapes)
#   tools/founding_client.py MODE   scripted socket client (no HELO, odd HELO,
#                                   BDAT, escapes, ignoring replies during DATA)
#   tools/founding_aiosmtpd.py      aiosmtpd (AUTH without TLS, PIPELINING,
#                                   STARTTLS), driven by swaks
# reply-during-data: the capture is stopped while server and client are still
# alive (connection half-open: server FIN sent, client never closes); only
# then are both killed, so neither the client's FIN nor any RST is captured.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
FIX="$(cd "$HERE/.." && pwd)"
source "$HERE/netns-recording.sh"
FSERVER="$HERE/founding_server.py"
FCLIENT="$HERE/founding_client.py"
FAIOSMTPD="$HERE/founding_aiosmtpd.py"
FIXED_DATE="Mon, 01 Jan 2024 12:00:00 +0000"
HOST=127.0.0.1
PORT=25

SCRIPTED=(missing-helo missing-helo-accepted helo-trailing-dot ehlo-fallback
          ehlo-fallback-rset helo-trailing-space bdat escape)
ALL=(reply-during-data "${SCRIPTED[@]}" auth pipelining starttls)

# ---------------------------------------------------------------- in netns --
if [[ "${1:-}" == "--in-netns" ]]; then
    STEP="$3"
    netns_start_capture "$2"
    start_aiosmtpd() { # $1 = sessions, rest = options
        local n="$1"; shift
        timeout 40 python3 "$FAIOSMTPD" "$HOST" "$PORT" "$n" 30 "$@" >"$WORK/srv.out" 2>"$WORK/srv.err" &
        SRVPID=$!
        wait_for "$WORK/srv.out" READY 100
    }
    swaks_run() { # $1 = tag, rest = extra swaks options
        local tag="$1"; shift
        printf 'Hello,\r\nthis is the smtp-trace "%s" fixture.\r\n\r\n-- \r\nAlice\r\n' "$tag" >"$WORK/body.$tag"
        timeout 30 swaks --server "$HOST" --port "$PORT" \
            --helo client.example.org --from alice@example.org \
            --header "Date: $FIXED_DATE" --header "Subject: fixture $tag" \
            --header "Message-Id: <$tag@client.example.org>" \
            --body "@$WORK/body.$tag" "$@" >"$WORK/swaks.$tag.out" 2>&1
        grep -Eq '^<[-~] +250 2.0.0 Ok: queued' "$WORK/swaks.$tag.out" \
            || { echo "swaks did not deliver ($tag):" >&2; cat "$WORK/swaks.$tag.out" >&2; exit 1; }
        sleep 0.2
    }

    case "$STEP" in
    reply-during-data)
        timeout 40 python3 "$FSERVER" reply-during-data "$HOST" "$PORT" 30 >"$WORK/srv.out" 2>"$WORK/srv.err" &
        SRVPID=$!
        wait_for "$WORK/srv.out" READY 100
        timeout 40 python3 "$FCLIENT" reply-during-data "$HOST" "$PORT" 30 >"$WORK/cli.out" 2>"$WORK/cli.err" &
        CLIPID=$!
        wait_for "$WORK/cli.out" STOPPED 200
        # both still alive, connection half-open; let the last ACKs go out
        stop_capture 1
        # only now end the peers (their exit may send FIN/RST: not captured)
        kill -TERM "$CLIPID" "$SRVPID" 2>/dev/null || true
        wait "$CLIPID" "$SRVPID" 2>/dev/null || true
        ;;
    auth)
        start_aiosmtpd 2 --auth
        swaks_run founding-auth-plain --to bob@example.net --auth PLAIN --auth-user alice --auth-password s3cret-Passw0rd
        swaks_run founding-auth-login --to bob@example.net --auth LOGIN --auth-user alice --auth-password s3cret-Passw0rd
        wait "$SRVPID" || true
        stop_capture
        ;;
    pipelining)
        start_aiosmtpd 1 --pipelining
        swaks_run founding-pipelining --to bob@example.net,carol@example.net --pipeline
        wait "$SRVPID" || true
        stop_capture
        ;;
    starttls)
        # throw-away self-signed certificate, in the scratch dir only
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -keyout "$WORK/key.pem" -out "$WORK/cert.pem" -days 2 \
            -subj "/CN=mx.example.net" >/dev/null 2>&1
        start_aiosmtpd 1 --tls "$WORK/cert.pem" "$WORK/key.pem"
        swaks_run founding-starttls --to bob@example.net --tls
        wait "$SRVPID" || true
        stop_capture
        ;;
    *)
        timeout 30 python3 "$FSERVER" "$STEP" "$HOST" "$PORT" 25 >"$WORK/srv.out" 2>"$WORK/srv.err" &
        SRVPID=$!
        wait_for "$WORK/srv.out" READY 100
        timeout 30 python3 "$FCLIENT" "$STEP" "$HOST" "$PORT" 25 >"$WORK/cli.out" 2>"$WORK/cli.err" \
            || { echo "client failed ($STEP):" >&2; cat "$WORK/cli.err" >&2; exit 1; }
        wait "$SRVPID" || true
        stop_capture
        ;;
    esac
    exit 0
fi

# ---------------------------------------------------------------- outside --
require_recording_tools record-founding.sh tcpdump tshark capinfos swaks ethtool unshare python3 openssl

SCRATCH="$(mktemp -d /tmp/smtp-founding.XXXXXX)"
trap 'rm -rf "$SCRATCH"' EXIT

record() { # $1 = step
    record_step founding "$1"
    case "$1" in
    reply-during-data) cat "$W/cli.out" "$W/srv.err" ;;
    esac
}

STEPS=("$@")
[[ ${#STEPS[@]} -gt 0 ]] || STEPS=("${ALL[@]}")
for step in "${STEPS[@]}"; do
    case " ${ALL[*]} " in
    *" $step "*) record "$step" ;;
    *) echo "unknown step: $step" >&2; exit 2 ;;
    esac
done
bash "$HERE/founding-notes.sh"
echo "done."
