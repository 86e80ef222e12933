#!/usr/bin/env python3
"""Prints what CPython's `random` returns for the calls `src/pyrandom.rs` ports, as JSON.

    python3 plugins/scramble/tests/python_random.py > plugins/scramble/tests/python_random.json
"""
import json
import random
import string
import struct
import sys

cases = []
for seed in [0, 1, 10, 12345, 2**32 + 7]:
    r = random.Random(seed)
    case = {"seed": seed}
    # IEEE-754 bit patterns, so that the comparison is exact whatever parses the JSON.
    case["random"] = [struct.unpack("<Q", struct.pack("<d", r.random()))[0] for _ in range(5)]
    case["getrandbits"] = [r.getrandbits(k) for k in [1, 7, 31, 32, 33, 64]]
    case["randbelow"] = [r._randbelow(n) for n in [1, 2, 3, 10, 51, 1000, 70000]]
    case["sample_small"] = r.sample(range(10), 4)
    case["sample_large"] = r.sample(range(500), 30)
    case["sample_all"] = r.sample(range(10), 10)
    case["choice"] = "".join(r.choice(string.ascii_lowercase) for _ in range(8))
    cases.append(case)
json.dump({"python": sys.version.split()[0], "cases": cases}, sys.stdout, indent=1)
print()
