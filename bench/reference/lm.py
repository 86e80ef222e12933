#!/usr/bin/env python3
"""PyTorch reference for `assay bench lm`: the same GPT-2-style decoder as assay's
`transformer` plugin with `layer_norm = true`, `bias = true` (pre-LayerNorm blocks, learned
positions, logits at every position), trained on the same batch with AdamW, and greedy
generation with a key/value cache. Prints one JSON line.

Run it through `bench/lm.sh`, which runs it beside assay at the same thread count.
"""

import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, d, h, dm, act):
        super().__init__()
        self.h, self.dh, self.act = h, d // h, act
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
        self.fc, self.proj = nn.Linear(d, dm), nn.Linear(dm, d)

    def forward(self, x, cache=None):
        b, t, d = x.shape
        a = self.ln1(x)
        split = lambda y: y.view(b, -1, self.h, self.dh).transpose(1, 2)
        q, k, v = split(self.q(a)), split(self.k(a)), split(self.v(a))
        if cache is not None:
            if "k" in cache:
                k = torch.cat([cache["k"], k], 2)
                v = torch.cat([cache["v"], v], 2)
            cache["k"], cache["v"] = k, v
        total = k.shape[2]
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.dh)
        if t > 1:
            mask = torch.ones(t, total, dtype=torch.bool).triu(total - t + 1)
            scores = scores.masked_fill(mask, float("-inf"))
        z = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, t, d)
        x = x + self.o(z)
        m = self.fc(self.ln2(x))
        m = F.relu(m) if self.act == "relu" else F.gelu(m, approximate="tanh")
        return x + self.proj(m)


class Decoder(nn.Module):
    def __init__(self, vocab, ctx, d, h, dm, layers, act):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, d), nn.Embedding(ctx, d)
        self.blocks = nn.ModuleList(Block(d, h, dm, act) for _ in range(layers))
        self.lnf, self.head = nn.LayerNorm(d), nn.Linear(d, vocab)

    def forward(self, ids, caches=None, start=0):
        t = ids.shape[1]
        x = self.wte(ids) + self.wpe(torch.arange(start, start + t))
        for i, blk in enumerate(self.blocks):
            x = blk(x, None if caches is None else caches[i])
        return self.head(self.lnf(x))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--fused-adamw", action="store_true",
                    help="PyTorch's fused CPU AdamW (fused=True)")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--ctx", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--d-model", type=int, default=128)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--d-mlp", type=int, default=512)
    ap.add_argument("--activation", default="relu")
    ap.add_argument("--vocab", type=int, default=257)
    ap.add_argument("--new-tokens", type=int, default=128)
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    m = Decoder(args.vocab, args.ctx + args.new_tokens + 16, args.d_model, args.heads, args.d_mlp,
                args.layers, args.activation)
    opt = torch.optim.AdamW(m.parameters(), lr=1e-3, weight_decay=0.1,
                            fused=True if args.fused_adamw else None)
    data = torch.randint(0, args.vocab, (args.batch, args.ctx + 1))
    x, y = data[:, :-1], data[:, 1:]

    def step():
        loss = F.cross_entropy(m(x).reshape(-1, args.vocab), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(args.warmup):
        step()
    t = time.perf_counter()
    for _ in range(args.steps):
        step()
    train = args.steps * args.batch * args.ctx / (time.perf_counter() - t)
    m.eval()
    with torch.no_grad():
        ids = torch.randint(0, args.vocab, (1, 16))
        caches = [dict() for _ in m.blocks]
        t = time.perf_counter()
        logits = m(ids, caches, 0)
        pos = 16
        for _ in range(args.new_tokens):
            nxt = logits[:, -1].argmax(-1, keepdim=True)
            logits = m(nxt, caches, pos)
            pos += 1
        gen = args.new_tokens / (time.perf_counter() - t)
    print(json.dumps({"implementation": "pytorch " + torch.__version__,
                      "threads": torch.get_num_threads(),
                      "train_tokens_per_s": train, "generate_tokens_per_s": gen}))


if __name__ == "__main__":
    main()
