#!/usr/bin/env python3
"""PyTorch reference for `assay bench grokking`.

Trains the same models as assay's `transformer` and `mlp` plugins on the same data (exported by
assay as JSON: token ids, labels and the model configuration), with the same hyperparameters
(full batch, AdamW), and prints one JSON line with its speed, or with `--curve` its train/test
accuracy every `--eval-every` steps.

The models follow the grokking code (Nanda et al.; Furuta et al.; Minegishi et al.): a 1-layer
decoder without LayerNorm or biases, with learned positions, ReLU MLP and logits read at the last
position; and the grokking-tickets MLP (embed, inproj, sum over the two tokens, ReLU, outproj,
unembed; no biases; N(0, 1/sqrt(fan_in)) weights).

Run it through `bench/grokking.sh`, which installs torch into a virtualenv if needed and runs it
side by side with assay at the same thread count.
"""

import argparse
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Transformer(nn.Module):
    def __init__(self, cfg, vocab, ctx, classes, restructured):
        super().__init__()
        d, h, dm = cfg["d_model"], cfg["n_heads"], cfg["d_mlp"]
        self.h, self.dh, self.restructured = h, d // h, restructured
        std = 1.0 / math.sqrt(d)
        p = lambda *shape, s=std: nn.Parameter(torch.randn(*shape) * s)
        self.W_E = p(vocab, d, s=1.0 / math.sqrt(vocab))
        self.W_pos = p(ctx, d) if cfg["pos_embed"] else None
        self.W_Q, self.W_K, self.W_V = p(d, d), p(d, d), p(d, d)
        self.W_O = p(d, d)
        self.W_in, self.W_out = p(d, dm), p(dm, d)
        self.W_U = p(d, classes)
        mask = torch.triu(torch.ones(ctx, ctx, dtype=torch.bool), diagonal=1)
        self.register_buffer("mask", mask)

    def project(self, tokens, W, start):
        # (E[tok] + P[pos]) W = (E W)[tok] + (P W)[pos]
        t = tokens.shape[1]
        y = (self.W_E @ W)[tokens[:, start:]]
        if self.W_pos is not None:
            y = y + (self.W_pos[start:t] @ W)
        return y

    def forward(self, tokens):
        b, t = tokens.shape
        split = lambda y: y.view(b, -1, self.h, self.dh).transpose(1, 2)
        if self.restructured:
            # What assay's transformer does when no hook watches: Q/K/V from the projected
            # vocabulary table, and only the last position beyond the keys and values.
            q = split(self.project(tokens, self.W_Q, t - 1))
            k = split(self.project(tokens, self.W_K, 0))
            v = split(self.project(tokens, self.W_V, 0))
            x = self.W_E[tokens[:, -1:]]
            if self.W_pos is not None:
                x = x + self.W_pos[t - 1:t]
            scores = q @ k.transpose(-1, -2) / math.sqrt(self.dh)
        else:
            x = self.W_E[tokens]
            if self.W_pos is not None:
                x = x + self.W_pos[:t]
            q, k, v = split(x @ self.W_Q), split(x @ self.W_K), split(x @ self.W_V)
            scores = q @ k.transpose(-1, -2) / math.sqrt(self.dh)
            scores = scores.masked_fill(self.mask[:t, :t], float("-inf"))
        z = scores.softmax(-1) @ v
        z = z.transpose(1, 2).reshape(b, -1, self.h * self.dh)
        resid = x + z @ self.W_O
        resid = resid + F.relu(resid @ self.W_in) @ self.W_out
        return resid[:, -1] @ self.W_U


class TicketsMlp(nn.Module):
    def __init__(self, cfg, vocab, classes, restructured):
        super().__init__()
        de, dh, du = cfg["d_embed"], cfg["hidden"], cfg["d_unembed"]
        p = lambda fan_in, *shape: nn.Parameter(torch.randn(*shape) / math.sqrt(fan_in))
        self.W_E = p(vocab, vocab, de)
        self.W_in = p(de, de, dh)
        self.W_out = p(dh, dh, du)
        self.W_U = p(du, du, classes)
        self.restructured = restructured

    def forward(self, tokens):
        if self.restructured:
            # (sum_i E[tok_i]) W_in = sum_i (E W_in)[tok_i]; (h W_out) W_U = h (W_out W_U)
            return F.relu((self.W_E @ self.W_in)[tokens].sum(1)) @ (self.W_out @ self.W_U)
        x = self.W_E[tokens].sum(1)
        return F.relu(x @ self.W_in) @ self.W_out @ self.W_U


def build(data, restructured):
    cfg = data["model"]
    if cfg["kind"] == "transformer":
        return Transformer(cfg, data["vocab"], data["ctx"], data["classes"], restructured)
    return TicketsMlp(cfg, data["vocab"], data["classes"], restructured)


def accuracy(model, x, y):
    with torch.no_grad():
        return (model(x).argmax(-1) == y).float().mean().item()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="JSON written by `assay bench grokking`")
    ap.add_argument("--steps", type=int, default=200, help="timed training steps")
    ap.add_argument("--warmup", type=int, default=5, help="untimed steps first")
    ap.add_argument("--threads", type=int, default=0, help="torch threads; 0 = torch's default")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--restructured", action="store_true",
                    help="the same function computed as assay does when no hook watches: "
                         "vocabulary-table projections, last position only, fused linear head")
    ap.add_argument("--fused-adamw", action="store_true",
                    help="PyTorch's fused CPU AdamW (fused=True): one kernel over all parameters")
    ap.add_argument("--f64-loss", action="store_true",
                    help="cross-entropy in float64, as the original grokking code")
    ap.add_argument("--curve", action="store_true",
                    help="train --steps steps and print accuracy every --eval-every steps")
    ap.add_argument("--eval-every", type=int, default=100)
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    with open(args.data) as f:
        data = json.load(f)
    xs = {s: torch.tensor(data[f"{s}_x"], dtype=torch.long) for s in ("train", "test")}
    ys = {s: torch.tensor(data[f"{s}_y"], dtype=torch.long) for s in ("train", "test")}
    model = build(data, args.restructured)
    o = data["optimizer"]
    opt = torch.optim.AdamW(model.parameters(), lr=o["lr"], betas=(o["beta1"], o["beta2"]),
                            eps=o["eps"], weight_decay=o["weight_decay"],
                            fused=True if args.fused_adamw else None)

    def step():
        logits = model(xs["train"])
        if args.f64_loss:
            logits = logits.to(torch.float64)
        loss = F.cross_entropy(logits, ys["train"])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss

    if args.curve:
        mem = gen = None
        for s in range(1, args.steps + 1):
            step()
            if s % args.eval_every == 0:
                tr, te = accuracy(model, xs["train"], ys["train"]), accuracy(model, xs["test"], ys["test"])
                if mem is None and tr >= 1.0:
                    mem = s
                if gen is None and te >= 0.95:
                    gen = s
                print(json.dumps({"step": s, "train_acc": tr, "test_acc": te}), flush=True)
        print(json.dumps({"train_acc_1_step": mem, "test_acc_095_step": gen}))
        return
    for _ in range(args.warmup):
        step()
    t = time.perf_counter()
    for _ in range(args.steps):
        step()
    elapsed = time.perf_counter() - t
    print(json.dumps({
        "implementation": "pytorch " + torch.__version__,
        "threads": torch.get_num_threads(),
        "steps": args.steps,
        "steps_per_s": args.steps / elapsed,
        "parameters": sum(p.numel() for p in model.parameters()),
    }))


if __name__ == "__main__":
    sys.exit(main())
