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
source "$HERE/netns-recording.sh"
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
    STEP="$3"
    netns_start_capture "$2"

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
# README.cases.md generator (embedded in record-cases.sh; argv[1] = Fixtures dir)
import os, subprocess, sys
FIX = sys.argv[1]
os.chdir(FIX)

def frames(f):
    out = subprocess.run(["tshark", "-r", f, "-T", "fields", "-e", "frame.number", "-e", "tcp.srcport",
                          "-e", "tcp.flags.fin", "-e", "tcp.flags.reset", "-e", "tcp.payload"],
                         capture_output=True, text=True, check=True).stdout
    res = []
    for l in out.splitlines():
        n, sp, fin, rst, pl = (l.split("\t") + [""] * 5)[:5]
        res.append(dict(n=int(n), d="s" if sp == "25" else "c", fin=fin in ("1", "True"),
                        rst=rst in ("1", "True"), p=bytes.fromhex(pl) if pl else b""))
    return res

class F:
    def __init__(self, f):
        self.f, self.fr = f, frames(f)
    def find(self, d, sub, after=0, nth=1):
        k = 0
        for x in self.fr:
            if x["d"] == d and x["n"] > after and sub in x["p"]:
                k += 1
                if k == nth:
                    return x["n"]
        return "?"
    def c(self, sub, after=0, nth=1): return self.find("c", sub, after, nth)
    def s(self, sub, after=0, nth=1): return self.find("s", sub, after, nth)
    def start(self, d, prefix, after=0):
        for x in self.fr:
            if x["d"] == d and x["n"] > after and x["p"].startswith(prefix):
                return x["n"]
        return "?"
    def length(self, n):
        return len(self.fr[n - 1]["p"]) if isinstance(n, int) else "?"
    def close(self):
        fins = ",".join("%d(%s)" % (x["n"], x["d"]) for x in self.fr if x["fin"]) or "none"
        rsts = ",".join(str(x["n"]) for x in self.fr if x["rst"]) or "none"
        return "FIN %s; RST %s" % (fins, rsts)

def sequence(f):
    seq = []
    for l in open(f + ".tshark.txt"):
        p = (l.rstrip("\n").split("\t") + [""] * 5)[:5]
        if p[2]:
            seq.append("%s:%s" % (p[0], p[2]))
        elif p[4]:
            seq.append("%s:%s" % (p[0], p[4]))
    return " ".join(seq)

HOW = {
 "case-smuggling.pcap": "step smuggling: `case_client.py smuggling` → `case_server.py smuggling` (strict: only CRLF.CRLF ends DATA). After 354 the body goes in three writes 100 ms apart: (a) headers + text ending `Alice\\n.\\n`, (b) `MAIL FROM:<evil@example.org>\\r\\nRCPT TO:<victim@example.net>\\r\\nDATA\\r\\n` + a second message (From evil, To victim, Subject smuggled, text without final CRLF), (c) `\\r\\n.\\r\\n`; server answers once 250 (queued as CASE1); QUIT → 221",
 "case-smuggling-lenient.pcap": "step smuggling-lenient: the same client bytes → `case_server.py smuggling-lenient` (reads lines up to LF, accepts `\\n.\\n` as end of data): 250 right after (a), then 250/250/354 to the smuggled MAIL/RCPT/DATA in (b), 250 (queued as CASE2) after (c); QUIT → 221",
 "case-bare-lf.pcap": "step bare-lf: `EHLO client.example.org\\n`, `MAIL FROM:<alice@example.org>\\n`, `RCPT TO:<bob@example.net>\\n` (bare LF), `DATA\\r\\n`, message lines ending in bare LF plus `hello\\rworld\\r\\n` (bare CR inside), `.\\r\\n`, QUIT; lenient server (`case_server.py bare-lf`) accepts everything",
 "case-long-lines.pcap": "step long-lines: EHLO; NOOP → one 600-octet reply line (`250 2.0.0 Ok yyy…`, 598 + CRLF); MAIL; `RCPT TO:<` + 576 × `a` + `@example.net>` (600 octets with CRLF) → 501 5.5.4 Syntax error: line too long; RCPT bob → 250; DATA; message with one text line of 1200 octets (1198 digits + CRLF); QUIT",
 "case-after-quit.pcap": "step after-quit: EHLO, QUIT → 221; server shutdown(SHUT_WR) (FIN) and keeps reading ≤ 0.5 s; client waits for that FIN, then sends `NOOP\\r\\n` anyway (never answered), 50 ms later closes",
 "case-unsolicited.pcap": "step unsolicited: EHLO, NOOP → `250 2.0.0 Ok`, 20 ms later an extra `250 OK` answering nothing (own segment); then MAIL/RCPT/DATA/message/QUIT normally",
 "case-unanswered.pcap": "step unanswered: EHLO, `VRFY bob\\r\\n`; the server never answers, 0.3 s later shutdown(SHUT_WR) (FIN); the client sees the FIN and closes",
 "case-early-talker.pcap": "step early-talker: the client sends `EHLO client.example.org\\r\\n` right after connect(); the server waits 200 ms before its 220 greeting, then answers the EHLO; MAIL/RCPT/DATA/message/QUIT normally",
 "case-pipelining-unadvertised.pcap": "step pipelining-unadvertised: EHLO reply without PIPELINING (250-mx.example.net / 250-SIZE 10240000 / 250 8BITMIME); client sends MAIL+RCPT+DATA in ONE write; server answers 250, 250, 354 in order (separate segments); message; QUIT",
 "case-bad-reply.pcap": "step bad-reply: EHLO reply `250-mx.example.net\\r\\n251-SIZE 1000\\r\\n250 HELP\\r\\n` (one segment, codes disagree); NOOP answered by `Ok then\\r\\n` (no code), 20 ms later `250 OK\\r\\n` (second segment); QUIT",
 "case-size-exceeded.pcap": "step size-exceeded: EHLO advertises `250-SIZE 1000`; `MAIL FROM:<alice@example.org> SIZE=500`; message of exactly 3000 octets (before the terminating `.\\r\\n`) → 250 (accepted); QUIT",
 "case-starttls-injection.pcap": "step starttls-injection: EHLO advertises STARTTLS; client sends `STARTTLS\\r\\nRSET\\r\\n` in ONE write (CVE-2011-0411 pattern); server answers `220 2.0.0 Ready to start TLS`, throws the buffered RSET away and waits; no TLS: after 0.5 s the client sends QUIT in cleartext → 221 in cleartext; RSET never answered",
 "case-sequence-error.pcap": "step sequence-error: EHLO; RCPT bob before MAIL → 503 5.5.1 Error: need MAIL command; DATA (no MAIL, no RCPT) → 503 5.5.1 Error: need RCPT command; then MAIL/RCPT/DATA/message/QUIT normally",
 "case-sequence-error-lax.pcap": "step sequence-error-lax: same client script; lax server answers the RCPT before MAIL with 250 2.1.5 Ok; DATA (recipient but no MAIL) → 503 5.5.1 Error: need MAIL command; then MAIL/RCPT/DATA/message/QUIT normally",
 "case-service-closing.pcap": "step service-closing: EHLO, MAIL → 250; client idle; 300 ms later the server sends `421 4.4.2 mx.example.net Error: timeout exceeded` and shutdown(SHUT_WR) (FIN); no QUIT; the client closes too",
 "case-clean.pcap": "step clean: `case_client.py clean` → aiosmtpd (`founding_aiosmtpd.py --pipelining`: EHLO advertises PIPELINING, no AUTH); MAIL FROM with SIZE=<exact message size>, RCPT, DATA, short message with CRLF everywhere, QUIT → 221, FIN both ways",
}
ORDER = list(HOW)

def key(name, x):
    c, s = x.c, x.s
    if name == "case-smuggling.pcap":
        d = c(b"DATA\r\n"); m = s(b"354 ")
        a = c(b"\n.\n"); b = c(b"MAIL FROM:<evil@example.org>"); e = c(b"\r\n.\r\n", after=a)
        return (f"DATA in {d}; 354 in {m}; `\\n.\\n` (after `Alice`) ends segment {a} ({x.length(a)} bytes, no reply to it); "
                f"smuggled `MAIL FROM:<evil@example.org>`/`RCPT TO:<victim@example.net>`/`DATA` at the start of segment {b} ({x.length(b)} bytes, no reply); "
                f"real end `\\r\\n.\\r\\n` alone in segment {e}; the only reply to the body: 250 queued as CASE1 in {s(b'queued as CASE1')}; "
                f"QUIT {c(b'QUIT')}, 221 {s(b'221 ')}")
    if name == "case-smuggling-lenient.pcap":
        d = c(b"DATA\r\n"); m = s(b"354 ")
        a = c(b"\n.\n"); b = c(b"MAIL FROM:<evil@example.org>"); e = c(b"\r\n.\r\n", after=a)
        return (f"DATA in {d}; 354 in {m}; `\\n.\\n` segment {a}; 250 queued as CASE1 (accepting `\\n.\\n` as end of data) in {s(b'queued as CASE1')}; "
                f"smuggled commands segment {b}; its replies 250 2.1.0 (MAIL evil) in {s(b'250 2.1.0', after=b)}, 250 2.1.5 (RCPT victim) in {s(b'250 2.1.5', after=b)}, "
                f"354 in {s(b'354 ', after=b)}; real end `\\r\\n.\\r\\n` segment {e}; 250 queued as CASE2 in {s(b'queued as CASE2')}; QUIT {c(b'QUIT')}, 221 {s(b'221 ')}")
    if name == "case-bare-lf.pcap":
        e, m, r = c(b"EHLO client.example.org\n"), c(b"MAIL FROM:<alice@example.org>\n"), c(b"RCPT TO:<bob@example.net>\n")
        d, body = c(b"DATA\r\n"), c(b"hello\rworld\r\n.\r\n")
        return (f"bare-LF commands: EHLO {e}, MAIL {m}, RCPT {r} (answered 250 in {s(b'250-mx')}, {s(b'250 2.1.0')}, {s(b'250 2.1.5')}); "
                f"DATA (CRLF) {d}, 354 {s(b'354 ')}; message in one segment {body} ({x.length(body)} bytes: header and body lines end in bare LF, "
                f"then `hello\\rworld\\r\\n` with the bare CR, then `.\\r\\n`); 250 {s(b'queued as')}; QUIT {c(b'QUIT')}, 221 {s(b'221 ')}")
    if name == "case-long-lines.pcap":
        r = c(b"RCPT TO:<aaaa"); t = c(b"0123456789" * 10); dot = c(b".\r\n", after=t)
        return (f"600-octet reply line to NOOP ({c(b'NOOP')}) in {s(b'250 2.0.0 Ok yyy')} ({x.length(s(b'250 2.0.0 Ok yyy'))} bytes); "
                f"600-octet RCPT line in {r} ({x.length(r)} bytes), 501 in {s(b'501 ')}; RCPT bob {c(b'RCPT TO:<bob')}, 250 {s(b'250 2.1.5')}; DATA {c(b'DATA')}, 354 {s(b'354 ')}; "
                f"message segment {t} ({x.length(t)} bytes, full MSS: headers + the whole 1200-octet line), `.\\r\\n` in {dot}; 250 {s(b'queued as')}; QUIT {c(b'QUIT')}, 221 {s(b'221 ')}")
    if name == "case-after-quit.pcap":
        q = c(b"QUIT"); r = s(b"221 ")
        fin_s = next((f["n"] for f in x.fr if f["fin"] and f["d"] == "s"), "?")
        fin_c = next((f["n"] for f in x.fr if f["fin"] and f["d"] == "c"), "?")
        return (f"QUIT {q}; 221 {r}; server FIN {fin_s}; `NOOP\\r\\n` after the 221 and the server's FIN in {c(b'NOOP')} (never answered; server ACKs it); client FIN {fin_c}; no RST")
    if name == "case-unsolicited.pcap":
        n = c(b"NOOP"); return (f"NOOP {n}; its reply 250 2.0.0 Ok in {s(b'250 2.0.0 Ok', after=n)}; unsolicited `250 OK` in {s(b'250 OK', after=n)} (own segment, ~20 ms later, answers nothing); "
                                 f"MAIL {c(b'MAIL')} 250 {s(b'250 2.1.0')}; RCPT {c(b'RCPT')} 250 {s(b'250 2.1.5')}; DATA {c(b'DATA')} 354 {s(b'354 ')}; 250 {s(b'queued as')}; QUIT {c(b'QUIT')} 221 {s(b'221 ')}")
    if name == "case-unanswered.pcap":
        fin_s = next((f["n"] for f in x.fr if f["fin"] and f["d"] == "s"), "?")
        fin_c = next((f["n"] for f in x.fr if f["fin"] and f["d"] == "c"), "?")
        return f"`VRFY bob` in {c(b'VRFY')} (last SMTP payload in the file; no reply); server FIN {fin_s} (~0.3 s later, no payload); client FIN {fin_c}; no QUIT, no 221"
    if name == "case-early-talker.pcap":
        e = c(b"EHLO"); g = s(b"220 ")
        return f"EHLO in {e}, BEFORE the greeting; 220 greeting in {g} (~200 ms later); EHLO reply in {s(b'250-mx')}; MAIL {c(b'MAIL')}, DATA {c(b'DATA')}, 250 {s(b'queued as')}, QUIT {c(b'QUIT')}, 221 {s(b'221 ')}"
    if name == "case-pipelining-unadvertised.pcap":
        p = c(b"MAIL FROM")
        return (f"EHLO reply without PIPELINING in {s(b'250-mx')}; MAIL+RCPT+DATA in one segment {p} ({x.length(p)} bytes); replies 250 {s(b'250 2.1.0')}, 250 {s(b'250 2.1.5')}, 354 {s(b'354 ')}; "
                f"message {c(b'From:')}, 250 {s(b'queued as')}; QUIT {c(b'QUIT')}, 221 {s(b'221 ')}")
    if name == "case-bad-reply.pcap":
        return (f"EHLO reply `250-mx.example.net` / `251-SIZE 1000` / `250 HELP` in one segment {s(b'251-SIZE')}; NOOP {c(b'NOOP')}; `Ok then` (no code) in {s(b'Ok then')}; "
                f"`250 OK` in {s(b'250 OK')}; QUIT {c(b'QUIT')}, 221 {s(b'221 ')}")
    if name == "case-size-exceeded.pcap":
        m = c(b"SIZE=500"); d = c(b"DATA\r\n"); first = c(b"From: <alice"); end = c(b"\r\n.\r\n", after=d)
        segs = [f["n"] for f in x.fr if f["d"] == "c" and f["p"] and isinstance(first, int) and isinstance(end, int) and first <= f["n"] <= end]
        tot = sum(len(x.fr[n - 1]["p"]) for n in segs)
        return (f"`250-SIZE 1000` in {s(b'SIZE 1000')}; `MAIL FROM:<alice@example.org> SIZE=500` in {m}, 250 {s(b'250 2.1.0')}; DATA {d}, 354 {s(b'354 ')}; "
                f"message segments {','.join(map(str, segs))} ({'+'.join(str(x.length(n)) for n in segs)} = {tot} bytes = 3000-octet message + `.\\r\\n`); accepted: 250 in {s(b'queued as')}; QUIT {c(b'QUIT')}, 221 {s(b'221 ')}")
    if name == "case-starttls-injection.pcap":
        st = c(b"STARTTLS\r\nRSET\r\n")
        return (f"STARTTLS advertised in {s(b'250-STARTTLS')}; `STARTTLS\\r\\nRSET\\r\\n` in one segment {st} ({x.length(st)} bytes); 220 Ready to start TLS in {s(b'220 2.0.0')}; "
                f"RSET never answered; cleartext QUIT in {c(b'QUIT')} (~0.5 s later), cleartext 221 in {s(b'221 ')}; no TLS record anywhere")
    if name in ("case-sequence-error.pcap", "case-sequence-error-lax.pcap"):
        r1 = c(b"RCPT"); d1 = c(b"DATA")
        r1r = x.start("s", b"", after=r1); d1r = x.start("s", b"", after=d1)
        txt = "503 need MAIL" if name == "case-sequence-error.pcap" else "250 2.1.5 Ok (lax)"
        txt2 = "503 need RCPT" if name == "case-sequence-error.pcap" else "503 need MAIL"
        return (f"RCPT before MAIL in {r1}, answered {txt} in {r1r}; DATA without MAIL in {d1}, answered {txt2} in {d1r}; "
                f"then MAIL {c(b'MAIL')} 250 {s(b'250 2.1.0')}, RCPT {c(b'RCPT', nth=2)} 250 {s(b'250 2.1.5', after=c(b'MAIL'))}, DATA {c(b'DATA', nth=2)} 354 {s(b'354 ')}, 250 {s(b'queued as')}, QUIT {c(b'QUIT')} 221 {s(b'221 ')}")
    if name == "case-service-closing.pcap":
        fin_s = next((f["n"] for f in x.fr if f["fin"] and f["d"] == "s"), "?")
        fin_c = next((f["n"] for f in x.fr if f["fin"] and f["d"] == "c"), "?")
        return f"MAIL {c(b'MAIL')}, 250 {s(b'250 2.1.0')}; 421 4.4.2 in {s(b'421 ')} (~300 ms later, unprompted); server FIN {fin_s}; client FIN {fin_c}; no QUIT, no 221"
    if name == "case-clean.pcap":
        m = c(b"MAIL FROM"); body = c(b"From: <alice")
        size = x.fr[m - 1]["p"].split(b"SIZE=")[1].split(b"\r")[0].decode() if isinstance(m, int) else "?"
        return (f"EHLO reply lines in {','.join(str(f['n']) for f in x.fr if f['d']=='s' and f['p'][:4] in (b'250-', b'250 ') and isinstance(m,int) and f['n'] < m)} (aiosmtpd writes each line separately; 250-PIPELINING in {s(b'PIPELINING')}, no AUTH); "
                f"MAIL ... SIZE={size} in {m}; message in {body} ({x.length(body)} bytes = {size} + `.\\r\\n`); 250 {s(b'queued as')}; QUIT {c(b'QUIT')}, 221 {s(b'221 ')}")
    return ""

rows = []
for f in ORDER:
    if not os.path.exists(f):
        continue
    x = F(f)
    rows.append("| %s | %s | %d | %d | %s | %s | %s |" % (f, HOW[f], len(x.fr), os.path.getsize(f), sequence(f), x.close(), key(f, x)))

HEAD = """# case-*.pcap fixtures

Recorded by `Fixtures/tools/record-cases.sh [STEP...]` (root; same set-up as `tools/record-founding.sh`:
private network namespace via `unshare --net`, lo MTU 1500, TSO/GSO/GRO off, gso_max_segs 1, so segments
carry at most 1448 payload bytes; `tcpdump -i lo -s 0 -U --immediate-mode -w F "tcp port 25"` waited for;
everything on 127.0.0.1:25 under `timeout`).  Real TCP stacks and sockets throughout: scripted peers
`tools/case_server.py MODE` / `tools/case_client.py MODE` (plain Python sockets, TCP_NODELAY, so each reply
or command written on its own is its own segment; they import helpers from founding_server.py /
founding_client.py) stand in for misbehaving software; case-clean uses aiosmtpd (`tools/founding_aiosmtpd.py
--pipelining`) as the server.  This file is regenerated by `record-cases.sh` (or `record-cases.sh --notes`);
every frame number below is computed from the capture itself.
Fixed values: client name client.example.org, MAIL FROM:<alice@example.org>, RCPT TO:<bob@example.net>,
server mx.example.net, Date Mon, 01 Jan 2024 12:00:00 +0000, Subject "fixture TAG", Message-Id
<TAG@client.example.org> (TAG = file base name; both smuggling files use TAG case-smuggling because the client
bytes are identical).  Beside each capture F, `F.tshark.txt` = `tshark -r F -Y smtp -T fields -e frame.number
-e tcp.stream -e smtp.req.command -e smtp.req.parameter -e smtp.response.code` (tab-separated, '|' joins
several values in one frame).  Every file: Ethernet (link type 1), one TCP session, frame 1 = client SYN,
client port ephemeral, server port 25, no retransmissions, no RST.  Re-recording changes timestamps, ports
and ISNs; a delayed (~40 ms) pure ACK may appear or not, so frame numbers can shift by one or two — regenerate
the notes together with the files.

| file | how it was made | packets | bytes | SMTP frames (frame:command or frame:reply code, from .tshark.txt) | TCP close (c = client, s = server) | key frames for tests |
| --- | --- | --- | --- | --- | --- | --- |
"""
TAIL = """
## Notes

- Case 13 (case-auth-cleartext) is not recorded: founding-auth.pcap covers it.
- What tshark 4.0 shows in the .tshark.txt: after 354 the client segments are DATA fragments without a
  command, so the smuggled MAIL/RCPT/DATA (case-smuggling*) are not listed as commands, while the lenient
  server's replies to them are listed as plain reply codes; bare-LF commands (case-bare-lf) are decoded as
  commands; the codeless `Ok then` line (case-bad-reply) is a frame with no code; for the mixed-code EHLO
  reply tshark lists code 250 and raises the expert warning "Unexpected response code 251 in multiline
  response"; `STARTTLS\\r\\nRSET\\r\\n` appears as `STAR|RSET` (tshark splits STARTTLS as STAR/TLS); the
  NOOP after QUIT (case-after-quit) is listed as a command.  The captures hold the raw bytes.
- case-long-lines: the command line is 600 octets counting its CRLF (`RCPT TO:<` + 576 `a` + `@example.net>`,
  598 + 2), the server reply line 600 octets with CRLF, the message text line 1200 octets with CRLF
  (1198 + 2); RFC 5321 limits are 512 (command), 512 (reply) and 1000 (text line), all with CRLF.
- case-size-exceeded: "3000-octet message" = the message as transmitted before the terminating `.\\r\\n`
  (headers + body with CRLFs; no dot-stuffing needed), what RFC 1870 SIZE counts.
- case-sequence-error-lax: the brief only fixed the lax RCPT answer (250); the same client then sends DATA,
  which the lax server answers 503 5.5.1 Error: need MAIL command (it has a recipient but no MAIL), so the
  rest of the session is identical to case-sequence-error.
- case-starttls-injection: the server's behaviour after 220 stands in for a naive server: it drops what was
  already buffered (the RSET) as if it had gone into the TLS engine, and since no handshake comes, it goes back
  to reading cleartext commands and answers the QUIT.
- case-clean: the server is aiosmtpd (greeting `220 mx.example.net ESMTP smtp-trace founding server`, queue
  id FOUNDING1 come from founding_aiosmtpd.py); the client is case_client.py rather than swaks because swaks
  (this version) has no option to add SIZE= to MAIL FROM.
- case-unsolicited: a first recording had the client idle 100 ms before reading the extra reply; its delayed
  ACK let the server's kernel send a tail-loss-probe retransmission of the `250 OK`, so the client now reads
  the extra reply and goes on at once (no retransmission in the file).
"""
open(os.path.join(FIX, "README.cases.md"), "w").write(HEAD + "\n".join(rows) + "\n" + TAIL)
print("wrote", os.path.join(FIX, "README.cases.md"))
PYEOF
}

if [[ "${1:-}" == "--notes" ]]; then notes; exit 0; fi

require_recording_tools record-cases.sh tcpdump tshark capinfos ethtool unshare python3

SCRATCH="$(mktemp -d /tmp/smtp-cases.XXXXXX)"
trap 'rm -rf "$SCRATCH"' EXIT

record() { # $1 = step
    record_step case "$1"
    sed 's/^/    srv: /' "$W/srv.err"; sed 's/^/    cli: /' "$W/cli.err"
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
