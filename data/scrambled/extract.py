#!/usr/bin/env python3
"""Regenerates sentences.txt: English message strings (msgids) of gettext catalogs installed
under /usr/share/locale, filtered to plain one-line sentences.

    python3 data/scrambled/extract.py > data/scrambled/sentences.txt

A msgid is kept when it starts with a capital letter, ends with a full stop, holds only ASCII
letters, spaces, commas, apostrophes and hyphens in between, has 5 to 12 words and at most 72
characters. Duplicates (ignoring case) are dropped, and at most PER_DOMAIN[d] sentences are kept
per catalog domain, chosen by the SHA-256 of the sentence (so the choice does not depend on the
order in which catalogs are read). The output is sorted by domain, then by sentence.
"""
import glob
import hashlib
import re
import struct
import sys

# Catalog domain -> most sentences taken from it (LGPL-2.1-or-later or PostgreSQL Licence).
PER_DOMAIN = {
    "gsettings-desktop-schemas": 80,
    "gtk20-properties": 60,
    "appstream": 50,
    "systemd": 30,
    "glib20": 20,
    "postgres-15": 120,
}
SENTENCE = re.compile(r"[A-Z][A-Za-z ,'\-]+\.")


def msgids(path):
    """The msgids of one .mo file (contexts removed, plural forms: the singular)."""
    data = open(path, "rb").read()
    if len(data) < 20:
        return []
    order = "<" if struct.unpack("<I", data[:4])[0] == 0x950412DE else ">"
    _, _, count, offsets, _ = struct.unpack(order + "5I", data[:20])
    out = []
    for i in range(count):
        length, start = struct.unpack(order + "2I", data[offsets + 8 * i : offsets + 8 * i + 8])
        text = data[start : start + length].split(b"\0")[0].decode("utf-8", "replace")
        out.append(text.split("\x04", 1)[-1])
    return out


def main():
    seen = set()
    rows = []
    for domain, cap in PER_DOMAIN.items():
        found = set()
        for path in sorted(glob.glob(f"/usr/share/locale/*/LC_MESSAGES/{domain}.mo")):
            found.update(msgids(path))
        keep = [
            s
            for s in found
            if SENTENCE.fullmatch(s) and 5 <= len(s.split()) <= 12 and len(s) <= 72
        ]
        keep.sort(key=lambda s: hashlib.sha256(s.encode()).hexdigest())
        taken = []
        for s in keep:
            if s.lower() not in seen and len(taken) < cap:
                seen.add(s.lower())
                taken.append(s)
        print(f"{domain}: {len(taken)} of {len(keep)}", file=sys.stderr)
        rows.extend(sorted(taken))
    for s in rows:
        print(s)


if __name__ == "__main__":
    main()
