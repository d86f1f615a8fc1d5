#!/usr/bin/env python3
"""Scripted (mis)behaving SMTP servers for the founding-*.pcap fixtures.

Usage: founding_server.py MODE HOST PORT [LIFETIME_SECONDS]

Serves exactly one connection on HOST:PORT (loopback only) with plain
blocking sockets, prints "READY" on stdout once listening, and exits when the
session is over (or LIFETIME_SECONDS, default 25, have passed).

MODEs (greeting "220 mx.example.net ESMTP founding fixture server" unless said):
  reply-during-data    normal EHLO/MAIL/RCPT/DATA(354); after >= 20,000 body
                       bytes: "552 5.3.4 Message size exceeds fixed limit",
                       "421 4.3.0 Closing connection" (two sends), then
                       shutdown(SHUT_WR) (FIN) and keeps READING (draining)
                       and never closes: the process must be killed from
                       outside after the capture has been stopped, so no RST
                       is ever captured.  Prints "FIN-SENT" on stdout.
  missing-helo         MAIL before HELO/EHLO -> 503 5.5.1 Error: send HELO/EHLO first
  missing-helo-accepted  lax: MAIL before HELO/EHLO -> 250, session goes on
  helo-trailing-dot    HELO/EHLO argument ending in "." -> 501 5.5.4 Invalid Address;
                       RSET -> 250
  helo-trailing-space  HELO/EHLO argument with trailing blank -> 501 5.5.4 Syntax: EHLO hostname
  ehlo-fallback        EHLO unknown -> 502 5.5.2 Error: command not recognized
  ehlo-fallback-rset   EHLO unknown -> 500 5.5.2 Error: bad syntax; RSET before
                       HELO -> 503 5.5.1 Error: send HELO/EHLO first
  bdat                 EHLO advertises CHUNKING; BDAT n [LAST] reads n octets
                       and answers 250 (no DATA needed)
  escape               greeting and an EHLO line contain terminal escapes and
                       control characters
After QUIT every mode answers "221 2.0.0 Bye", shuts down its write side and
reads until the client closes, then closes (clean FIN/FIN, no RST).
"""
import ipaddress
import socket
import sys
import time

HOSTNAME = b"mx.example.net"
GREETING = b"220 mx.example.net ESMTP founding fixture server\r\n"


def log(*a):
    print(*a, file=sys.stderr, flush=True)


class Conn:
    def __init__(self, sock, deadline):
        self.sock = sock
        self.buf = b""
        self.deadline = deadline

    def _fill(self):
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("lifetime expired")
        self.sock.settimeout(left)
        data = self.sock.recv(65536)
        if not data:
            raise EOFError
        self.buf += data

    def line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def octets(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def send(self, *lines):
        self.sock.sendall(b"".join(l + b"\r\n" for l in lines))


def finish_quit(c):
    c.send(b"221 2.0.0 Bye")
    c.sock.shutdown(socket.SHUT_WR)
    try:
        while True:
            c._fill()
            c.buf = b""
    except (EOFError, TimeoutError, OSError):
        pass
    c.sock.close()


def read_message(c):
    """Read a DATA body up to CRLF.CRLF; return the raw lines."""
    lines = []
    while True:
        l = c.line()
        if l == b".":
            return lines
        lines.append(l)


def scripted(mode, c):
    greeting = GREETING
    if mode == "escape":
        greeting = b"220 evil\x1b[2J\x1b[31mRED\x07 ESMTP\r\n"
    c.sock.sendall(greeting)
    helo_seen = False
    queued = 0
    while True:
        raw = c.line()
        verb, _, arg = raw.partition(b" ")
        verb = verb.upper()
        log("C:", raw)
        if verb in (b"EHLO", b"HELO"):
            if verb == b"EHLO" and mode == "ehlo-fallback":
                c.send(b"502 5.5.2 Error: command not recognized")
            elif verb == b"EHLO" and mode == "ehlo-fallback-rset":
                c.send(b"500 5.5.2 Error: bad syntax")
            elif mode == "helo-trailing-dot" and arg.endswith(b"."):
                c.send(b"501 5.5.4 Invalid Address")
            elif mode == "helo-trailing-space" and arg != arg.rstrip(b" \t"):
                c.send(b"501 5.5.4 Syntax: EHLO hostname")
            elif verb == b"HELO":
                helo_seen = True
                c.send(b"250 " + HOSTNAME)
            else:
                helo_seen = True
                ext = [b"PIPELINING", b"SIZE 10240000", b"8BITMIME"]
                if mode == "bdat":
                    ext = [b"PIPELINING", b"SIZE 10240000", b"CHUNKING", b"8BITMIME"]
                if mode == "escape":
                    ext = [b"\x1b]0;pwned\x07", b"SIZE 10240000", b"8BITMIME"]
                lines = [b"250-" + HOSTNAME] + [b"250-" + e for e in ext[:-1]] + [b"250 " + ext[-1]]
                c.send(*lines)
        elif verb == b"MAIL":
            if not helo_seen and mode != "missing-helo-accepted":
                c.send(b"503 5.5.1 Error: send HELO/EHLO first")
            else:
                c.send(b"250 2.1.0 Ok")
        elif verb == b"RCPT":
            c.send(b"250 2.1.5 Ok")
        elif verb == b"DATA":
            c.send(b"354 End data with <CR><LF>.<CR><LF>")
            read_message(c)
            queued += 1
            c.send(b"250 2.0.0 Ok: queued as FOUNDING%d" % queued)
        elif verb == b"BDAT" and mode == "bdat":
            parts = arg.split()
            n = int(parts[0])
            last = len(parts) > 1 and parts[1].upper() == b"LAST"
            c.octets(n)
            if last:
                queued += 1
                c.send(b"250 2.0.0 Ok: queued as FOUNDING%d" % queued)
            else:
                c.send(b"250 2.0.0 Ok: %d octets received" % n)
        elif verb == b"RSET":
            if mode == "ehlo-fallback-rset" and not helo_seen:
                c.send(b"503 5.5.1 Error: send HELO/EHLO first")
            else:
                c.send(b"250 2.0.0 Ok")
        elif verb == b"NOOP":
            c.send(b"250 2.0.0 Ok")
        elif verb == b"QUIT":
            finish_quit(c)
            return
        else:
            c.send(b"502 5.5.2 Error: command not recognized")


def reply_during_data(c, lifetime_end):
    c.sock.sendall(GREETING)
    while True:
        raw = c.line()
        verb = raw.split(b" ", 1)[0].upper()
        log("C:", raw)
        if verb == b"EHLO":
            c.send(b"250-" + HOSTNAME, b"250-PIPELINING", b"250-SIZE 10240000", b"250 8BITMIME")
        elif verb in (b"MAIL", b"RCPT"):
            c.send(b"250 2.1.0 Ok" if verb == b"MAIL" else b"250 2.1.5 Ok")
        elif verb == b"DATA":
            c.send(b"354 End data with <CR><LF>.<CR><LF>")
            break
        else:
            c.send(b"502 5.5.2 Error: command not recognized")
    got = len(c.buf)
    c.buf = b""
    while got < 20000:
        c._fill()
        got += len(c.buf)
        c.buf = b""
    log("body bytes before replying:", got)
    c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    c.sock.sendall(b"552 5.3.4 Message size exceeds fixed limit\r\n")
    time.sleep(0.01)
    c.sock.sendall(b"421 4.3.0 Closing connection\r\n")
    time.sleep(0.01)
    c.sock.shutdown(socket.SHUT_WR)
    print("FIN-SENT", flush=True)
    # Keep draining whatever the client still sends; never close (a close()
    # with unread data would make the kernel send RST).  Bounded by lifetime.
    after = 0
    while time.monotonic() < lifetime_end:
        c.sock.settimeout(0.2)
        try:
            d = c.sock.recv(65536)
        except socket.timeout:
            continue
        if not d:
            log("client closed")
            break
        after += len(d)
    log("drained after FIN:", after)
    # Still alive, socket still open: wait to be killed.
    while time.monotonic() < lifetime_end:
        time.sleep(0.2)


def accept_one(host, port, lifetime):
    """Listen on a loopback address only, print READY, accept one client (within `lifetime`
    seconds) and stop listening; return the connected socket."""
    if not ipaddress.ip_address(host).is_loopback:
        sys.exit("refusing to listen on a non-loopback address: %s" % host)
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    ls = socket.socket(fam, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, port))
    ls.listen(1)
    ls.settimeout(lifetime)
    print("READY", flush=True)
    s, peer = ls.accept()
    ls.close()
    log("connection from", peer)
    return s


def main():
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    lifetime = float(sys.argv[4]) if len(sys.argv) > 4 else 25.0
    end = time.monotonic() + lifetime
    s = accept_one(host, port, lifetime)
    c = Conn(s, end)
    if mode == "reply-during-data":
        reply_during_data(c, end)
    else:
        try:
            scripted(mode, c)
        except EOFError:
            log("client closed without QUIT")
            s.close()
    print("DONE", flush=True)


if __name__ == "__main__":
    main()
