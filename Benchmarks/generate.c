/*
 * generate.c — deterministic generator of large, realistic SMTP captures for smtp-trace
 * benchmarks, with a truth file listing the findings smtp-trace must report.
 *
 *   cc -O2 -o generate generate.c -lm
 *   ./generate --size 1G --seed 42 --out out/1g.pcap --truth out/1g.pcap.truth.json
 *
 * Output: classic pcap (microsecond timestamps), LINKTYPE_ETHERNET, written with stdio.
 * Content: thousands of interleaved SMTP sessions (--concurrency open at a time) between many
 * IPv4 (10/8) and IPv6 (2001:db8::/32, --ipv6 fraction) clients and a few servers on ports 25
 * and 587: full handshake, TCP timestamps, MSS-sized segments, correct sequence and ack numbers,
 * correct IPv4 and TCP checksums, ACK every other segment. Normal sessions: 220, EHLO (multi-line
 * 250 with PIPELINING, SIZE, 8BITMIME), MAIL (SIZE= correct or absent), 1-3 RCPT, DATA, 354, a
 * message (Date, From, To, Subject, Message-ID) with a log-normal body of 1 KiB .. 4 MiB, 250,
 * QUIT, 221, FIN both ways. ~1% of body segments are retransmitted (exact duplicate a little
 * later) and ~0.5% of segment pairs arrive swapped, in normal sessions only.
 * Violation sessions (each type: --violation-rate of the sessions, at least --min-violations):
 *   1 mid-DATA 552 + 421 + FIN while the client goes on sending and never closes
 *       -> smtp.reply_during_data, smtp.service_closing, tcp.half_open
 *   2 MAIL before HELO/EHLO, 503, QUIT            -> smtp.missing_helo
 *   3 "EHLO subN.example." 501, RSET, HELO 501, QUIT
 *       -> smtp.helo_syntax x2, smtp.helo_rejected x2, smtp.ehlo_fallback, smtp.no_greeting_accepted
 *   4 normal session, but the server never answers the client's FIN  -> tcp.half_open
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---------- random numbers (xoshiro256**, seeded by splitmix64) ---------- */
typedef struct { uint64_t s[4]; } Rng;
static uint64_t splitmix(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static void rng_seed(Rng *r, uint64_t seed) { for (int i = 0; i < 4; i++) r->s[i] = splitmix(&seed); }
static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
static inline uint64_t rnext(Rng *r) {
    uint64_t *s = r->s, res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = rotl(s[3], 45);
    return res;
}
static inline double runi(Rng *r) { return (rnext(r) >> 11) * (1.0 / 9007199254740992.0); }
static inline uint32_t rint_(Rng *r, uint32_t n) { return (uint32_t)(runi(r) * n); } /* [0,n) */
static double rnorm(Rng *r) {
    double u = runi(r), v = runi(r);
    if (u < 1e-300) u = 1e-300;
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}
static double rlognorm(Rng *r, double median, double sigma, double lo, double hi) {
    double x = median * exp(sigma * rnorm(r));
    return x < lo ? lo : x > hi ? hi : x;
}

/* ---------- parameters ---------- */
#define MAX_BODY (4u << 20)
#define MIN_BODY 1024u
#define POOL_SIZE (40u << 20)
static uint64_t g_size = 20ull << 20, g_seed = 42;
static int g_conc = 300;
static double g_v6 = 0.10, g_vrate = 0.005, g_retrans = 0.01, g_swap = 0.005;
static int g_minv = 20, g_fixedv = -1;
static const char *g_out, *g_truth;
static const uint64_t EPOCH_US = 1795615200ull * 1000000ull; /* 2026-11-25 14:00:00 UTC */

/* ---------- text pool for bodies: CRLF lines, none starting with '.', none over 80 ---------- */
static uint8_t *pool;
static uint32_t pool_len;
static const char *words[] = {
    "the", "of", "and", "to", "in", "is", "that", "for", "it", "as", "was", "with", "be", "by", "on",
    "not", "he", "this", "are", "or", "his", "from", "at", "which", "but", "have", "an", "had",
    "they", "you", "were", "their", "one", "all", "we", "can", "her", "has", "there", "been", "if",
    "more", "when", "will", "would", "who", "so", "no", "mail", "relay", "server", "queue",
    "message", "delivery", "report", "invoice", "meeting", "quarterly", "budget", "please",
    "attached", "review", "regards", "thanks", "project", "schedule", "update", "customer",
    "network", "capture", "packet", "session", "transfer", "protocol", "deadline", "tomorrow",
    "Monday", "Tuesday", "office", "contract", "version", "release", "draft", "final", "notes",
    "agenda", "minutes", "team", "figures", "summary", "details", "question", "answer", "option",
    "Hello,", "Best,", "Kind", "I", "We", "Our", "Your", "Please", "This", "The", "A", "In",
    "2026", "12.5%", "EUR", "(see", "below)", "item:", "-", "--", "re:", "fwd:", "OK", "done.",
};
static void build_pool(uint64_t seed) {
    Rng r; rng_seed(&r, seed ^ 0x5eedf00dULL);
    pool = malloc(POOL_SIZE + 256);
    uint32_t n = 0, nw = sizeof words / sizeof *words;
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    while (n < POOL_SIZE) {
        if (rint_(&r, 10) < 3) { /* a base64 block, 76-char lines */
            int lines = 20 + rint_(&r, 400);
            for (int l = 0; l < lines && n < POOL_SIZE; l++) {
                for (int i = 0; i < 76; i++) pool[n++] = b64[rnext(&r) & 63];
                pool[n++] = '\r'; pool[n++] = '\n';
            }
            pool[n++] = '\r'; pool[n++] = '\n';
        } else { /* a paragraph */
            int lines = 1 + rint_(&r, 12);
            for (int l = 0; l < lines && n < POOL_SIZE; l++) {
                int target = 30 + rint_(&r, 46), len = 0;
                while (len < target) {
                    const char *w = words[rint_(&r, nw)];
                    size_t wl = strlen(w);
                    if (len) { pool[n++] = ' '; len++; }
                    memcpy(pool + n, w, wl); n += wl; len += wl;
                }
                pool[n++] = '\r'; pool[n++] = '\n';
            }
            pool[n++] = '\r'; pool[n++] = '\n';
        }
    }
    pool_len = n;
}

/* ---------- hosts ---------- */
#define NV4 4000
#define NV6 400
typedef struct { uint8_t ip[16]; uint16_t port; } Host;
static Host v4c[NV4], v6c[NV6];
static const uint8_t srv4[3][4] = {{10, 0, 0, 25}, {10, 0, 0, 26}, {10, 0, 1, 25}};
static const uint8_t srv6[2][16] = {{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x25},
                                    {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x26}};
static const char *srvname[3] = {"mx1.example.net", "mx2.example.net", "submit.example.net"};

/* ---------- sessions ---------- */
enum { NORMAL = 0, V_MIDDATA = 1, V_NOHELO = 2, V_TRAILDOT = 3, V_HALFOPEN = 4 };
enum { F_FIN = 1, F_SYN = 2, F_RST = 4, F_PSH = 8, F_ACK = 16 };
#define QCAP 32
typedef struct { uint64_t t; const uint8_t *data; uint32_t len, seq, ack; uint8_t dir, flags; } Pkt;
typedef struct Session {
    uint64_t id, t;
    int kind, v6, state, srv, nrcpt, rcpt_done, sub;
    uint8_t cip[16], sip[16];
    uint16_t cport, sport, ipid[2];
    uint32_t nxt[2], rcv[2], tsoff[2], lastts[2], flow;
    uint32_t rtt, rate_gap, mss; /* microseconds; spacing between body segments */
    Pkt q[QCAP]; int qh, qn;
    /* body stream: [hdr][pool slice][".\r\n"] */
    const uint8_t *chunk[3]; uint32_t clen[3]; int ci; uint32_t coff;
    uint32_t stop_after; /* V_MIDDATA: body segments before the server's 552 */
    uint32_t segs_sent;
    char buf[3072]; int blen;
} Session;

static Rng R;
static uint64_t n_sessions, n_packets, n_bytes, n_v6, n_messages, n_retrans, n_swaps, kinds[5];
static uint64_t last_out;
static FILE *out;

static const char *add(Session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#include <stdarg.h>
static const char *add(Session *s, const char *fmt, ...) {
    va_list ap; va_start(ap, fmt);
    char *p = s->buf + s->blen;
    int n = vsnprintf(p, sizeof s->buf - s->blen, fmt, ap);
    va_end(ap);
    if (n < 0 || s->blen + n >= (int)sizeof s->buf) { fprintf(stderr, "generate: session buffer overflow\n"); exit(1); }
    s->blen += n + 1;
    return p;
}

/* queue a packet `dt` microseconds after the session's last one */
static Pkt *emit(Session *s, uint64_t dt, int dir, int flags, const void *data, uint32_t len) {
    if (s->qn >= QCAP) { fprintf(stderr, "generate: queue overflow\n"); exit(1); }
    s->t += dt;
    Pkt *p = &s->q[(s->qh + s->qn++) % QCAP];
    p->t = s->t; p->dir = dir; p->flags = flags; p->data = data; p->len = len;
    p->seq = s->nxt[dir]; p->ack = s->rcv[dir];
    s->nxt[dir] += len + ((flags & (F_SYN | F_FIN)) ? 1 : 0);
    return p;
}
/* ... and the other side receives everything sent so far by `dir` */
/* queue an exact copy of an earlier packet */
static void dup_pkt(Session *s, uint64_t dt, const Pkt *orig) {
    Pkt copy = *orig;
    if (s->qn >= QCAP) { fprintf(stderr, "generate: queue overflow\n"); exit(1); }
    s->t += dt;
    copy.t = s->t;
    s->q[(s->qh + s->qn++) % QCAP] = copy;
}
static void xfer(Session *s, uint64_t dt, int dir, int flags, const char *text) {
    emit(s, dt, dir, flags, text, (uint32_t)strlen(text));
    s->rcv[!dir] = s->nxt[dir];
}
static void xfer_ctl(Session *s, uint64_t dt, int dir, int flags) {
    emit(s, dt, dir, flags, NULL, 0);
    s->rcv[!dir] = s->nxt[dir];
}
static uint64_t think(Session *s) { return s->rtt + 50 + rint_(&R, 800); }   /* client answers */
static uint64_t proc(void) { return 40 + rint_(&R, 3000); }                  /* server answers */

static int body_next(Session *s, const uint8_t **p, uint32_t *len) {
    while (s->ci < 3 && s->coff >= s->clen[s->ci]) { s->ci++; s->coff = 0; }
    if (s->ci >= 3) return 0;
    uint32_t n = s->clen[s->ci] - s->coff;
    if (n > s->mss) n = s->mss;
    *p = s->chunk[s->ci] + s->coff; *len = n; s->coff += n;
    return 1;
}
static int body_left(Session *s) {
    while (s->ci < 3 && s->coff >= s->clen[s->ci]) { s->ci++; s->coff = 0; }
    return s->ci < 3;
}

static const char *months[] = {"Jan","Feb","Mar","Apr","May","Jun","Jul","Aug","Sep","Oct","Nov","Dec"};
static const char *wdays[] = {"Sun","Mon","Tue","Wed","Thu","Fri","Sat"};

static uint64_t est_bytes(uint32_t body) { return (uint64_t)body * 1083 / 1000 + 3120; } /* file bytes per session, calibrated */

static Session *new_session(uint64_t start, int kind) {
    Session *s = calloc(1, sizeof *s);
    s->id = ++n_sessions; s->t = start; s->kind = kind; kinds[kind]++;
    s->v6 = runi(&R) < g_v6;
    Host *h;
    if (s->v6) {
        n_v6++;
        h = &v6c[rint_(&R, NV6)]; s->srv = rint_(&R, 2);
        memcpy(s->sip, srv6[s->srv], 16); s->mss = 1428;
    } else {
        h = &v4c[rint_(&R, NV4)]; s->srv = rint_(&R, 3);
        memcpy(s->sip, srv4[s->srv], 4); s->mss = 1448;
    }
    memcpy(s->cip, h->ip, 16);
    s->cport = h->port; h->port = h->port >= 60999 ? 32768 : h->port + 1;
    s->sport = s->srv == 2 || runi(&R) < 0.1 ? 587 : 25;
    s->nxt[0] = (uint32_t)rnext(&R); s->nxt[1] = (uint32_t)rnext(&R);
    s->ipid[0] = (uint16_t)rnext(&R); s->ipid[1] = (uint16_t)rnext(&R);
    s->tsoff[0] = (uint32_t)rnext(&R); s->tsoff[1] = (uint32_t)rnext(&R);
    s->flow = (uint32_t)rnext(&R) & 0xfffff;
    s->rtt = (uint32_t)rlognorm(&R, 8000, 1.0, 200, 120000);
    double rate = rlognorm(&R, 60e3, 0.7, 16e3, 600e3); /* bytes per second */
    s->rate_gap = (uint32_t)(s->mss * 1e6 / rate);
    s->nrcpt = 1 + rint_(&R, 3);
    s->sub = rint_(&R, 10);
    uint32_t body = kind == V_MIDDATA ? 200000 : (uint32_t)rlognorm(&R, 12000, 1.5, MIN_BODY, MAX_BODY);
    /* pool slice on line boundaries */
    uint32_t off = rint_(&R, pool_len - body - 400);
    while (pool[off - (off ? 1 : 0)] != '\n' && off) off++;
    uint32_t end = off + body;
    while (pool[end - 1] != '\n') end++;
    s->chunk[1] = pool + off; s->clen[1] = end - off;
    s->chunk[2] = (const uint8_t *)".\r\n"; s->clen[2] = 3;
    if (kind == V_MIDDATA) { s->stop_after = 4 + rint_(&R, 12); }
    return s;
}

static uint32_t host_no(Session *s) { return s->v6 ? (uint32_t)s->cip[14] << 8 | s->cip[15] : (uint32_t)s->cip[2] << 8 | s->cip[3]; }

/* generate the session's next packets; returns 0 when the session has nothing more to send */
enum { ST_SYN, ST_GREET, ST_EHLO, ST_MAIL, ST_RCPT, ST_DATA, ST_BODY, ST_END, ST_QUIT, ST_CLOSE, ST_DONE,
       ST_NOHELO, ST_TRAIL, ST_MIDREPLY };
static int step(Session *s) {
    char cl[64];
    snprintf(cl, sizeof cl, "client%u.example.org", host_no(s) % 997);
    switch (s->state) {
    case ST_SYN:
        xfer_ctl(s, 0, 0, F_SYN);
        xfer_ctl(s, 20 + rint_(&R, 60), 1, F_SYN | F_ACK);
        xfer_ctl(s, s->rtt, 0, F_ACK);
        s->state = ST_GREET; return 1;
    case ST_GREET:
        xfer(s, 500 + rint_(&R, 30000), 1, F_PSH | F_ACK, add(s, "220 %s ESMTP Postfix (Debian/GNU)\r\n", srvname[s->srv]));
        s->state = s->kind == V_NOHELO ? ST_NOHELO : s->kind == V_TRAILDOT ? ST_TRAIL : ST_EHLO;
        return 1;
    case ST_NOHELO:
        xfer(s, think(s), 0, F_PSH | F_ACK, add(s, "MAIL FROM:<user%u@%s>\r\n", rint_(&R, 1000), cl));
        xfer(s, proc(), 1, F_PSH | F_ACK, add(s, "503 5.5.1 Error: send HELO/EHLO first\r\n"));
        s->state = ST_QUIT; return 1;
    case ST_TRAIL: {
        const char *dom = add(s, "sub%d.example.", s->sub);
        xfer(s, think(s), 0, F_PSH | F_ACK, add(s, "EHLO %s\r\n", dom));
        xfer(s, proc(), 1, F_PSH | F_ACK, add(s, "501 5.5.4 Invalid Address\r\n"));
        xfer(s, think(s), 0, F_PSH | F_ACK, add(s, "RSET\r\n"));
        xfer(s, proc(), 1, F_PSH | F_ACK, add(s, "250 2.0.0 Ok\r\n"));
        xfer(s, think(s), 0, F_PSH | F_ACK, add(s, "HELO %s\r\n", dom));
        xfer(s, proc(), 1, F_PSH | F_ACK, add(s, "501 5.5.4 Invalid Address\r\n"));
        s->state = ST_QUIT; return 1;
    }
    case ST_EHLO:
        xfer(s, think(s), 0, F_PSH | F_ACK, add(s, "EHLO %s\r\n", cl));
        xfer(s, proc(), 1, F_PSH | F_ACK,
             add(s, "250-%s\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250 CHUNKING\r\n",
                 srvname[s->srv]));
        s->state = ST_MAIL; return 1;
    case ST_MAIL: {
        /* the message header, now that the time is known */
        time_t secs = (time_t)((EPOCH_US + s->t) / 1000000);
        struct tm tm; gmtime_r(&secs, &tm);
        char to[200]; int tl = 0;
        for (int i = 0; i < s->nrcpt; i++)
            tl += snprintf(to + tl, sizeof to - tl, "%s<rcpt%u@example.net>", i ? ", " : "", (unsigned)(s->id * 7 + i) % 5000);
        const char *hdr = add(s,
            "Date: %s, %d %s %d %02d:%02d:%02d +0000\r\nFrom: User %u <user%u@%s>\r\nTo: %s\r\n"
            "Subject: Report %llu for week %d\r\nMessage-ID: <%llu.%08x@%s>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=us-ascii\r\n\r\n",
            wdays[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
            host_no(s), host_no(s), cl, to, (unsigned long long)s->id, 1 + (int)(s->id % 52),
            (unsigned long long)s->id, (uint32_t)rnext(&R), cl);
        s->chunk[0] = (const uint8_t *)hdr; s->clen[0] = (uint32_t)strlen(hdr);
        if (s->kind != V_MIDDATA && rint_(&R, 2))
            xfer(s, think(s), 0, F_PSH | F_ACK, add(s, "MAIL FROM:<user%u@%s> SIZE=%u\r\n", host_no(s), cl, s->clen[0] + s->clen[1]));
        else
            xfer(s, think(s), 0, F_PSH | F_ACK, add(s, "MAIL FROM:<user%u@%s>\r\n", host_no(s), cl));
        xfer(s, proc(), 1, F_PSH | F_ACK, add(s, "250 2.1.0 Ok\r\n"));
        s->state = ST_RCPT; return 1;
    }
    case ST_RCPT:
        xfer(s, think(s), 0, F_PSH | F_ACK, add(s, "RCPT TO:<rcpt%u@example.net>\r\n", (unsigned)(s->id * 7 + s->rcpt_done) % 5000));
        xfer(s, proc(), 1, F_PSH | F_ACK, add(s, "250 2.1.5 Ok\r\n"));
        if (++s->rcpt_done == s->nrcpt) s->state = ST_DATA;
        return 1;
    case ST_DATA:
        xfer(s, think(s), 0, F_PSH | F_ACK, add(s, "DATA\r\n"));
        xfer(s, proc(), 1, F_PSH | F_ACK, add(s, "354 End data with <CR><LF>.<CR><LF>\r\n"));
        s->state = ST_BODY; s->segs_sent = 0;
        s->t += s->rtt; /* the first body segment comes a round trip later */
        return 1;
    case ST_BODY: {
        /* two segments, then the server's ACK (delayed ACK: every other segment) */
        const uint8_t *p[2]; uint32_t l[2]; int n = 0;
        while (n < 2 && body_next(s, &p[n], &l[n])) n++;
        int last = !body_left(s);
        int normal = s->kind == NORMAL;
        if (n == 2 && normal && runi(&R) < g_swap) {
            /* reordered: the second segment is captured before the first */
            uint32_t seq0 = s->nxt[0];
            Pkt *b = emit(s, s->rate_gap, 0, F_ACK | F_PSH, p[1], l[1]);
            b->seq = seq0 + l[0];
            Pkt *a = emit(s, 30 + rint_(&R, 200), 0, F_ACK | F_PSH, p[0], l[0]);
            a->seq = seq0;
            s->nxt[0] = seq0 + l[0] + l[1];
            n_swaps++;
        } else {
            Pkt *seg[2];
            for (int i = 0; i < n; i++)
                seg[i] = emit(s, s->rate_gap, 0, F_ACK | (l[i] < s->mss || i == n - 1 ? F_PSH : 0), p[i], l[i]);
            /* a retransmission: an exact copy of a segment, after the pair, before its ACK */
            for (int i = 0; i < n; i++)
                if (normal && runi(&R) < g_retrans) { dup_pkt(s, 100 + rint_(&R, 2000), seg[i]); n_retrans++; }
        }
        s->rcv[1] = s->nxt[0];
        s->segs_sent += n;
        if (s->kind == V_MIDDATA && s->segs_sent >= s->stop_after) { s->state = ST_MIDREPLY; return 1; }
        if (!last) {
            xfer_ctl(s, 20 + rint_(&R, 100), 1, F_ACK);
            return 1;
        }
        s->state = ST_END; return 1;
    }
    case ST_MIDREPLY: {
        /* the server refuses mid-message and closes; the client goes on sending, ACKs the
           FIN, sends a little more, then falls silent: no FIN, no RST */
        { const char *r552 = add(s, "552 5.3.4 Message size exceeds fixed limit\r\n");
          emit(s, proc(), 1, F_PSH | F_ACK, r552, (uint32_t)strlen(r552)); }
        { const char *r421 = add(s, "421 4.3.0 Closing connection\r\n");
          emit(s, 30 + rint_(&R, 100), 1, F_PSH | F_ACK, r421, (uint32_t)strlen(r421)); }
        emit(s, 20 + rint_(&R, 50), 1, F_FIN | F_ACK, NULL, 0);
        const uint8_t *p; uint32_t l;
        int before = 1 + rint_(&R, 3), after = 1 + rint_(&R, 3);
        for (int i = 0; i < before && body_next(s, &p, &l); i++) emit(s, 40 + rint_(&R, s->rtt / 2 + 1), 0, F_ACK, p, l);
        s->rcv[0] = s->nxt[1];
        xfer_ctl(s, 10 + s->rtt / 2, 0, F_ACK); /* the client ACKs the 552, the 421 and the FIN */
        for (int i = 0; i < after && body_next(s, &p, &l); i++) { emit(s, s->rate_gap, 0, F_ACK | F_PSH, p, l); }
        s->rcv[1] = s->nxt[0];
        xfer_ctl(s, 20 + rint_(&R, 100), 1, F_ACK);
        s->state = ST_DONE; return 1;
    }
    case ST_END:
        xfer(s, 300 + rint_(&R, 20000), 1, F_PSH | F_ACK, add(s, "250 2.0.0 Ok: queued as %010llX\r\n", (unsigned long long)s->id * 2654435761ull % 0xffffffffffull));
        n_messages++;
        s->state = ST_QUIT; return 1;
    case ST_QUIT:
        xfer(s, think(s), 0, F_PSH | F_ACK, add(s, "QUIT\r\n"));
        xfer(s, proc(), 1, F_PSH | F_ACK, add(s, "221 2.0.0 Bye\r\n"));
        s->state = ST_CLOSE; return 1;
    case ST_CLOSE:
        if (s->kind == V_HALFOPEN) {
            /* the client closes; the server ACKs the FIN and never closes its side */
            xfer_ctl(s, think(s), 0, F_FIN | F_ACK);
            xfer_ctl(s, 20 + rint_(&R, 100), 1, F_ACK);
        } else {
            xfer_ctl(s, 30 + rint_(&R, 100), 1, F_FIN | F_ACK);
            xfer_ctl(s, s->rtt + rint_(&R, 200), 0, F_FIN | F_ACK);
            xfer_ctl(s, 20 + rint_(&R, 100), 1, F_ACK);
        }
        s->state = ST_DONE; return 1;
    default:
        return 0;
    }
}

/* ---------- packet writing ---------- */
static inline uint32_t csum_add(uint32_t sum, const uint8_t *p, uint32_t n) {
    uint64_t acc = sum;
    while (n >= 8) {
        uint32_t a, b; memcpy(&a, p, 4); memcpy(&b, p + 4, 4);
        acc += (uint64_t)a + b; p += 8; n -= 8;
    }
    while (n >= 2) { uint16_t a; memcpy(&a, p, 2); acc += a; p += 2; n -= 2; }
    if (n) { uint16_t a = 0; memcpy(&a, p, 1); acc += a; }
    while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
    return (uint32_t)acc;
}
static inline uint16_t csum_fin(uint32_t s) { while (s >> 16) s = (s & 0xffff) + (s >> 16); return (uint16_t)~s; }
static inline void be16(uint8_t *p, uint32_t v) { p[0] = v >> 8; p[1] = v; }
static inline void be32(uint8_t *p, uint32_t v) { p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v; }

static void write_pkt(Session *s, const Pkt *k) {
    static uint8_t f[2048];
    uint64_t t = k->t;
    if (t <= last_out) t = last_out + 1;
    last_out = t;
    uint64_t abs = EPOCH_US + t;
    int dir = k->dir;
    const uint8_t *src = dir ? s->sip : s->cip, *dst = dir ? s->cip : s->sip;
    uint8_t *e = f + 16, *ip = e + 14;
    /* Ethernet */
    static const uint8_t router[6] = {0x00, 0x1b, 0x21, 0x3a, 0x00, 0x01};
    uint8_t smac[6] = {0x52, 0x54, 0x00, 0x00, 0x00, (uint8_t)(0x25 + s->srv)};
    memcpy(e, dir ? router : smac, 6); memcpy(e + 6, dir ? smac : router, 6);
    be16(e + 12, s->v6 ? 0x86dd : 0x0800);
    int syn = k->flags & F_SYN, thl = syn ? 40 : 32, iphl = s->v6 ? 40 : 20;
    uint8_t *tcp = ip + iphl;
    uint32_t tcplen = thl + k->len;
    if (s->v6) {
        be32(ip, 0x60000000u | s->flow); be16(ip + 4, tcplen); ip[6] = 6; ip[7] = dir ? 64 : 57;
        memcpy(ip + 8, src, 16); memcpy(ip + 24, dst, 16);
    } else {
        ip[0] = 0x45; ip[1] = 0; be16(ip + 2, 20 + tcplen); be16(ip + 4, s->ipid[dir]++); be16(ip + 6, 0x4000);
        ip[8] = dir ? 64 : 57; ip[9] = 6; ip[10] = ip[11] = 0;
        memcpy(ip + 12, src, 4); memcpy(ip + 16, dst, 4);
        { uint16_t c4 = csum_fin(csum_add(0, ip, 20)); memcpy(ip + 10, &c4, 2); }
    }
    be16(tcp, dir ? s->sport : s->cport); be16(tcp + 2, dir ? s->cport : s->sport);
    be32(tcp + 4, k->seq); be32(tcp + 8, (k->flags & F_ACK) ? k->ack : 0);
    tcp[12] = (uint8_t)((thl / 4) << 4); tcp[13] = k->flags;
    be16(tcp + 14, syn ? (dir ? 65160 : 64240) : 502);
    tcp[16] = tcp[17] = 0; tcp[18] = tcp[19] = 0;
    uint32_t tsval = (uint32_t)(abs / 1000) + s->tsoff[dir];
    uint8_t *o = tcp + 20;
    if (syn) {
        o[0] = 2; o[1] = 4; be16(o + 2, s->v6 ? 1440 : 1460); o[4] = 4; o[5] = 2;
        o[6] = 8; o[7] = 10; be32(o + 8, tsval); be32(o + 12, (k->flags & F_ACK) ? s->lastts[!dir] : 0);
        o[16] = 1; o[17] = 3; o[18] = 3; o[19] = 7;
    } else {
        o[0] = 1; o[1] = 1; o[2] = 8; o[3] = 10; be32(o + 4, tsval); be32(o + 8, s->lastts[!dir]);
    }
    s->lastts[dir] = tsval;
    if (k->len) memcpy(tcp + thl, k->data, k->len);
    /* TCP checksum with the pseudo-header */
    uint32_t sum = 0;
    uint8_t ph[8];
    if (s->v6) { sum = csum_add(sum, src, 16); sum = csum_add(sum, dst, 16); be32(ph, tcplen); be32(ph + 4, 6); sum = csum_add(sum, ph, 8); }
    else { sum = csum_add(sum, src, 4); sum = csum_add(sum, dst, 4); ph[0] = 0; ph[1] = 6; be16(ph + 2, tcplen); sum = csum_add(sum, ph, 4); }
    sum = csum_add(sum, tcp, tcplen);
    uint16_t c = csum_fin(sum); memcpy(tcp + 16, &c, 2);
    uint32_t caplen = 14 + iphl + tcplen;
    uint32_t hdr[4] = {(uint32_t)(abs / 1000000), (uint32_t)(abs % 1000000), caplen, caplen};
    memcpy(f, hdr, 16);
    if (fwrite(f, 1, 16 + caplen, out) != 16 + caplen) { perror("generate: write"); exit(1); }
    n_packets++; n_bytes += caplen;
}

/* ---------- scheduler: a min-heap of sessions by their next packet's time ---------- */
static Session **heap; static int hn, hcap;
static int less(Session *a, Session *b) {
    uint64_t ta = a->q[a->qh].t, tb = b->q[b->qh].t;
    return ta < tb || (ta == tb && a->id < b->id);
}
static void hpush(Session *s) {
    if (hn == hcap) { hcap = hcap ? hcap * 2 : 1024; heap = realloc(heap, hcap * sizeof *heap); }
    int i = hn++;
    while (i && less(s, heap[(i - 1) / 2])) { heap[i] = heap[(i - 1) / 2]; i = (i - 1) / 2; }
    heap[i] = s;
}
static void hdown(int i) {
    Session *s = heap[i];
    for (;;) {
        int c = 2 * i + 1;
        if (c >= hn) break;
        if (c + 1 < hn && less(heap[c + 1], heap[c])) c++;
        if (!less(heap[c], s)) break;
        heap[i] = heap[c]; i = c;
    }
    heap[i] = s;
}

static uint64_t parse_size(const char *a) {
    char *end; double v = strtod(a, &end);
    switch (*end) { case 'k': case 'K': v *= 1024; break; case 'm': case 'M': v *= 1 << 20; break;
                    case 'g': case 'G': v *= 1 << 30; break; case 0: break;
                    default: fprintf(stderr, "generate: bad size '%s'\n", a); exit(2); }
    return (uint64_t)v;
}

static void usage(void) {
    fprintf(stderr,
        "usage: generate --size SIZE --out FILE [--truth FILE] [--seed N] [--concurrency N]\n"
        "                [--ipv6 FRACTION] [--violation-rate R] [--min-violations N] [--violations N]\n"
        "                [--retransmit P] [--swap P]\n"
        "  SIZE like 20M, 1G, 4G; --truth defaults to FILE.truth.json\n");
    exit(2);
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
#define OPT(name) (!strcmp(a, name) && v && ++i)
        if (OPT("--size")) g_size = parse_size(v);
        else if (OPT("--seed")) g_seed = strtoull(v, NULL, 10);
        else if (OPT("--out")) g_out = v;
        else if (OPT("--truth")) g_truth = v;
        else if (OPT("--concurrency")) g_conc = atoi(v);
        else if (OPT("--ipv6")) g_v6 = atof(v);
        else if (OPT("--violation-rate")) g_vrate = atof(v);
        else if (OPT("--min-violations")) g_minv = atoi(v);
        else if (OPT("--violations")) g_fixedv = atoi(v);
        else if (OPT("--retransmit")) g_retrans = atof(v);
        else if (OPT("--swap")) g_swap = atof(v);
        else usage();
    }
    if (!g_out || g_conc < 1) usage();
    char truthbuf[4096];
    if (!g_truth) { snprintf(truthbuf, sizeof truthbuf, "%s.truth.json", g_out); g_truth = truthbuf; }

    rng_seed(&R, g_seed);
    build_pool(g_seed);
    for (int i = 0; i < NV4; i++) {
        uint8_t *ip = v4c[i].ip;
        ip[0] = 10; ip[1] = 1 + rint_(&R, 254); ip[2] = rint_(&R, 256); ip[3] = 1 + rint_(&R, 254);
        v4c[i].port = 32768 + rint_(&R, 28000);
    }
    for (int i = 0; i < NV6; i++) {
        static const uint8_t pre[8] = {0x20, 0x01, 0x0d, 0xb8, 0x01, 0x00, 0, 0};
        memcpy(v6c[i].ip, pre, 8); v6c[i].ip[6] = rint_(&R, 256); v6c[i].ip[7] = rint_(&R, 256);
        v6c[i].ip[14] = (uint8_t)(i >> 8); v6c[i].ip[15] = (uint8_t)i; v6c[i].ip[13] = 1 + rint_(&R, 250);
        v6c[i].port = 32768 + rint_(&R, 28000);
    }

    /* how many sessions the size will hold (an estimate from the same distribution) */
    Rng er; rng_seed(&er, g_seed ^ 0xe57ULL);
    uint64_t est = 0, nest = 0;
    while (est < g_size) { est += est_bytes((uint32_t)rlognorm(&er, 12000, 1.5, MIN_BODY, MAX_BODY)); nest++; }
    uint64_t vper = g_fixedv >= 0 ? (uint64_t)g_fixedv : (uint64_t)llround(g_vrate * nest);
    if (g_fixedv < 0 && vper < (uint64_t)g_minv) vper = g_minv;
    uint64_t vtotal = 4 * vper, vdone = 0;
    double vinterval = (double)nest / (vtotal + 1);

    out = fopen(g_out, "wb");
    if (!out) { perror(g_out); return 1; }
    setvbuf(out, NULL, _IOFBF, 8 << 20);
    uint32_t gh[6] = {0xa1b2c3d4, 0x00040002, 0, 0, 262144, 1};
    fwrite(gh, 1, 24, out);

    uint64_t committed = 24, created = 0;
    /* create a session starting at `start`, if the budget (or the violation quota) allows */
#define SPAWN(start) do { \
        int kind_ = -1; \
        if (committed < g_size) { \
            kind_ = NORMAL; \
            if (vdone < vtotal && created + 1 >= (uint64_t)((vdone + 1) * vinterval)) kind_ = 1 + (int)(vdone++ % 4); \
        } else if (vdone < vtotal) kind_ = 1 + (int)(vdone++ % 4); \
        if (kind_ >= 0) { \
            Session *ns_ = new_session((start), kind_); created++; \
            committed += kind_ == NORMAL || kind_ == V_HALFOPEN ? est_bytes(ns_->clen[1]) : 6000; \
            step(ns_); hpush(ns_); \
        } \
    } while (0)

    for (int i = 0; i < g_conc; i++) SPAWN((uint64_t)rint_(&R, 2000000));
    while (hn) {
        Session *s = heap[0];
        write_pkt(s, &s->q[s->qh]);
        s->qh = (s->qh + 1) % QCAP; s->qn--;
        if (s->qn == 0 && !step(s)) {
            uint64_t end = s->t;
            heap[0] = heap[--hn];
            if (hn) hdown(0);
            free(s);
            SPAWN(end + 1000 + rint_(&R, 50000));
        } else {
            hdown(0);
        }
    }
    if (fclose(out)) { perror("generate: close"); return 1; }

    FILE *tf = fopen(g_truth, "w");
    if (!tf) { perror(g_truth); return 1; }
    uint64_t mid = kinds[V_MIDDATA], noh = kinds[V_NOHELO], td = kinds[V_TRAILDOT], ho = kinds[V_HALFOPEN];
    fprintf(tf,
        "{\"generator\": \"Benchmarks/generate.c\", \"seed\": %llu, \"size_requested\": %llu, \"file_bytes\": %llu,\n"
        " \"sessions\": %llu, \"ipv6_sessions\": %llu, \"messages\": %llu, \"packets\": %llu, \"bytes\": %llu,\n"
        " \"span_seconds\": %.6f, \"retransmitted_segments\": %llu, \"out_of_order_segments\": %llu,\n"
        " \"violation_sessions\": {\"mid_data_reply\": %llu, \"missing_helo\": %llu, \"trailing_dot_helo\": %llu, \"half_open_after_fin\": %llu},\n"
        " \"findings\": {\"smtp.ehlo_fallback\": %llu, \"smtp.helo_rejected\": %llu, \"smtp.helo_syntax\": %llu, "
        "\"smtp.missing_helo\": %llu, \"smtp.no_greeting_accepted\": %llu, \"smtp.reply_during_data\": %llu, "
        "\"smtp.service_closing\": %llu, \"tcp.half_open\": %llu}}\n",
        (unsigned long long)g_seed, (unsigned long long)g_size, (unsigned long long)(24 + 16 * n_packets + n_bytes),
        (unsigned long long)n_sessions, (unsigned long long)n_v6, (unsigned long long)n_messages,
        (unsigned long long)n_packets, (unsigned long long)n_bytes, last_out / 1e6,
        (unsigned long long)n_retrans, (unsigned long long)n_swaps,
        (unsigned long long)mid, (unsigned long long)noh, (unsigned long long)td, (unsigned long long)ho,
        (unsigned long long)td, (unsigned long long)(2 * td), (unsigned long long)(2 * td), (unsigned long long)noh,
        (unsigned long long)td, (unsigned long long)mid, (unsigned long long)mid, (unsigned long long)(mid + ho));
    fclose(tf);
    return 0;
}
