#!/usr/bin/env python3
"""Scripted SMTP clients for the founding-*.pcap fixtures (plain sockets).

Usage: founding_client.py MODE HOST PORT [LIFETIME_SECONDS]

Every mode waits for each reply (final line "NNN " ) before the next command,
except reply-during-data, which deliberately ignores what the server says once
the body is being sent.  Prints what it saw on stderr, "DONE" on stdout.

MODEs:
  reply-during-data   EHLO, MAIL, RCPT, DATA; after 354 sends the body of a
                      (never finished) ~200 KB message in 1448-byte writes
                      (one MSS each, 10 ms apart).  It polls, without acting
                      on it, for the server's FIN; once seen it sends
                      AFTER_FIN_SEGMENTS (16) more 1448-byte writes, prints
                      "STOPPED <bytes-before-FIN> <bytes-after-FIN>" and then
                      stays alive with the socket open (never FIN, never RST)
                      until killed from outside.
  missing-helo, missing-helo-accepted, helo-trailing-dot, helo-trailing-space,
  ehlo-fallback, ehlo-fallback-rset, bdat, escape
                      see SCRIPTS below.
"""
import ipaddress
import select
import socket
import sys
import time

FROM = b"alice@example.org"
TO = b"bob@example.net"
DATE = b"Mon, 01 Jan 2024 12:00:00 +0000"
MSS = 1448
AFTER_FIN_SEGMENTS = 16


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def message(tag):
    return (b"From: <alice@example.org>\r\n"
            b"To: <bob@example.net>\r\n"
            b"Date: " + DATE + b"\r\n"
            b"Subject: fixture " + tag + b"\r\n"
            b"Message-Id: <" + tag + b"@client.example.org>\r\n"
            b"\r\n"
            b"Hello,\r\nthis is the smtp-trace \"" + tag + b"\" fixture.\r\n"
            b"\r\n-- \r\nAlice\r\n")


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def reply(self):
        """Read one complete (possibly multi-line) reply; return its code."""
        lines = []
        while True:
            while b"\r\n" not in self.buf:
                d = self.sock.recv(65536)
                if not d:
                    raise EOFError("server closed")
                self.buf += d
            l, self.buf = self.buf.split(b"\r\n", 1)
            lines.append(l)
            log("S:", l)
            if len(l) < 4 or l[3:4] != b"-":
                return int(l[:3])

    def cmd(self, line, expect):
        log("C:", line)
        self.sock.sendall(line + b"\r\n")
        code = self.reply()
        if code != expect:
            raise SystemExit("%r: expected %d, got %d" % (line, expect, code))
        return code

    def send_raw(self, data, expect):
        self.sock.sendall(data)
        code = self.reply()
        if code != expect:
            raise SystemExit("%r: expected %d, got %d" % (data[:40], expect, code))


def transaction(c, tag):
    c.cmd(b"MAIL FROM:<" + FROM + b">", 250)
    c.cmd(b"RCPT TO:<" + TO + b">", 250)
    c.cmd(b"DATA", 354)
    c.send_raw(message(tag) + b".\r\n", 250)


def quit_and_close(c):
    c.cmd(b"QUIT", 221)
    # wait for the server's FIN, then close (clean close from both sides)
    c.sock.settimeout(5)
    try:
        while c.sock.recv(65536):
            pass
    except OSError:
        pass
    c.sock.close()


def s_missing_helo(c):
    c.cmd(b"MAIL FROM:<" + FROM + b">", 503)
    quit_and_close(c)


def s_missing_helo_accepted(c):
    transaction(c, b"founding-missing-helo-accepted")
    quit_and_close(c)


def s_helo_trailing_dot(c):
    c.cmd(b"EHLO sub2.", 501)
    c.cmd(b"RSET", 250)
    c.cmd(b"HELO sub2.", 501)
    quit_and_close(c)


def s_helo_trailing_space(c):
    c.cmd(b"EHLO client.example.org ", 501)
    quit_and_close(c)


def s_ehlo_fallback(c):
    c.cmd(b"EHLO client.example.org", 502)
    c.cmd(b"HELO client.example.org", 250)
    transaction(c, b"founding-ehlo-fallback")
    quit_and_close(c)


def s_ehlo_fallback_rset(c):
    c.cmd(b"EHLO client.example.org", 500)
    c.cmd(b"RSET", 503)
    c.cmd(b"HELO client.example.org", 250)
    quit_and_close(c)


BDAT1 = b"Subject: BDAT fixture\r\n\r\nHi,\r\n"
BDAT2 = b"second chunk here.\r\n"
assert len(BDAT1) == 30 and len(BDAT2) == 20


def s_bdat(c):
    c.cmd(b"EHLO client.example.org", 250)
    c.cmd(b"MAIL FROM:<" + FROM + b">", 250)
    c.cmd(b"RCPT TO:<" + TO + b">", 250)
    log("C: BDAT 30 + 30 octets")
    c.send_raw(b"BDAT 30\r\n" + BDAT1, 250)
    log("C: BDAT 20 LAST + 20 octets")
    c.send_raw(b"BDAT 20 LAST\r\n" + BDAT2, 250)
    quit_and_close(c)


def s_escape(c):
    c.cmd(b"EHLO client\x1b[2J\xff.example.org", 250)
    transaction(c, b"founding-escape")
    quit_and_close(c)


SCRIPTS = {
    "missing-helo": s_missing_helo,
    "missing-helo-accepted": s_missing_helo_accepted,
    "helo-trailing-dot": s_helo_trailing_dot,
    "helo-trailing-space": s_helo_trailing_space,
    "ehlo-fallback": s_ehlo_fallback,
    "ehlo-fallback-rset": s_ehlo_fallback_rset,
    "bdat": s_bdat,
    "escape": s_escape,
}


def big_body():
    head = (b"From: <alice@example.org>\r\n"
            b"To: <bob@example.net>\r\n"
            b"Date: " + DATE + b"\r\n"
            b"Subject: fixture founding-reply-during-data\r\n"
            b"Message-Id: <founding-reply-during-data@client.example.org>\r\n"
            b"\r\n")
    lines = [b"Line %04d: the quick brown fox jumps over the lazy dog 0123456789.\r\n" % i
             for i in range(1, 3001)]        # 3000 x 68 bytes = 204,000 bytes
    return head + b"".join(lines)


def reply_during_data(c, end):
    c.cmd(b"EHLO client.example.org", 250)
    c.cmd(b"MAIL FROM:<" + FROM + b">", 250)
    c.cmd(b"RCPT TO:<" + TO + b">", 250)
    c.cmd(b"DATA", 354)
    c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    body = big_body()
    off = 0
    fin_at = None          # body bytes sent when the FIN was noticed
    after = 0
    while off < len(body) and time.monotonic() < end:
        chunk = body[off:off + MSS]
        c.sock.sendall(chunk)
        off += len(chunk)
        if fin_at is not None:
            after += 1
            if after >= AFTER_FIN_SEGMENTS:
                break
        time.sleep(0.01)
        # Notice (but do not act upon) replies and the server's FIN.
        while fin_at is None and select.select([c.sock], [], [], 0)[0]:
            d = c.sock.recv(65536)
            if not d:
                fin_at = off
                log("server FIN noticed after", off, "body bytes")
                break
            log("S (ignored):", d)
    print("STOPPED %d %d" % (fin_at or -1, off - (fin_at or off)), flush=True)
    # Keep the connection half-open: no FIN, no RST, until killed.
    while time.monotonic() < end:
        time.sleep(0.2)


def main():
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    lifetime = float(sys.argv[4]) if len(sys.argv) > 4 else 25.0
    if not ipaddress.ip_address(host).is_loopback:
        sys.exit("refusing to connect to a non-loopback address: %s" % host)
    end = time.monotonic() + lifetime
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect((host, port))
    c = Conn(s)
    c.reply()                      # 220 greeting
    if mode == "reply-during-data":
        reply_during_data(c, end)
    else:
        SCRIPTS[mode](c)
    print("DONE", flush=True)


if __name__ == "__main__":
    main()
