#!/usr/bin/env python3
"""Add out-of-order and overlapping-retransmission segments to a capture.

Stdlib only.  Input: a classic pcap, link type EN10MB, one IPv4 TCP session
(as recorded by record.sh on lo).  The client is the side that sent the
first SYN; all positions are client *relative* sequence numbers (relative to
the client's ISN, as tshark shows them).

Usage:
  reorder.py IN.pcap OUT.pcap --swap REL --overlap REL [--overlap-after N]

  --swap REL      swap the client data segment starting at relative seq REL
                  with the client data segment that follows it in the file
                  (the packets trade places; timestamps stay in file order),
                  so the later bytes are seen first: out-of-order.
  --overlap REL   build one extra client segment covering the second half of
                  the segment at REL and the first half of the next segment,
                  with exactly the same bytes (an overlapping retransmission,
                  as sent by a stack that re-packetised its retransmit queue).
                  IP total length/ID/checksum and the TCP checksum are
                  computed for the new packet.
  --overlap-after N  insert it N packets after the second of those two
                  segments (default 3); its timestamp is 1 us after the
                  packet it follows.
"""
import argparse
import struct
import sys


def read_pcap(path):
    data = open(path, "rb").read()
    magic = struct.unpack("<I", data[:4])[0]
    if magic not in (0xA1B2C3D4, 0xA1B23C4D):
        raise SystemExit("need a little-endian classic pcap")
    hdr = data[:24]
    if struct.unpack("<I", hdr[20:24])[0] != 1:
        raise SystemExit("need link type EN10MB")
    pkts, off = [], 24
    while off < len(data):
        ts, frac, incl, orig = struct.unpack("<IIII", data[off:off + 16])
        pkts.append([ts, frac, orig, data[off + 16:off + 16 + incl]])
        off += 16 + incl
    nano = magic == 0xA1B23C4D
    return hdr, pkts, nano


def parse(frame):
    """Return (src_port, dst_port, seq, flags, payload_offset, payload) or None."""
    if struct.unpack(">H", frame[12:14])[0] != 0x0800:
        return None
    ip = 14
    ihl = (frame[ip] & 0x0F) * 4
    if frame[ip + 9] != 6:
        return None
    tot = struct.unpack(">H", frame[ip + 2:ip + 4])[0]
    tcp = ip + ihl
    sport, dport, seq = struct.unpack(">HHI", frame[tcp:tcp + 8])
    doff = (frame[tcp + 12] >> 4) * 4
    flags = frame[tcp + 13]
    pl = tcp + doff
    return sport, dport, seq, flags, pl, frame[pl:ip + tot]


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def build_segment(template, seq, payload):
    """Copy template's Ethernet/IP/TCP headers, set seq and payload."""
    ip = 14
    ihl = (template[ip] & 0x0F) * 4
    tcp = ip + ihl
    doff = (template[tcp + 12] >> 4) * 4
    eth = template[:ip]
    iph = bytearray(template[ip:tcp])
    tcph = bytearray(template[tcp:tcp + doff])
    struct.pack_into(">H", iph, 2, ihl + doff + len(payload))
    struct.pack_into(">H", iph, 10, 0)
    struct.pack_into(">H", iph, 10, csum(bytes(iph)))
    struct.pack_into(">I", tcph, 4, seq)
    struct.pack_into(">H", tcph, 16, 0)
    pseudo = iph[12:20] + struct.pack(">BBH", 0, 6, doff + len(payload))
    struct.pack_into(">H", tcph, 16, csum(bytes(pseudo) + bytes(tcph) + payload))
    return eth + bytes(iph) + bytes(tcph) + payload


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("infile")
    ap.add_argument("outfile")
    ap.add_argument("--swap", type=int, required=True)
    ap.add_argument("--overlap", type=int, required=True)
    ap.add_argument("--overlap-after", type=int, default=3)
    a = ap.parse_args()

    hdr, pkts, nano = read_pcap(a.infile)
    client = isn = None
    for p in pkts:
        t = parse(p[3])
        if t and t[3] & 0x02 and not t[3] & 0x10:   # SYN without ACK
            client, isn = t[0], t[2]
            break
    if client is None:
        raise SystemExit("no client SYN found")

    def client_data_index(rel):
        for i, p in enumerate(pkts):
            t = parse(p[3])
            if t and t[0] == client and t[5] and (t[2] - isn) % 2**32 == rel:
                return i
        raise SystemExit("no client data segment at relative seq %d" % rel)

    def next_client_data(i):
        for j in range(i + 1, len(pkts)):
            t = parse(pkts[j][3])
            if t and t[0] == client and t[5]:
                return j
        raise SystemExit("no following client segment")

    # (c) overlapping retransmission, computed on the original order
    i = client_data_index(a.overlap)
    j = next_client_data(i)
    ti, tj = parse(pkts[i][3]), parse(pkts[j][3])
    if (ti[2] + len(ti[5])) % 2**32 != tj[2]:
        raise SystemExit("segments at %d and the next are not contiguous" % a.overlap)
    h1, h2 = len(ti[5]) // 2, len(tj[5]) // 2
    payload = ti[5][h1:] + tj[5][:h2]
    new = build_segment(pkts[j][3], (ti[2] + h1) % 2**32, payload)
    at = j + a.overlap_after
    ts, frac = pkts[at][0], pkts[at][1] + (1000 if nano else 1)
    limit = 10**9 if nano else 10**6
    if frac >= limit:
        ts, frac = ts + 1, frac - limit
    pkts.insert(at + 1, [ts, frac, len(new), new])
    overlap_frame = at + 2                  # 1-based frame number

    # (a) swap two consecutive client data segments (keep timestamp slots)
    i = client_data_index(a.swap)
    j = next_client_data(i)
    pkts[i][2:], pkts[j][2:] = pkts[j][2:], pkts[i][2:]

    with open(a.outfile, "wb") as f:
        f.write(hdr)
        for ts, frac, orig, frame in pkts:
            f.write(struct.pack("<IIII", ts, frac, len(frame), orig) + frame)
    print("swapped frames %d and %d; overlapping retransmission inserted as frame %d "
          "(rel seq %d, %d bytes)" % (i + 1, j + 1, overlap_frame, a.overlap + h1, len(payload)))


if __name__ == "__main__":
    sys.exit(main())
