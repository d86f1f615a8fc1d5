#!/usr/bin/env python3
"""Writes tshark-streams.tsv: for every TCP stream of every capture in ../shared/corpus and
Fixtures/, the two endpoints and, per direction, the length and FNV-1a 64-bit hash of the bytes
`tshark -q -z follow,tcp,raw,N` reassembles. The tests compare smtp-trace's reassembled streams
with these, so tshark is needed only to regenerate this file, not to run the tests.

Usage (from the package root):  python3 Tests/CorpusOracles/make-tshark-streams.py
Needs tshark (Debian: apt-get install tshark). Made with TShark 4.0.17.
"""
import glob, os, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(os.path.dirname(ROOT), "shared", "corpus")
OUT = os.path.join(ROOT, "Tests", "CorpusOracles", "tshark-streams.tsv")


def fnv1a64(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def streams(path):
    out = subprocess.run(["tshark", "-r", path, "-T", "fields", "-e", "tcp.stream"],
                         capture_output=True, text=True).stdout
    return sorted({int(x) for x in out.split() if x.strip().isdigit()})


def follow(path, ids):
    args = ["tshark", "-r", path, "-q"]
    for i in ids:
        args += ["-z", f"follow,tcp,raw,{i}"]
    text = subprocess.run(args, capture_output=True, text=True).stdout
    result = {}
    for block in text.split("===================================================================\nFollow: tcp,raw\n")[1:]:
        lines = block.split("\n")
        stream = int(lines[0].split("eq")[1].strip())
        node0 = lines[1].split(": ", 1)[1]
        node1 = lines[2].split(": ", 1)[1]
        data = [bytearray(), bytearray()]
        for line in lines[3:]:
            if line.startswith("=========="):
                break
            if not line.strip():
                continue
            side = 1 if line.startswith("\t") else 0
            data[side] += bytes.fromhex(line.strip())
        result[stream] = (node0, node1, data)
    return result


def main():
    captures = sorted(glob.glob(os.path.join(CORPUS, "*", "*")))
    captures = [c for c in captures if os.path.isfile(c) and not c.endswith((".txt", ".md")) and ".expected" not in c]
    captures += sorted(glob.glob(os.path.join(ROOT, "Fixtures", "*.pcap")) + glob.glob(os.path.join(ROOT, "Fixtures", "*.pcapng")))
    rows = ["# capture\tstream\tnode0\tnode1\tnode0_bytes\tnode0_fnv1a64\tnode1_bytes\tnode1_fnv1a64"]
    for path in captures:
        name = os.path.relpath(path, CORPUS) if path.startswith(CORPUS) else "Fixtures/" + os.path.basename(path)
        ids = streams(path)
        for start in range(0, len(ids), 50):
            for stream, (n0, n1, data) in sorted(follow(path, ids[start:start + 50]).items()):
                rows.append(f"{name}\t{stream}\t{n0}\t{n1}\t{len(data[0])}\t{fnv1a64(data[0]):016x}\t{len(data[1])}\t{fnv1a64(data[1]):016x}")
        print(name, len(ids), file=sys.stderr)
    with open(OUT, "w") as f:
        f.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
