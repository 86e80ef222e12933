#!/usr/bin/env python3
"""The notes' scramblers written with CPython's own `random` and `re`, to check the Rust port
character for character (study 7; Cao et al., 2023).

    python3 plugins/scramble/tests/python_scramble.py > plugins/scramble/tests/python_scramble.json

Written from the study notes' description: `re.split(r"(\\W)")` tokens, tokens with more than one
letter eligible, letters permuted by a Fisher-Yates pass in which one random position is forced
to swap with an earlier one, Random Scramble built in 10 % steps from a reseeded generator,
KeepFirst / KeepFirstLast, and substitution by a random other ASCII letter.
"""
import json
import random
import re
import string
import sys

SEED = 10
SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Don't stop: 42 items, x2y2 and foo_bar remain!",
    "Authentication is required to attach a device to a seat.",
    "A b cd efg hijk lmnop.",
    "Whether toolkits should load accessibility related modules.",
    "Distance in pixels before movement will be recognized.",
]


def tidy(text):
    return "\n".join(" ".join(line.split()) for line in text.splitlines())


def forced_shuffle(items):
    forced = random.sample(range(1, len(items)), 1)[0]
    for i in reversed(range(1, len(items))):
        bound = i if i == forced else i + 1
        j = int(random.random() * bound)
        items[i], items[j] = items[j], items[i]


def permute(word, head, tail, least):
    letters = [c for c in word if c.isalpha()]
    if len(letters) < least:
        return word
    middle = letters[head : len(letters) - tail]
    forced_shuffle(middle)
    out, seen = [], 0
    for c in word:
        if not c.isalpha():
            out.append(c)
            continue
        seen += 1
        out.append(c if seen <= head or seen > len(letters) - tail else middle.pop(0))
    return "".join(out)


def substitute(word):
    if sum(c.isalpha() for c in word) <= 1:
        return word
    return "".join(
        random.choice(string.ascii_letters.replace(c, "")) if c.isalpha() else c for c in word
    )


def eligible(tokens):
    return [i for i, t in enumerate(tokens) if sum(c.isalpha() for c in t) > 1]


def random_steps(sentences, seed, steps=10):
    texts, chosen, out = list(sentences), [[] for _ in sentences], []
    for step in range(1, steps + 1):
        random.seed(seed)
        for s, text in enumerate(texts):
            tokens = re.split(r"(\W)", text)
            ids = eligible(tokens)
            unit = len(ids) * 0.1
            left = sorted(set(ids) - set(chosen[s]))
            picked = random.sample(left, k=round(unit * step) - round(unit * (step - 1)))
            for i in picked:
                tokens[i] = permute(tokens[i], 0, 0, 2)
            texts[s] = tidy("".join(tokens))
            chosen[s] = chosen[s] + picked
        out.append(list(texts))
    return out


def per_word(sentences, seed, fn):
    random.seed(seed)
    return [tidy("".join(fn(t) for t in re.split(r"(\W)", s))) for s in sentences]


def substituted(sentences, seed):
    random.seed(seed)
    out = []
    for s in sentences:
        tokens = re.split(r"(\W)", s)
        ids = eligible(tokens)
        for i in random.sample(ids, k=round(len(ids) * 1)):
            tokens[i] = substitute(tokens[i])
        out.append(tidy("".join(tokens)))
    return out


def at_rate(sentences, seed, rate):
    random.seed(seed)
    out = []
    for s in sentences:
        tokens = re.split(r"(\W)", s)
        ids = eligible(tokens)
        for i in random.sample(ids, k=round(len(ids) * rate)):
            tokens[i] = permute(tokens[i], 0, 0, 2)
        out.append(tidy("".join(tokens)))
    return out


steps = random_steps(SENTENCES, SEED)
json.dump(
    {
        "python": sys.version.split()[0],
        "seed": SEED,
        "sentences": SENTENCES,
        "random_20": steps[1],
        "random_50": steps[4],
        "random_100": steps[9],
        "keep_first": per_word(SENTENCES, SEED, lambda w: permute(w, 1, 0, 3)),
        "keep_first_last": per_word(SENTENCES, SEED, lambda w: permute(w, 1, 1, 4)),
        "substitute": substituted(SENTENCES, SEED),
        "percent_50": at_rate(SENTENCES, SEED, 0.5),
    },
    sys.stdout,
    indent=1,
)
print()
