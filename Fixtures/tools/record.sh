#!/usr/bin/env bash
# record.sh - record the SMTP packet-capture fixtures in Fixtures/.
#
# Usage:  bash Fixtures/tools/record.sh [STEP...]
#   STEP is any of: ipv4-ethernet ipv6-ethernet sll sll2 pcapng relink
#                   reordered two-sessions      (default: all of them)
#   Must run as root (network namespace, tcpdump, nft, tc).
#
# What it does, for each capture:
#   * enters a private network namespace (`unshare --net`) in which only
#     `lo` exists, sets lo's MTU to 1500 (Ethernet-sized segments) and turns
#     off TSO/GSO/GRO on lo so that every TCP segment is captured as it
#     would appear on an Ethernet wire (no 64 KB super-frames);
#   * starts tcpdump (or dumpcap) with `-s 0`, waits for "listening on"
#     (dumpcap: "Capturing on") on its stderr;
#   * starts Fixtures/tools/smtpd.py (aiosmtpd) on a loopback address and
#     waits for it to print READY;
#   * runs swaks as the client with fixed addresses and headers (Date and
#     Message-Id are fixed too, so the message text is identical every run);
#   * waits for the server to exit, sleeps 0.5 s, stops the capture with
#     SIGINT and copies the file into Fixtures/;
#   * writes F.tshark.txt next to every capture F (expected values for tests):
#       tshark -r F -Y smtp -T fields -e frame.number -e tcp.stream \
#         -e smtp.req.command -e smtp.req.parameter -e smtp.response.code
#     (tab-separated; several response codes in one frame are joined by '|').
#
# Nothing ever leaves the namespace: every socket is on 127.0.0.1 or ::1.
# Every server/capture/client runs under `timeout`.  Re-running overwrites
# the fixtures with fresh recordings (timestamps, client ports, ISNs and,
# for reordered.pcap, frame numbers can differ from run to run, so re-run
# only when you mean to regenerate and then commit the .tshark.txt files
# and README.linklayers.md facts together with the captures).
#
# Requirements (Debian 12): tcpdump tshark swaks nftables iproute2 ethtool
# python3 with aiosmtpd (`pip install aiosmtpd`).
#
# Steps and what they produce:
#   ipv4-ethernet  tcpdump -i lo, 127.0.0.1:25, 1 session     -> ipv4-ethernet.pcap
#   ipv6-ethernet  tcpdump -i lo, [::1]:2525, 1 session, 2 rcpt -> ipv6-ethernet.pcap
#   sll            tcpdump -i any -y LINUX_SLL, 127.0.0.1:25  -> sll.pcap
#   sll2           tcpdump -i any -y LINUX_SLL2, 127.0.0.1:25 -> sll2.pcap
#   pcapng         dumpcap -i lo (native pcapng), 127.0.0.1:25 -> ipv4.pcapng
#   relink         tcpdump -i lo, 127.0.0.1:25 -> (temporary base capture)
#                  then tools/relink.py vlan|qinq|null|raw
#                  -> vlan.pcap qinq.pcap null-loopback.pcap raw-ip.pcap
#   reordered      tcpdump -i lo, 127.0.0.1:25, ~20 KB body; inside the
#                  namespace an nft input-hook rule drops one client data
#                  segment after tcpdump saw it, so the kernel really
#                  retransmits it (fast retransmission).  Then
#                  tools/reorder.py swaps two consecutive client data
#                  segments (out-of-order) and inserts one overlapping
#                  retransmission (half of one segment + half of the next,
#                  same bytes)                                -> reordered.pcap
#                  (real reordering on lo was tried with an htb qdisc
#                  holding one segment, but the sending socket does not
#                  overtake its own queued segment, so no reordering shows)
#   two-sessions   tcpdump -i lo, 127.0.0.1:25, swaks twice   -> two-sessions.pcap
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
FIX="$(cd "$HERE/.." && pwd)"
SMTPD="$HERE/smtpd.py"
RELINK="$HERE/relink.py"

FIXED_DATE="Mon, 01 Jan 2024 12:00:00 +0000"

# ---------------------------------------------------------------- in netns --
if [[ "${1:-}" == "--in-netns" ]]; then
    shift
    WORK="$1"; shift            # scratch dir (outside Fixtures)
    CAPTOOL="$1"; shift         # tcpdump-lo | tcpdump-sll | tcpdump-sll2 | dumpcap
    OUTFILE="$1"; shift         # capture file to write (in WORK)
    HOST="$1"; shift            # server address (127.0.0.1 or ::1)
    PORT="$1"; shift
    NSESS="$1"; shift           # sessions the server waits for
    SHAPE="$1"; shift           # none | reorder
    # remaining args: one or more swaks argument lists separated by '--next'

    ip link set lo mtu 1500 up
    # TCP on Linux always builds GSO super-packets; limiting lo to one
    # segment per skb makes netfilter/tc see the same segments tcpdump sees.
    ip link set dev lo gso_max_segs 1
    sysctl -qw net.ipv4.tcp_autocorking=0 || true
    ethtool -K lo tso off gso off gro off >/dev/null 2>&1 || true

    if [[ "$SHAPE" == reorder ]]; then
        # nft input hook (i.e. after tcpdump has seen the frame leave on lo)
        # drops the 9th large client->server data segment once: the server
        # never receives it, answers the following segments with SACK dup
        # ACKs and the client's kernel retransmits it -> a real (fast)
        # retransmission, the same bytes twice in the capture.
        nft -f - <<EOF
table inet fixture {
    chain in {
        type filter hook input priority 0; policy accept;
        tcp dport $PORT meta length > 1000 numgen inc mod 100000 8 counter drop
    }
}
EOF
    fi

    FILTER="tcp port $PORT"
    case "$CAPTOOL" in
        tcpdump-lo)   CAP=(tcpdump -i lo -s 0 -U -Z root -w "$OUTFILE" "$FILTER"); READY="listening on" ;;
        tcpdump-sll)  CAP=(tcpdump -i any -y LINUX_SLL -s 0 -U -Z root -w "$OUTFILE" "$FILTER"); READY="listening on" ;;
        tcpdump-sll2) CAP=(tcpdump -i any -y LINUX_SLL2 -s 0 -U -Z root -w "$OUTFILE" "$FILTER"); READY="listening on" ;;
        dumpcap)      CAP=(dumpcap -i lo -s 0 -q -w "$OUTFILE" -f "$FILTER"); READY="Capturing on" ;;
        *) echo "unknown capture tool $CAPTOOL" >&2; exit 2 ;;
    esac
    timeout 30 "${CAP[@]}" 2>"$WORK/cap.err" &
    CAPPID=$!
    for _ in $(seq 100); do grep -q "$READY" "$WORK/cap.err" && break; sleep 0.1; done
    grep -q "$READY" "$WORK/cap.err" || { cat "$WORK/cap.err" >&2; exit 1; }

    timeout 30 python3 "$SMTPD" "$HOST" "$PORT" "$NSESS" 25 >"$WORK/srv.out" 2>"$WORK/srv.err" &
    SRVPID=$!
    for _ in $(seq 100); do grep -q READY "$WORK/srv.out" && break; sleep 0.1; done
    grep -q READY "$WORK/srv.out" || { cat "$WORK/srv.err" >&2; exit 1; }

    # run each swaks invocation (argument groups separated by --next)
    n=0
    args=()
    run_swaks() {
        n=$((n + 1))
        timeout 30 swaks --server "$HOST" --port "$PORT" "${args[@]}" >"$WORK/swaks.$n.out" 2>&1
        sleep 0.2
    }
    for a in "$@"; do
        if [[ "$a" == --next ]]; then run_swaks; args=(); else args+=("$a"); fi
    done
    run_swaks

    wait "$SRVPID" || true
    sleep 0.5
    kill -INT "$CAPPID"
    wait "$CAPPID" || true
    if [[ "$SHAPE" == reorder ]]; then
        nft list ruleset >"$WORK/nft.rules"
    fi
    exit 0
fi

# ---------------------------------------------------------------- outside --
[[ $EUID -eq 0 ]] || { echo "record.sh must run as root" >&2; exit 1; }
for t in tcpdump dumpcap tshark capinfos swaks nft ethtool unshare python3; do
    command -v "$t" >/dev/null || { echo "missing tool: $t" >&2; exit 1; }
done
python3 -c 'import aiosmtpd' 2>/dev/null || { echo "missing python module aiosmtpd (pip install aiosmtpd)" >&2; exit 1; }

SCRATCH="$(mktemp -d /tmp/smtp-fixtures.XXXXXX)"
trap 'rm -rf "$SCRATCH"' EXIT

# Common swaks options: sender, helo, fixed Date.
common() {
    # $1 = fixture tag used in Subject/Message-Id; $2 = body file
    printf '%s\n' --helo client.example.org --from alice@example.org \
        --header "Date: $FIXED_DATE" \
        --header "Subject: fixture $1" \
        --header "Message-Id: <$1@client.example.org>" \
        --body "@$2"
}

body() { # $1 = file, $2 = fixture tag
    printf 'Hello,\r\nthis is the smtp-trace "%s" fixture.\r\n\r\n-- \r\nAlice\r\n' "$2" >"$1"
}

# record NAME CAPTOOL HOST PORT NSESS SHAPE -- swaks args...
record() {
    local name="$1" captool="$2" host="$3" port="$4" nsess="$5" shape="$6"
    shift 6
    local w="$SCRATCH/$name"
    rm -rf "$w"; mkdir -p "$w"
    echo "== recording $name ($captool, $host port $port)"
    timeout 60 unshare --net bash "$0" --in-netns "$w" "$captool" "$w/capture" \
        "$host" "$port" "$nsess" "$shape" "$@"
    for f in "$w"/swaks.*.out; do
        grep -q '^<-  250 2.0.0 Ok: queued' "$f" || { echo "swaks did not deliver ($f):" >&2; cat "$f" >&2; exit 1; }
    done
}

tshark_fields() { # $1 = capture, $2 = output
    tshark -r "$1" -d tcp.port==2525,smtp -Y smtp -T fields \
        -e frame.number -e tcp.stream -e smtp.req.command \
        -e smtp.req.parameter -e smtp.response.code -E separator=/t -E aggregator='|' >"$2"
}

publish() { # $1 = scratch capture, $2 = fixture name
    cp "$1" "$FIX/$2"
    chmod 644 "$FIX/$2"
    tshark_fields "$FIX/$2" "$FIX/$2.tshark.txt"
    capinfos -t -E -c -s "$FIX/$2" | sed -n '2,$p'
}

# Regenerate Fixtures/README.linklayers.md from the captures present.
how() {
    case "$1" in
    ipv4-ethernet.pcap) echo 'record.sh step ipv4-ethernet: `tcpdump -i lo -s 0 -U -w F "tcp port 25"`; swaks → aiosmtpd on 127.0.0.1:25; alice@example.org → bob@example.net, Subject "fixture ipv4-ethernet"' ;;
    ipv6-ethernet.pcap) echo 'record.sh step ipv6-ethernet: `tcpdump -i lo -s 0 -U -w F "tcp port 2525"`; swaks -6 → aiosmtpd on [::1]:2525; RCPT bob@example.net and carol@example.net (decode with `-d tcp.port==2525,smtp`)' ;;
    sll.pcap)  echo 'record.sh step sll: `tcpdump -i any -y LINUX_SLL -s 0 -U -w F "tcp port 25"`; 127.0.0.1:25' ;;
    sll2.pcap) echo 'record.sh step sll2: `tcpdump -i any -y LINUX_SLL2 -s 0 -U -w F "tcp port 25"`; 127.0.0.1:25' ;;
    ipv4.pcapng) echo 'record.sh step pcapng: `dumpcap -i lo -s 0 -q -w F -f "tcp port 25"` (native pcapng: SHB, IDB, EPBs); 127.0.0.1:25' ;;
    vlan.pcap) echo 'record.sh step relink: loopback recording (127.0.0.1:25, Subject "fixture relink") rewritten by `relink.py vlan IN F --vid 100`: 802.1Q tag TPID 0x8100 VID 100 inserted after the MACs' ;;
    qinq.pcap) echo 'record.sh step relink: same recording, `relink.py qinq IN F --outer-vid 200 --inner-vid 100`: 802.1ad TPID 0x88a8 VID 200, then 802.1Q TPID 0x8100 VID 100' ;;
    null-loopback.pcap) echo 'record.sh step relink: same recording, `relink.py null IN F`: Ethernet header replaced by 4-byte little-endian AF 2 (AF_INET)' ;;
    raw-ip.pcap) echo 'record.sh step relink: same recording, `relink.py raw IN F`: Ethernet header stripped, file header link type 101 (LINKTYPE_RAW), tshark reads it as "Raw IP"' ;;
    reordered.pcap) echo 'record.sh step reordered: `tcpdump -i lo` on 127.0.0.1:25 with a 20,100-byte body (300 lines of 67 bytes "Line NNN: ..."); nft input rule drops the 9th large client segment once (real kernel retransmission), then `reorder.py IN F --swap 2986 --overlap 8282 --overlap-after 3`' ;;
    two-sessions.pcap) echo 'record.sh step two-sessions: `tcpdump -i lo` on port 25, swaks run twice (different client ports); session 1 RCPT bob@example.net, session 2 RCPT bob@example.net and carol@example.net' ;;
    *) echo '?' ;;
    esac
}

write_notes() {
    local n="$FIX/README.linklayers.md" f b lt pk ss
    {
        echo "# Capture fixtures: link layers and how they were made"
        echo
        echo "Generated by \`Fixtures/tools/record.sh\` (re-run it to regenerate everything; it"
        echo "rewrites this file).  All traffic is real: swaks (client) talking to aiosmtpd"
        echo "(\`tools/smtpd.py\`, greeting \`220 mx.example.net ESMTP smtp-trace fixture server\`,"
        echo "multi-line EHLO 250 with SIZE/8BITMIME/HELP, \`250 2.0.0 Ok: queued as FIXTUREn\`)"
        echo "on loopback inside a private network namespace, lo MTU 1500, TSO/GSO off and gso_max_segs 1,"
        echo "so data segments are at most 1448 bytes of payload (MSS 1460 minus TCP timestamps)."
        echo "Every session: EHLO client.example.org, MAIL FROM:<alice@example.org>, RCPT TO:<bob@example.net>"
        echo "(plus <carol@example.net> where noted), DATA with fixed Date \`$FIXED_DATE\`,"
        echo "\`Subject: fixture TAG\`, \`Message-Id: <TAG@client.example.org>\`, QUIT; full handshake and FIN close."
        echo "TAG is the file's base name (ipv4.pcapng: ipv4-pcapng; rewritten files: relink; two-sessions: two-sessions-1/-2)."
        echo "TCP checksums in loopback captures are not valid (checksum offload on lo); IP header checksums are."
        echo "Expected SMTP values per capture: \`F.tshark.txt\` (tshark -Y smtp -T fields frame.number, tcp.stream,"
        echo "smtp.req.command, smtp.req.parameter, smtp.response.code; tab-separated)."
        echo
        echo "| file | how it was made | link type | packets | TCP sessions |"
        echo "| --- | --- | --- | --- | --- |"
        for f in ipv4-ethernet.pcap ipv6-ethernet.pcap sll.pcap sll2.pcap ipv4.pcapng vlan.pcap qinq.pcap null-loopback.pcap raw-ip.pcap reordered.pcap two-sessions.pcap; do
            [[ -f "$FIX/$f" ]] || continue
            lt="$(capinfos -E "$FIX/$f" | sed -n 's/^File encapsulation: *//p')"
            case "$lt" in
                Ethernet) lt="EN10MB (1), Ethernet" ;;
                "Linux cooked-mode capture v1") lt="LINUX_SLL (113)" ;;
                "Linux cooked-mode capture v2") lt="LINUX_SLL2 (276)" ;;
                NULL/Loopback) lt="NULL (0), BSD loopback" ;;
                "Raw IP") lt="RAW (101)" ;;
            esac
            [[ "$f" == *.pcapng ]] && lt="pcapng, $lt"
            pk="$(capinfos -c -M "$FIX/$f" | sed -n 's/^Number of packets: *//p')"
            ss="$(tshark -r "$FIX/$f" -T fields -e tcp.stream 2>/dev/null | sort -u | grep -c .)"
            echo "| $f | $(how "$f") | $lt | $pk | $ss |"
        done
        if [[ -f "$FIX/reordered.pcap" ]]; then
            echo
            echo "## reordered.pcap details"
            echo
            echo "Client data segments (frame, relative seq, length, tshark expert info):"
            echo
            echo '```'
            tshark -r "$FIX/reordered.pcap" -Y 'tcp.dstport==25 && tcp.len>0' -T fields \
                -e frame.number -e tcp.seq -e tcp.len -e _ws.expert.message -E aggregator='; ' 2>/dev/null
            echo '```'
            echo
            echo "Frames flagged by \`tshark -Y 'tcp.analysis.out_of_order || tcp.analysis.retransmission'\`:"
            echo "$(tshark -r "$FIX/reordered.pcap" -Y 'tcp.analysis.out_of_order || tcp.analysis.retransmission' -T fields -e frame.number 2>/dev/null | paste -sd, -)."
            echo
            echo "- Real kernel behaviour: the segment at relative seq 11178 was captured leaving lo and then"
            echo "  dropped by an nft input-hook rule; the client's kernel retransmitted it (identical bytes)"
            echo "  after SACK dup ACKs: the later frame with seq 11178 is that retransmission."
            echo "- Rewritten by reorder.py: the segments at relative seq 2986 and 4434 were swapped"
            echo "  (4434 is seen first; 2986 is the out-of-order one), and one extra segment was inserted"
            echo "  covering the second half of seq 8282 and the first half of seq 9730 (relative seq 9006,"
            echo "  1448 bytes, same bytes, correct IP/TCP checksums).  tshark calls that one out-of-order or"
            echo "  (spurious) retransmission depending on the capture's timing."
            echo "- The reassembled client stream is intact: \`tshark -r reordered.pcap -q -z follow,tcp,ascii,0\`"
            echo "  shows the whole message (300 lines, \"Line 001\" .. \"Line 300\"), 20419 client bytes in total."
        fi
        echo
        echo "Things that did not work on this kernel and what was done instead: no VLAN module (VLAN/QinQ"
        echo "tags are added by relink.py to a real loopback recording), no BSD loopback or raw-IP link type on"
        echo "Linux lo (relink.py null/raw rewrite the same recording), no netem; an htb qdisc holding one"
        echo "segment did not reorder (the sending socket does not overtake its own queued segment), so the"
        echo "out-of-order part of reordered.pcap is rewritten while its retransmission is real."
    } >"$n"
}

STEPS=("$@")
[[ ${#STEPS[@]} -gt 0 ]] || STEPS=(ipv4-ethernet ipv6-ethernet sll sll2 pcapng relink reordered two-sessions)

for step in "${STEPS[@]}"; do
    case "$step" in
    ipv4-ethernet)
        body "$SCRATCH/b.txt" ipv4-ethernet
        mapfile -t C < <(common ipv4-ethernet "$SCRATCH/b.txt")
        record ipv4-ethernet tcpdump-lo 127.0.0.1 25 1 none "${C[@]}" --to bob@example.net
        publish "$SCRATCH/ipv4-ethernet/capture" ipv4-ethernet.pcap ;;
    ipv6-ethernet)
        body "$SCRATCH/b.txt" ipv6-ethernet
        mapfile -t C < <(common ipv6-ethernet "$SCRATCH/b.txt")
        record ipv6-ethernet tcpdump-lo ::1 2525 1 none "${C[@]}" -6 --to bob@example.net,carol@example.net
        publish "$SCRATCH/ipv6-ethernet/capture" ipv6-ethernet.pcap ;;
    sll)
        body "$SCRATCH/b.txt" sll
        mapfile -t C < <(common sll "$SCRATCH/b.txt")
        record sll tcpdump-sll 127.0.0.1 25 1 none "${C[@]}" --to bob@example.net
        publish "$SCRATCH/sll/capture" sll.pcap ;;
    sll2)
        body "$SCRATCH/b.txt" sll2
        mapfile -t C < <(common sll2 "$SCRATCH/b.txt")
        record sll2 tcpdump-sll2 127.0.0.1 25 1 none "${C[@]}" --to bob@example.net
        publish "$SCRATCH/sll2/capture" sll2.pcap ;;
    pcapng)
        body "$SCRATCH/b.txt" ipv4-pcapng
        mapfile -t C < <(common ipv4-pcapng "$SCRATCH/b.txt")
        record pcapng dumpcap 127.0.0.1 25 1 none "${C[@]}" --to bob@example.net
        publish "$SCRATCH/pcapng/capture" ipv4.pcapng ;;
    relink)
        body "$SCRATCH/b.txt" relink
        mapfile -t C < <(common relink "$SCRATCH/b.txt")
        record relink tcpdump-lo 127.0.0.1 25 1 none "${C[@]}" --to bob@example.net
        base="$SCRATCH/relink/capture"
        python3 "$RELINK" vlan "$base" "$SCRATCH/vlan.pcap" --vid 100
        python3 "$RELINK" qinq "$base" "$SCRATCH/qinq.pcap" --outer-vid 200 --inner-vid 100
        python3 "$RELINK" null "$base" "$SCRATCH/null-loopback.pcap"
        python3 "$RELINK" raw  "$base" "$SCRATCH/raw-ip.pcap"
        for f in vlan qinq null-loopback raw-ip; do publish "$SCRATCH/$f.pcap" "$f.pcap"; done ;;
    reordered)
        # ~20 KB deterministic body: 300 numbered lines of 67 bytes.
        b="$SCRATCH/big.txt"
        : >"$b"
        for i in $(seq -w 1 300); do
            printf 'Line %s: the quick brown fox jumps over the lazy dog 0123456789.\r\n' "$i" >>"$b"
        done
        mapfile -t C < <(common reordered "$b")
        record reordered tcpdump-lo 127.0.0.1 25 1 reorder "${C[@]}" --to bob@example.net
        grep -q 'counter packets 1 ' "$SCRATCH/reordered/nft.rules" || {
            echo "reordered: nft drop rule did not fire:" >&2; cat "$SCRATCH/reordered/nft.rules" >&2; exit 1; }
        # DATA body starts at client relative seq 90; MSS 1448 and swaks'
        # 8 KB writes give segments at 90 1538 2986 4434 5882 7330(952 B)
        # 8282 9730 11178 ...  (11178 is the one dropped by nft above).
        python3 "$HERE/reorder.py" "$SCRATCH/reordered/capture" "$SCRATCH/reordered.pcap" \
            --swap 2986 --overlap 8282 --overlap-after 3
        publish "$SCRATCH/reordered.pcap" reordered.pcap
        echo "-- tshark analysis flags (frame, seq, len, flags):"
        tshark -r "$FIX/reordered.pcap" -Y 'tcp.analysis.out_of_order || tcp.analysis.retransmission' \
            -T fields -e frame.number -e tcp.seq -e tcp.len -e _ws.expert.message -E aggregator='|'
        for flag in tcp.analysis.out_of_order tcp.analysis.retransmission; do
            [[ -n "$(tshark -r "$FIX/reordered.pcap" -Y "$flag" -T fields -e frame.number)" ]] || {
                echo "reordered.pcap: tshark does not flag $flag" >&2; exit 1; }
        done ;;
    two-sessions)
        body "$SCRATCH/b1.txt" two-sessions-1
        body "$SCRATCH/b2.txt" two-sessions-2
        mapfile -t C1 < <(common two-sessions-1 "$SCRATCH/b1.txt")
        mapfile -t C2 < <(common two-sessions-2 "$SCRATCH/b2.txt")
        record two-sessions tcpdump-lo 127.0.0.1 25 2 none \
            "${C1[@]}" --to bob@example.net --next \
            "${C2[@]}" --to bob@example.net,carol@example.net
        publish "$SCRATCH/two-sessions/capture" two-sessions.pcap ;;
    *) echo "unknown step: $step" >&2; exit 2 ;;
    esac
done
write_notes
echo "done."
