#!/usr/bin/env python3
"""Scripted SMTP clients for the case-*.pcap fixtures (plain sockets).

Usage: case_client.py MODE HOST PORT   (run it under `timeout`; socket timeouts 10 s)

TCP_NODELAY; every command is one write and waits for its reply unless said
otherwise.  A reply is read up to its final line "NNN " / "NNN" (lines
without a 3-digit code are logged and skipped).  Prints what it saw on
stderr and "DONE" on stdout.  Reuses message() from founding_client.py
(From/To/Date/Subject "fixture TAG"/Message-Id <TAG@client.example.org>).
Sessions end with QUIT/221, then the client waits for the server's FIN and
closes (FIN both ways) unless said otherwise.

MODEs (TAG = case-MODE):
  smuggling           EHLO, MAIL, RCPT, DATA (354), then the body in three
                      writes 100 ms apart: (a) headers + text ending in
                      "\\n.\\n"; (b) "MAIL FROM:<evil@example.org>\\r\\n
                      RCPT TO:<victim@example.net>\\r\\nDATA\\r\\n" + a second
                      message's headers and text without its last CRLF; (c)
                      "\\r\\n.\\r\\n".  Then collects every reply until 0.5 s
                      of silence, QUIT.  (Same bytes for the strict and the
                      lenient server; the server's name is only used for the
                      Subject/Message-Id tag, which is always case-smuggling.)
  bare-lf             "EHLO ...\\n", "MAIL ...\\n", "RCPT ...\\n" (bare LF),
                      "DATA\\r\\n", message whose lines end in bare LF and with
                      a line "hello\\rworld\\r\\n", then ".\\r\\n", QUIT
  long-lines          EHLO, NOOP (server answers with a 600-octet line), MAIL,
                      RCPT TO:<576 x 'a'@example.net> (600 octets with CRLF)
                      -> 501, RCPT bob -> 250, DATA, message with a text line
                      of 1200 octets (1198 + CRLF), QUIT
  after-quit          EHLO, QUIT -> 221, waits for the server's FIN, then
                      sends "NOOP\\r\\n" anyway, 50 ms later closes
  unsolicited         EHLO, NOOP -> 250, then reads the extra reply (sent
                      20 ms later) and at once goes on: MAIL/RCPT/DATA/
                      message/QUIT
  unanswered          EHLO, "VRFY bob\\r\\n", waits (up to 5 s) for a reply,
                      gets the server's FIN instead, closes
  early-talker        sends EHLO right after connect(), before the greeting;
                      then reads the 220 and the EHLO reply; MAIL/.../QUIT
  pipelining-unadvertised  EHLO (no PIPELINING offered), then
                      MAIL+RCPT+DATA in ONE write, reads 3 replies, message,
                      QUIT
  bad-reply           EHLO (reply with mixed codes), NOOP (reply "Ok then" +
                      "250 OK"), QUIT
  size-exceeded       EHLO, MAIL FROM:<alice@example.org> SIZE=500, RCPT,
                      DATA, a message of exactly 3000 octets, QUIT
  starttls-injection  EHLO, "STARTTLS\\r\\nRSET\\r\\n" in ONE write, reads
                      the 220, waits 0.5 s (no TLS started), QUIT in
                      cleartext -> 221
  sequence-error      EHLO, RCPT before MAIL, DATA (no MAIL, no RCPT), then
                      MAIL/RCPT/DATA/message/QUIT (codes only logged)
  service-closing     EHLO, MAIL -> 250, then idle: reads the 421 and the
                      server's FIN, closes (no QUIT)
  clean               EHLO, MAIL FROM:<alice@example.org> SIZE=<exact message
                      size>, RCPT, DATA, message (CRLF everywhere), QUIT
                      (used against aiosmtpd, founding_aiosmtpd.py --pipelining)
"""
import ipaddress
import re
import socket
import sys
import time

sys.dont_write_bytecode = True   # no __pycache__ in Fixtures/tools
from founding_client import message, log, FROM, TO

FINAL = re.compile(rb"^[0-9]{3}( |$)")
CODE = re.compile(rb"^[0-9]{3}[ -]")


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def reply(self):
        """Read one complete reply; return the code of its final line."""
        while True:
            while b"\r\n" not in self.buf:
                d = self.sock.recv(65536)
                if not d:
                    raise EOFError("server closed")
                self.buf += d
            l, self.buf = self.buf.split(b"\r\n", 1)
            log("S:", l[:80] + (b"..." if len(l) > 80 else b""))
            if not CODE.match(l) and not FINAL.match(l):
                log("   (not a reply line, skipped)")
                continue
            if FINAL.match(l):
                return int(l[:3])

    def raw(self, data):
        log("C:", data[:80] + (b"..." if len(data) > 80 else b""))
        self.sock.sendall(data)

    def cmd(self, line, expect=None, end=b"\r\n"):
        self.raw(line + end)
        code = self.reply()
        if expect is not None and code != expect:
            raise SystemExit("%r: expected %d, got %d" % (line[:40], expect, code))
        return code

    def collect(self, quiet):
        """Read replies until `quiet` seconds pass without data."""
        self.sock.settimeout(quiet)
        codes = []
        try:
            while True:
                codes.append(self.reply())
        except socket.timeout:
            pass
        self.sock.settimeout(10)
        return codes

    def wait_eof(self, limit=5):
        self.sock.settimeout(limit)
        try:
            while True:
                d = self.sock.recv(65536)
                if not d:
                    return True
                log("S (after the end):", d)
        except OSError:
            return False
        finally:
            self.sock.settimeout(10)


def ehlo(c):
    return c.cmd(b"EHLO client.example.org", 250)


def transaction(c, tag, mail_params=b""):
    c.cmd(b"MAIL FROM:<" + FROM + b">" + mail_params, 250)
    c.cmd(b"RCPT TO:<" + TO + b">", 250)
    c.cmd(b"DATA", 354)
    c.raw(message(tag) + b".\r\n")
    if c.reply() != 250:
        raise SystemExit("message not accepted")


def quit_and_close(c):
    c.cmd(b"QUIT", 221)
    c.wait_eof()
    c.sock.close()


def s_smuggling(c):
    ehlo(c)
    c.cmd(b"MAIL FROM:<" + FROM + b">", 250)
    c.cmd(b"RCPT TO:<" + TO + b">", 250)
    c.cmd(b"DATA", 354)
    first = message(b"case-smuggling").rstrip(b"\r\n") + b"\n.\n"
    smuggled = (b"MAIL FROM:<evil@example.org>\r\n"
                b"RCPT TO:<victim@example.net>\r\n"
                b"DATA\r\n"
                b"From: <evil@example.org>\r\n"
                b"To: <victim@example.net>\r\n"
                b"Subject: smuggled\r\n"
                b"\r\n"
                b"This message was smuggled.")
    c.raw(first)
    time.sleep(0.1)
    c.raw(smuggled)
    time.sleep(0.1)
    c.raw(b"\r\n.\r\n")
    log("replies after the body:", c.collect(0.5))
    quit_and_close(c)


def s_bare_lf(c):
    c.cmd(b"EHLO client.example.org", 250, end=b"\n")
    c.cmd(b"MAIL FROM:<" + FROM + b">", 250, end=b"\n")
    c.cmd(b"RCPT TO:<" + TO + b">", 250, end=b"\n")
    c.cmd(b"DATA", 354)
    body = (b"From: <alice@example.org>\n"
            b"To: <bob@example.net>\n"
            b"Date: Mon, 01 Jan 2024 12:00:00 +0000\n"
            b"Subject: fixture case-bare-lf\n"
            b"Message-Id: <case-bare-lf@client.example.org>\n"
            b"\n"
            b"These lines end in a bare LF.\n"
            b"hello\rworld\r\n"
            b".\r\n")
    c.raw(body)
    if c.reply() != 250:
        raise SystemExit("message not accepted")
    quit_and_close(c)


LONG_RCPT = b"RCPT TO:<" + b"a" * 576 + b"@example.net>"
LONG_TEXT = (b"0123456789" * 120)[:1198]
assert len(LONG_RCPT) + 2 == 600 and len(LONG_TEXT) + 2 == 1200


def s_long_lines(c):
    ehlo(c)
    c.cmd(b"NOOP", 250)
    c.cmd(b"MAIL FROM:<" + FROM + b">", 250)
    c.cmd(LONG_RCPT, 501)
    c.cmd(b"RCPT TO:<" + TO + b">", 250)
    c.cmd(b"DATA", 354)
    c.raw(message(b"case-long-lines") + LONG_TEXT + b"\r\n.\r\n")
    if c.reply() != 250:
        raise SystemExit("message not accepted")
    quit_and_close(c)


def s_after_quit(c):
    ehlo(c)
    c.cmd(b"QUIT", 221)
    if not c.wait_eof():
        raise SystemExit("no FIN from the server")
    c.raw(b"NOOP\r\n")
    time.sleep(0.05)
    c.sock.close()


def s_unsolicited(c):
    ehlo(c)
    c.cmd(b"NOOP", 250)
    # read the extra reply as soon as it arrives and go on at once, so the
    # MAIL carries the ACK (a client idling here with the ACK delayed made
    # the server's kernel send a tail-loss-probe retransmission of it)
    c.sock.settimeout(2)
    log("extra reply:", c.reply())
    c.sock.settimeout(10)
    transaction(c, b"case-unsolicited")
    quit_and_close(c)


def s_unanswered(c):
    ehlo(c)
    c.raw(b"VRFY bob\r\n")
    c.sock.settimeout(5)
    try:
        code = c.reply()
        raise SystemExit("VRFY was answered: %d" % code)
    except EOFError:
        log("server closed without answering VRFY")
    c.sock.close()


def s_early_talker(c):
    c.raw(b"EHLO client.example.org\r\n")
    if c.reply() != 220:
        raise SystemExit("no greeting")
    if c.reply() != 250:
        raise SystemExit("EHLO not accepted")
    transaction(c, b"case-early-talker")
    quit_and_close(c)


def s_pipelining_unadvertised(c):
    ehlo(c)
    c.raw(b"MAIL FROM:<" + FROM + b">\r\nRCPT TO:<" + TO + b">\r\nDATA\r\n")
    codes = [c.reply() for _ in range(3)]
    if codes != [250, 250, 354]:
        raise SystemExit("unexpected replies %r" % codes)
    c.raw(message(b"case-pipelining-unadvertised") + b".\r\n")
    if c.reply() != 250:
        raise SystemExit("message not accepted")
    quit_and_close(c)


def s_bad_reply(c):
    ehlo(c)
    c.cmd(b"NOOP", 250)
    quit_and_close(c)


def sized_message(tag, size):
    m = message(tag)
    fill = size - len(m)
    lines = []
    while fill > 0:
        n = min(fill, 70)            # 68 visible octets + CRLF per line
        if fill - n in (1,):         # never leave a remainder shorter than CRLF
            n -= 1
        lines.append(b"x" * (n - 2) + b"\r\n")
        fill -= n
    m += b"".join(lines)
    assert len(m) == size, len(m)
    return m


def s_size_exceeded(c):
    ehlo(c)
    c.cmd(b"MAIL FROM:<" + FROM + b"> SIZE=500", 250)
    c.cmd(b"RCPT TO:<" + TO + b">", 250)
    c.cmd(b"DATA", 354)
    c.raw(sized_message(b"case-size-exceeded", 3000) + b".\r\n")
    if c.reply() != 250:
        raise SystemExit("message not accepted")
    quit_and_close(c)


def s_starttls_injection(c):
    ehlo(c)
    c.raw(b"STARTTLS\r\nRSET\r\n")
    if c.reply() != 220:
        raise SystemExit("STARTTLS not accepted")
    time.sleep(0.5)                  # no TLS handshake: give up
    quit_and_close(c)


def s_sequence_error(c):
    ehlo(c)
    log("RCPT before MAIL:", c.cmd(b"RCPT TO:<" + TO + b">"))
    log("DATA without MAIL:", c.cmd(b"DATA"))
    transaction(c, b"case-sequence-error")
    quit_and_close(c)


def s_service_closing(c):
    ehlo(c)
    c.cmd(b"MAIL FROM:<" + FROM + b">", 250)
    c.sock.settimeout(5)
    if c.reply() != 421:
        raise SystemExit("expected 421")
    if not c.wait_eof():
        raise SystemExit("no FIN from the server")
    c.sock.close()


def s_clean(c):
    ehlo(c)
    m = message(b"case-clean")
    c.cmd(b"MAIL FROM:<" + FROM + b"> SIZE=%d" % len(m), 250)
    c.cmd(b"RCPT TO:<" + TO + b">", 250)
    c.cmd(b"DATA", 354)
    c.raw(m + b".\r\n")
    if c.reply() != 250:
        raise SystemExit("message not accepted")
    quit_and_close(c)


SCRIPTS = {
    "smuggling": s_smuggling,
    "smuggling-lenient": s_smuggling,
    "bare-lf": s_bare_lf,
    "long-lines": s_long_lines,
    "after-quit": s_after_quit,
    "unsolicited": s_unsolicited,
    "unanswered": s_unanswered,
    "early-talker": s_early_talker,
    "pipelining-unadvertised": s_pipelining_unadvertised,
    "bad-reply": s_bad_reply,
    "size-exceeded": s_size_exceeded,
    "starttls-injection": s_starttls_injection,
    "sequence-error": s_sequence_error,
    "sequence-error-lax": s_sequence_error,
    "service-closing": s_service_closing,
    "clean": s_clean,
}


def main():
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode not in SCRIPTS:
        sys.exit("unknown mode: %s" % mode)
    if not ipaddress.ip_address(host).is_loopback:
        sys.exit("refusing to connect to a non-loopback address: %s" % host)
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.settimeout(10)
    s.connect((host, port))
    c = Conn(s)
    if mode != "early-talker":
        if c.reply() != 220:         # greeting
            raise SystemExit("no greeting")
    SCRIPTS[mode](c)
    print("DONE", flush=True)


if __name__ == "__main__":
    main()
