#!/usr/bin/env python3
"""Rewrite the link layer of a classic pcap recorded on Linux loopback.

Stdlib only (no scapy), so the fixture rewrite is reproducible anywhere.

Usage:
  relink.py MODE IN.pcap OUT.pcap [options]

IN.pcap must be a classic pcap (either byte order, micro- or nanosecond
timestamps) with link type EN10MB (1), e.g. `tcpdump -i lo -w IN.pcap`.
The output keeps every packet, timestamp, the timestamp resolution and the
snaplen; it is written in little-endian byte order.

Modes:
  vlan   Insert one 802.1Q tag after the MAC addresses:
           TPID 0x8100, TCI = (PCP<<13)|VID   (default VID 100, PCP 0)
         Link type stays EN10MB (1).                 Option: --vid N
  qinq   Insert an 802.1ad service tag then an 802.1Q customer tag:
           TPID 0x88a8 VID outer, TPID 0x8100 VID inner, then the original
           EtherType.  Defaults: outer VID 200, inner VID 100.
         Link type stays EN10MB (1).   Options: --outer-vid N --inner-vid N
  null   BSD loopback, link type NULL (0): the 14-byte Ethernet header is
         replaced by a 4-byte address family in little-endian (host) byte
         order: 2 (AF_INET) for IPv4, 24 (AF_INET6 as on NetBSD/OpenBSD) for
         IPv6 unless --af6 N is given (28 = FreeBSD, 30 = macOS).
  raw    Link type RAW (101 in the file header, DLT_RAW): the Ethernet header
         is stripped, each packet starts with the IPv4/IPv6 header.

Frame lengths: both caplen and the original wire length are adjusted by the
number of bytes added or removed.
"""
import argparse
import struct
import sys

LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101

MAGIC_US = 0xA1B2C3D4
MAGIC_NS = 0xA1B23C4D


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        raise SystemExit("%s: too short for a pcap header" % path)
    for endian in ("<", ">"):
        magic = struct.unpack(endian + "I", data[:4])[0]
        if magic in (MAGIC_US, MAGIC_NS):
            break
    else:
        raise SystemExit("%s: not a classic pcap file (pcapng? use editcap -F pcap)" % path)
    _, vmaj, vmin, thiszone, sigfigs, snaplen, network = struct.unpack(
        endian + "IHHiIII", data[:24])
    header = dict(magic=magic, vmaj=vmaj, vmin=vmin, thiszone=thiszone,
                  sigfigs=sigfigs, snaplen=snaplen, network=network & 0xFFFF)
    packets = []
    off = 24
    while off < len(data):
        if off + 16 > len(data):
            raise SystemExit("%s: truncated record header at offset %d" % (path, off))
        ts_sec, ts_frac, incl, orig = struct.unpack(endian + "IIII", data[off:off + 16])
        off += 16
        if off + incl > len(data):
            raise SystemExit("%s: truncated packet at offset %d" % (path, off))
        packets.append((ts_sec, ts_frac, orig, data[off:off + incl]))
        off += incl
    return header, packets


def write_pcap(path, header, network, packets, snaplen_delta):
    out = [struct.pack("<IHHiIII", header["magic"], 2, 4, header["thiszone"],
                       header["sigfigs"],
                       max(header["snaplen"] + snaplen_delta, 0) or 262144,
                       network)]
    for ts_sec, ts_frac, orig, frame in packets:
        out.append(struct.pack("<IIII", ts_sec, ts_frac, len(frame), orig))
        out.append(frame)
    with open(path, "wb") as f:
        f.write(b"".join(out))


def vlan_tag(tpid, vid, pcp=0):
    if not 0 <= vid <= 4095:
        raise SystemExit("VID out of range: %d" % vid)
    return struct.pack(">HH", tpid, (pcp << 13) | vid)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["vlan", "qinq", "null", "raw"])
    p.add_argument("infile")
    p.add_argument("outfile")
    p.add_argument("--vid", type=int, default=100)
    p.add_argument("--pcp", type=int, default=0)
    p.add_argument("--outer-vid", type=int, default=200)
    p.add_argument("--inner-vid", type=int, default=100)
    p.add_argument("--af6", type=int, default=24)
    a = p.parse_args(argv)

    header, packets = read_pcap(a.infile)
    if header["network"] != LINKTYPE_ETHERNET:
        raise SystemExit("%s: link type %d, expected EN10MB (1)" % (a.infile, header["network"]))

    out = []
    if a.mode in ("vlan", "qinq"):
        if a.mode == "vlan":
            tags = vlan_tag(0x8100, a.vid, a.pcp)
        else:
            tags = vlan_tag(0x88A8, a.outer_vid) + vlan_tag(0x8100, a.inner_vid, a.pcp)
        for ts_sec, ts_frac, orig, frame in packets:
            if len(frame) < 14:
                raise SystemExit("frame shorter than an Ethernet header")
            out.append((ts_sec, ts_frac, orig + len(tags),
                        frame[:12] + tags + frame[12:]))
        write_pcap(a.outfile, header, LINKTYPE_ETHERNET, out, len(tags))
    elif a.mode in ("null", "raw"):
        for ts_sec, ts_frac, orig, frame in packets:
            ethertype = struct.unpack(">H", frame[12:14])[0]
            payload = frame[14:]
            if a.mode == "raw":
                if ethertype not in (0x0800, 0x86DD):
                    raise SystemExit("non-IP frame (EtherType 0x%04x) cannot be RAW" % ethertype)
                out.append((ts_sec, ts_frac, orig - 14, payload))
            else:
                if ethertype == 0x0800:
                    af = 2
                elif ethertype == 0x86DD:
                    af = a.af6
                else:
                    raise SystemExit("EtherType 0x%04x has no BSD address family" % ethertype)
                out.append((ts_sec, ts_frac, orig - 10, struct.pack("<I", af) + payload))
        if a.mode == "raw":
            write_pcap(a.outfile, header, LINKTYPE_RAW, out, -14)
        else:
            write_pcap(a.outfile, header, LINKTYPE_NULL, out, -10)
    print("%s: %d packets -> %s (%s)" % (a.infile, len(out), a.outfile, a.mode))
    return 0


if __name__ == "__main__":
    sys.exit(main())
