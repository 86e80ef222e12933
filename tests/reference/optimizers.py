#!/usr/bin/env python3
"""Reference trajectories of the optimizers in plugins/optim, computed with NumPy from the
published update rules, independently of the Rust code.

Each case starts from THETA0 and applies the fixed gradient sequence GRADS (the gradient of
sum(theta * G_t), so it does not depend on theta and both sides see exactly the same numbers).
Arithmetic is float32, in the order the rules are written, so the Rust implementation should
agree to about 1e-7 relative; the test allows 1e-6.

Regenerate the fixture (after changing a rule on purpose):

    python3 tests/reference/optimizers.py > tests/reference/optimizers.json

Sources: PyTorch's documented algorithms for SGD (momentum, dampening, Nesterov, coupled weight
decay), Adam, AdamW and Adam(amsgrad=True); ADOPT from Taniguchi et al. (2024) as the authors'
published PyTorch implementation computes it (adopt.py with clip_lambda: v initialised to g0^2
with no parameter step, eps as a floor under sqrt(v), no bias correction, clip at t^0.25 or none,
m blended in from zero with torch.lerp in both cases, decoupled decay theta -= (lr*wd)*theta
before each update), with the paper's two ablations.
"""
import json
import math

import numpy as np

f32 = np.float32
THETA0 = np.array([0.5, -1.5, 2.0, 0.0, 1e-3, -0.25], dtype=f32)
GRADS = np.array(
    [
        [0.1, -0.2, 0.3, 0.0, 1.0, -3.0],
        [0.4, 0.1, -0.5, 2.0, -1.0, 0.5],
        [-0.3, 0.0, 0.2, -1.5, 0.25, 0.75],
        [1e-4, 5.0, -0.1, 0.3, 0.0, -0.2],
        [0.2, -0.7, 0.9, 0.1, 2.5, 1.0],
        [-1.0, 0.3, 0.0, -0.2, 0.1, -0.1],
        [0.05, 0.05, -0.05, 0.05, -0.05, 0.05],
        [2.0, -2.0, 1.0, -1.0, 0.5, -0.5],
        [0.0, 0.1, 0.2, 0.3, 0.4, 0.5],
        [-0.6, 0.6, -0.6, 0.6, -0.6, 0.6],
    ],
    dtype=f32,
)


def sgd(p):
    th, buf = THETA0.copy(), None
    lr, mom, damp, nest, wd = f32(p["lr"]), f32(p["momentum"]), f32(p["dampening"]), p["nesterov"], f32(p["weight_decay"])
    out = []
    for g in GRADS:
        g = g.copy()
        if wd != 0:
            g = g + th * wd
        if mom != 0:
            buf = g.copy() if buf is None else buf * mom + g * (f32(1) - damp)
            g = g + buf * mom if nest else buf.copy()
        th = th - g * lr
        out.append(th.copy())
    return out


def adam(p, decoupled=False, amsgrad=False):
    th = THETA0.copy()
    m, v, vmax = np.zeros_like(th), np.zeros_like(th), np.zeros_like(th)
    lr, b1, b2, eps, wd = (float(p[k]) for k in ("lr", "beta1", "beta2", "eps", "weight_decay"))
    out = []
    for t, g in enumerate(GRADS, start=1):
        g = g.copy()
        bc1 = 1.0 - b1**t
        bc2 = 1.0 - b2**t
        if wd != 0:
            if decoupled:
                th = th * f32(1.0 - lr * wd)
            else:
                g = g + th * f32(wd)
        m = m * f32(b1) + g * f32(1.0 - b1)
        v = v * f32(b2) + (g * g) * f32(1.0 - b2)
        if amsgrad:
            vmax = np.maximum(vmax, v)
            vv = vmax
        else:
            vv = v
        m_hat = m / f32(bc1)
        denom = np.sqrt(vv) / f32(math.sqrt(bc2)) + f32(eps)
        th = th - (m_hat / denom) * f32(lr)
        out.append(th.copy())
    return out


def adopt(p):
    th = THETA0.copy()
    m, v = np.zeros_like(th), np.zeros_like(th)
    lr, b1, b2, eps, wd = (float(p[k]) for k in ("lr", "beta1", "beta2", "eps", "weight_decay"))
    clip, decouple, variant = p["clip"] != "none", p["decouple"], p["variant"]
    out = []

    def normalise(x, vv, t):
        y = x / np.maximum(np.sqrt(vv), f32(eps))
        if clip:
            c = t**0.25
            y = np.clip(y, -c, c).astype(f32)
        return y

    def lerp(m, x):
        # torch.lerp(m, x, w) on CPU: m + w (x - m) for w < 0.5, else x - (x - m)(1 - w).
        w = 1.0 - b1
        if w < 0.5:
            return m + f32(w) * (x - m)
        return x - (x - m) * f32(1.0 - w)

    for t, g in enumerate(GRADS):
        g = g.copy()
        if wd != 0 and not decouple:
            g = g + th * f32(wd)
        g2 = g * g
        if t == 0:
            v = g2
            out.append(th.copy())
            continue
        if wd != 0 and decouple:
            th = th - th * f32(lr * wd)
        if variant == "no_decorrelation":
            v = v * f32(b2) + g2 * f32(1.0 - b2)
        if variant in ("adopt", "no_decorrelation"):
            m = lerp(m, normalise(g, v, t))
            update = m
        else:
            m = lerp(m, g)
            update = normalise(m, v, t)
        th = th - update * f32(lr)
        if variant != "no_decorrelation":
            v = v * f32(b2) + g2 * f32(1.0 - b2)
        out.append(th.copy())
    return out


SGD = dict(lr=0.1, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0)
ADAM = dict(lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0)
ADOPT = dict(lr=0.01, beta1=0.9, beta2=0.9999, eps=1e-6, clip="t^0.25", weight_decay=0.0, decouple=False, variant="adopt")

CASES = [
    ("sgd", SGD, sgd),
    ("sgd", {**SGD, "momentum": 0.9, "dampening": 0.1, "weight_decay": 0.01}, sgd),
    ("sgd", {**SGD, "momentum": 0.8, "nesterov": True}, sgd),
    ("adam", ADAM, adam),
    ("adam", {**ADAM, "beta2": 0.5, "weight_decay": 0.1}, adam),
    ("adamw", {**ADAM, "weight_decay": 0.1}, lambda p: adam(p, decoupled=True)),
    ("amsgrad", {**ADAM, "beta2": 0.5}, lambda p: adam(p, amsgrad=True)),
    ("adopt", ADOPT, adopt),
    ("adopt", {**ADOPT, "clip": "none", "beta2": 0.5}, adopt),
    ("adopt", {**ADOPT, "weight_decay": 0.1, "decouple": True}, adopt),
    ("adopt", {**ADOPT, "clip": "none", "weight_decay": 0.1, "decouple": True}, adopt),
    ("adopt", {**ADOPT, "clip": "none", "beta1": 0.3}, adopt),
    ("adopt", {**ADOPT, "weight_decay": 0.1}, adopt),
    ("adopt", {**ADOPT, "variant": "no_decorrelation", "clip": "none", "beta2": 0.5}, adopt),
    ("adopt", {**ADOPT, "variant": "no_reordering", "clip": "none", "beta2": 0.5}, adopt),
    ("adopt", {**ADOPT, "variant": "no_reordering", "beta2": 0.9}, adopt),
]


def main():
    cases = []
    for name, params, fn in CASES:
        traj = fn(params)
        cases.append({"optimizer": name, "params": params, "trajectory": [[float(x) for x in th] for th in traj]})
    print(json.dumps({"theta0": [float(x) for x in THETA0], "grads": GRADS.tolist(), "cases": cases}, indent=1))


if __name__ == "__main__":
    main()
