#!/usr/bin/env python3
"""Tiny SMTP server for recording fixtures (aiosmtpd, loopback only).

Usage: smtpd.py HOST PORT [MAX_SESSIONS] [LIFETIME_SECONDS]

Binds HOST:PORT (must be a loopback address), accepts every message and
answers like a normal MTA:
  220 mx.example.net ESMTP smtp-trace fixture server
  250-mx.example.net / 250-SIZE ... / 250-8BITMIME / 250-SMTPUTF8 / 250 HELP
  250 2.0.0 Ok: queued as FIXTUREn
Prints "READY" on stdout once listening.  Exits after MAX_SESSIONS
connections have closed (default 1) or after LIFETIME_SECONDS (default 25).

It deliberately does not use aiosmtpd.controller.Controller, because the
Controller opens a probe connection to itself at start-up, which would
appear in the capture as an extra TCP session.
"""
import asyncio
import ipaddress
import sys

from aiosmtpd.smtp import SMTP


class Handler:
    def __init__(self):
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        return "250 2.0.0 Ok: queued as FIXTURE%d" % self.count


async def main():
    host = sys.argv[1]
    port = int(sys.argv[2])
    max_sessions = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    lifetime = float(sys.argv[4]) if len(sys.argv) > 4 else 25.0
    if not ipaddress.ip_address(host).is_loopback:
        sys.exit("refusing to listen on a non-loopback address: %s" % host)

    handler = Handler()
    done = asyncio.Event()
    closed = 0

    class CountingSMTP(SMTP):
        def connection_lost(self, exc):
            nonlocal closed
            super().connection_lost(exc)
            closed += 1
            if closed >= max_sessions:
                done.set()

    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: CountingSMTP(handler, hostname="mx.example.net",
                             ident="ESMTP smtp-trace fixture server"),
        host=host, port=port)
    print("READY", flush=True)
    try:
        await asyncio.wait_for(done.wait(), timeout=lifetime)
        # Let aiosmtpd finish closing the transport cleanly.
        await asyncio.sleep(0.3)
    except asyncio.TimeoutError:
        print("lifetime expired", file=sys.stderr)
    server.close()
    await server.wait_closed()


if __name__ == "__main__":
    asyncio.run(main())
