#!/usr/bin/env python3
"""Well-behaved aiosmtpd server for the founding-*.pcap fixtures.

Usage: founding_aiosmtpd.py HOST PORT MAX_SESSIONS LIFETIME [--auth] [--pipelining]
                            [--tls CERT KEY]

Like tools/smtpd.py (no aiosmtpd Controller, so no self-probe connection in
the capture; "READY" on stdout; exits after MAX_SESSIONS connections closed),
plus:
  --auth        AUTH PLAIN/LOGIN offered without TLS (auth_require_tls=False);
                only user "alice" with password "s3cret-Passw0rd" is accepted.
  --pipelining  EHLO also advertises PIPELINING (aiosmtpd reads commands
                line by line, so pipelined commands are handled anyway).
  --tls C K     STARTTLS offered with the given certificate and key.
"""
import asyncio
import ipaddress
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

USER, PASSWORD = b"alice", b"s3cret-Passw0rd"


class Handler:
    def __init__(self, pipelining):
        self.count = 0
        self.pipelining = pipelining

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if self.pipelining:
            responses.insert(1, "250-PIPELINING")
        return responses

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        return "250 2.0.0 Ok: queued as FOUNDING%d" % self.count


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (isinstance(auth_data, LoginPassword)
          and auth_data.login == USER and auth_data.password == PASSWORD)
    return AuthResult(success=ok)


async def main():
    host, port = sys.argv[1], int(sys.argv[2])
    max_sessions, lifetime = int(sys.argv[3]), float(sys.argv[4])
    opts = sys.argv[5:]
    if not ipaddress.ip_address(host).is_loopback:
        sys.exit("refusing to listen on a non-loopback address: %s" % host)
    kw = {}
    if "--auth" in opts:
        kw.update(auth_require_tls=False, authenticator=authenticator)
    if "--tls" in opts:
        i = opts.index("--tls")
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(opts[i + 1], opts[i + 2])
        kw.update(tls_context=ctx)
    handler = Handler("--pipelining" in opts)
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
                             ident="ESMTP smtp-trace founding server", **kw),
        host=host, port=port)
    print("READY", flush=True)
    try:
        await asyncio.wait_for(done.wait(), timeout=lifetime)
        await asyncio.sleep(0.3)
    except asyncio.TimeoutError:
        print("lifetime expired", file=sys.stderr)
    server.close()
    await server.wait_closed()


if __name__ == "__main__":
    asyncio.run(main())
