#!/usr/bin/env python3
"""Scripted (mis)behaving SMTP servers for the case-*.pcap fixtures.

Usage: case_server.py MODE HOST PORT [LIFETIME_SECONDS]

Serves exactly one connection on HOST:PORT (loopback only) with plain
blocking sockets (TCP_NODELAY: every reply written separately is its own
segment), prints "READY" on stdout once listening and "DONE" when the session
is over (or LIFETIME_SECONDS, default 25, have passed).  Reuses Conn and
finish_quit from founding_server.py.

Greeting "220 mx.example.net ESMTP case fixture server"; EHLO answers
250-mx.example.net / 250-PIPELINING / 250-SIZE 10240000 / 250 8BITMIME unless
said otherwise; MAIL 250 2.1.0 Ok, RCPT 250 2.1.5 Ok, DATA 354, end of data
250 2.0.0 Ok: queued as CASEn, NOOP 250 2.0.0 Ok, RSET 250 2.0.0 Ok,
VRFY 252 2.0.0 Cannot VRFY user, QUIT 221 2.0.0 Bye then shutdown(SHUT_WR)
(FIN) and read until the client closes (clean FIN/FIN, no RST).  Commands
are read as CRLF-terminated lines (strict) unless the mode is lenient.
A command line longer than 512 octets (with CRLF) -> 501 5.5.4 line too long.
RCPT before MAIL -> 503 5.5.1 Error: need MAIL command; DATA without RCPT ->
503 5.5.1 Error: need RCPT command; DATA without MAIL -> 503 5.5.1 Error: need
MAIL command.

MODEs:
  smuggling           strict: only CRLF.CRLF ends DATA ("\\n.\\n" is content)
  smuggling-lenient   lenient: lines end at LF (a CR before it is dropped), so
                      "\\n.\\n" ends DATA; the rest is read as commands
  bare-lf             lenient, as smuggling-lenient
  long-lines          NOOP is answered with one 600-octet line (with CRLF)
                      "250 2.0.0 Ok yyyy..."
  after-quit          after 221: shutdown(SHUT_WR), then keep reading (and
                      ignoring) for at most 0.5 s or until the client's FIN,
                      then close
  unsolicited         after the 250 to NOOP, 20 ms later an extra "250 OK"
  unanswered          VRFY is never answered: 0.3 s later shutdown(SHUT_WR)
                      (FIN), read until the client closes, close
  early-talker        waits 200 ms after accept() before the greeting
  pipelining-unadvertised  EHLO reply without PIPELINING
  bad-reply           EHLO reply "250-mx.example.net" "251-SIZE 1000" "250 HELP"
                      (one write); NOOP answered "Ok then" and, 20 ms later
                      in a second write, "250 OK"
  size-exceeded       EHLO advertises "250-SIZE 1000" but accepts any size
  starttls-injection  EHLO advertises STARTTLS; STARTTLS -> 220 2.0.0 Ready to
                      start TLS, then whatever was already received after the
                      STARTTLS line is thrown away (a naive server would hand
                      it to TLS) and the server waits; it then reads plain
                      commands again (the client's cleartext QUIT -> 221)
  sequence-error      strict ordering (503 for RCPT before MAIL, DATA without RCPT)
  sequence-error-lax  RCPT before MAIL -> 250 2.1.5 Ok (DATA without MAIL -> 503)
  service-closing     250 to MAIL, then 300 ms later (client idle)
                      "421 4.4.2 mx.example.net Error: timeout exceeded",
                      shutdown(SHUT_WR) (FIN), read until the client closes, close
"""
import socket
import sys
import time

sys.dont_write_bytecode = True   # no __pycache__ in Fixtures/tools
from founding_server import Conn, accept_one, finish_quit, log

HOSTNAME = b"mx.example.net"
GREETING = b"220 mx.example.net ESMTP case fixture server\r\n"
LENIENT = ("smuggling-lenient", "bare-lf")
MODES = ("smuggling", "smuggling-lenient", "bare-lf", "long-lines", "after-quit",
         "unsolicited", "unanswered", "early-talker", "pipelining-unadvertised",
         "bad-reply", "size-exceeded", "starttls-injection", "sequence-error",
         "sequence-error-lax", "service-closing")


class CaseConn(Conn):
    def __init__(self, sock, deadline, lenient):
        super().__init__(sock, deadline)
        self.lenient = lenient

    def line(self):
        if not self.lenient:
            return super().line()
        while b"\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\n", 1)
        if line.endswith(b"\r"):
            line = line[:-1]
        return line

    def raw(self, data):
        self.sock.sendall(data)


def close_after_fin(c, max_wait=None):
    """shutdown(SHUT_WR) (FIN), read until EOF (or max_wait s), close."""
    c.sock.shutdown(socket.SHUT_WR)
    end = time.monotonic() + max_wait if max_wait is not None else c.deadline
    got = b""
    try:
        while True:
            left = end - time.monotonic()
            if left <= 0:
                break
            c.sock.settimeout(left)
            d = c.sock.recv(65536)
            if not d:
                break
            got += d
    except (OSError, socket.timeout):
        pass
    if got:
        log("read after our FIN (ignored):", got)
    c.sock.close()


def read_message(c):
    n = 0
    while True:
        l = c.line()
        if l == b".":
            return n
        n += len(l)


def ehlo_lines(mode):
    if mode == "bad-reply":
        return b"250-mx.example.net\r\n251-SIZE 1000\r\n250 HELP\r\n"
    ext = [b"PIPELINING", b"SIZE 10240000", b"8BITMIME"]
    if mode == "pipelining-unadvertised":
        ext = [b"SIZE 10240000", b"8BITMIME"]
    elif mode == "size-exceeded":
        ext = [b"PIPELINING", b"SIZE 1000", b"8BITMIME"]
    elif mode == "starttls-injection":
        ext = [b"PIPELINING", b"SIZE 10240000", b"STARTTLS", b"8BITMIME"]
    lines = [b"250-" + HOSTNAME] + [b"250-" + e for e in ext[:-1]] + [b"250 " + ext[-1]]
    return b"".join(l + b"\r\n" for l in lines)


def serve(mode, c):
    if mode == "early-talker":
        time.sleep(0.2)
    c.raw(GREETING)
    mail = False
    rcpts = 0
    queued = 0
    while True:
        raw = c.line()
        log("C:", raw)
        verb, _, arg = raw.partition(b" ")
        verb = verb.upper()
        if len(raw) + 2 > 512:
            c.send(b"501 5.5.4 Syntax error: line too long")
        elif verb in (b"EHLO", b"HELO"):
            c.raw(ehlo_lines(mode) if verb == b"EHLO" else b"250 " + HOSTNAME + b"\r\n")
        elif verb == b"MAIL":
            mail, rcpts = True, 0
            c.send(b"250 2.1.0 Ok")
            if mode == "service-closing":
                time.sleep(0.3)
                c.send(b"421 4.4.2 mx.example.net Error: timeout exceeded")
                close_after_fin(c)
                return
        elif verb == b"RCPT":
            if not mail and mode != "sequence-error-lax":
                c.send(b"503 5.5.1 Error: need MAIL command")
            else:
                rcpts += 1
                c.send(b"250 2.1.5 Ok")
        elif verb == b"DATA":
            if rcpts == 0:
                c.send(b"503 5.5.1 Error: need RCPT command")
            elif not mail:
                c.send(b"503 5.5.1 Error: need MAIL command")
            else:
                c.send(b"354 End data with <CR><LF>.<CR><LF>")
                n = read_message(c)
                queued += 1
                log("message %d: %d octets of text (without line ends)" % (queued, n))
                c.send(b"250 2.0.0 Ok: queued as CASE%d" % queued)
                mail, rcpts = False, 0
        elif verb == b"NOOP":
            if mode == "long-lines":
                head = b"250 2.0.0 Ok "
                c.send(head + b"y" * (598 - len(head)))
            elif mode == "bad-reply":
                c.raw(b"Ok then\r\n")
                time.sleep(0.02)
                c.raw(b"250 OK\r\n")
            else:
                c.send(b"250 2.0.0 Ok")
                if mode == "unsolicited":
                    time.sleep(0.02)
                    c.raw(b"250 OK\r\n")
        elif verb == b"RSET":
            mail, rcpts = False, 0
            c.send(b"250 2.0.0 Ok")
        elif verb == b"VRFY":
            if mode == "unanswered":
                time.sleep(0.3)
                close_after_fin(c)
                return
            c.send(b"252 2.0.0 Cannot VRFY user")
        elif verb == b"STARTTLS" and mode == "starttls-injection":
            c.send(b"220 2.0.0 Ready to start TLS")
            log("thrown away (would have gone to TLS):", c.buf)
            c.buf = b""
        elif verb == b"QUIT":
            if mode == "after-quit":
                c.send(b"221 2.0.0 Bye")
                close_after_fin(c, max_wait=0.5)
            else:
                finish_quit(c)
            return
        else:
            c.send(b"502 5.5.2 Error: command not recognized")


def main():
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    lifetime = float(sys.argv[4]) if len(sys.argv) > 4 else 25.0
    if mode not in MODES:
        sys.exit("unknown mode: %s" % mode)
    end = time.monotonic() + lifetime
    s = accept_one(host, port, lifetime)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    c = CaseConn(s, end, mode in LENIENT)
    try:
        serve(mode, c)
    except EOFError:
        log("client closed without QUIT")
        s.close()
    print("DONE", flush=True)


if __name__ == "__main__":
    main()
