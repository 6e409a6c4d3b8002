"""Rebuild pride_and_prejudice.txt.gz from Debian's r-cran-janeaustenr package (provenance record).

Not used at run time or in CI: the corpus file is committed. To check or redo it by hand:

    apt-get download r-cran-janeaustenr && dpkg-deb -x r-cran-janeaustenr_*.deb /tmp/ja
    python core/data/corpus/rebuild.py /tmp/ja/usr/lib/R/site-library/janeaustenr/data/Rdata.rdb

The package stores each novel as an R character vector (one element per line) in an R lazy-load
database: a sequence of [4-byte big-endian length][zlib stream] records, each an XDR-serialised R
object. This reads the record whose first line is "PRIDE AND PREJUDICE" and joins its lines.
"""

import gzip
import hashlib
import struct
import sys
import zlib
from pathlib import Path

OUT = Path(__file__).with_name("pride_and_prejudice.txt.gz")
SHA256 = "dfc684d4f857fa938268f9ab9c5567b64bd0691251eca959644adeabe6287a4d"  # of the uncompressed text


def records(blob: bytes):
    pos = 0
    while pos < len(blob):
        d = zlib.decompressobj()
        out = d.decompress(blob[pos + 4:])
        pos = len(blob) - len(d.unused_data)
        yield out


def character_vector(buf: bytes) -> list[str] | None:
    """The lines of a serialised R character vector (STRSXP), or None for any other object."""
    if buf[:2] != b"X\n":
        return None
    p = 2
    version = struct.unpack(">i", buf[p:p + 4])[0]
    p += 12  # format version, writer R version, minimal reader R version
    if version == 3:
        p += 4 + struct.unpack(">i", buf[p:p + 4])[0]  # native encoding name
    if struct.unpack(">i", buf[p:p + 4])[0] & 0xFF != 16:  # STRSXP
        return None
    n = struct.unpack(">i", buf[p + 4:p + 8])[0]
    p += 8
    lines = []
    for _ in range(n):
        length = struct.unpack(">i", buf[p + 4:p + 8])[0]  # after the CHARSXP flags word
        p += 8
        lines.append("" if length < 0 else buf[p:p + length].decode("utf-8"))
        p += max(length, 0)
    return lines


def main(rdb: str) -> None:
    for rec in records(Path(rdb).read_bytes()):
        lines = character_vector(rec)
        if lines and lines[0] == "PRIDE AND PREJUDICE":
            text = ("\n".join(lines) + "\n").encode("utf-8")
            digest = hashlib.sha256(text).hexdigest()
            sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the repo root, for core.atomic
            from core.atomic import atomic_open

            with atomic_open(OUT) as f, gzip.GzipFile("pride_and_prejudice.txt", "wb", 9, f, mtime=0) as g:
                g.write(text)
            print(f"wrote {OUT} ({len(text):,} bytes, sha256 {digest}, {'matches' if digest == SHA256 else 'DIFFERS'})")
            return
    sys.exit(f"error: no 'PRIDE AND PREJUDICE' record in {rdb}")


if __name__ == "__main__":
    main(sys.argv[1])
