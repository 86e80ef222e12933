#!/usr/bin/env python3
"""Tiny random Hugging Face checkpoints and their logits, for assay's loader tests.

Writes, for GPT-2 and Llama architectures, a randomly initialised model with the `transformers`
library (config.json, model.safetensors), a small byte-level BPE tokenizer (tokenizer.json), and
expected.json: the token ids of a fixed prompt and the model's logits for them. The test
(`tests/hf_checkpoints.rs`) copies each directory into the Hugging Face cache layout, loads it
through `model = "hf:..."` with HF_HUB_OFFLINE=1 and compares the logits within 1e-4.

Not run in CI; needs `pip install torch transformers tokenizers`.

    python3 tests/reference/hf_tiny.py tests/reference/hf
"""

import json
import os
import sys

import torch
from tokenizers import Tokenizer, models, pre_tokenizers, decoders, trainers
from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

TEXT = [
    "Mary went to the kitchen. John moved to the garden. Where is Mary? kitchen",
    "def f(x):\n    return x * 2\n",
    "The wug is blorpy. If something is blorpy then it is zentic.",
] * 20
PROMPT = "Mary went to the garden. def f(x):"


def tokenizer(vocab_size):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(TEXT, trainer)
    return tok


def write(name, model, tok, out):
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    model.save_pretrained(d, safe_serialization=True)
    tok.save(os.path.join(d, "tokenizer.json"))
    ids = tok.encode(PROMPT).ids
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0]
    with open(os.path.join(d, "expected.json"), "w") as f:
        json.dump({"prompt": PROMPT, "ids": ids, "logits": logits.tolist()}, f)
    print(name, len(ids), "tokens,", sum(p.numel() for p in model.parameters()), "parameters")


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/reference/hf"
    torch.manual_seed(0)
    tok = tokenizer(300)
    vocab = tok.get_vocab_size()
    gpt2 = GPT2LMHeadModel(GPT2Config(vocab_size=vocab, n_positions=64, n_embd=32, n_layer=2,
                                      n_head=4, bos_token_id=0, eos_token_id=0))
    write("tiny-gpt2", gpt2.eval(), tok, out)
    llama = LlamaForCausalLM(LlamaConfig(vocab_size=vocab, hidden_size=32, intermediate_size=48,
                                         num_hidden_layers=2, num_attention_heads=4,
                                         num_key_value_heads=2, max_position_embeddings=64,
                                         rms_norm_eps=1e-6, rope_theta=10000.0,
                                         tie_word_embeddings=False))
    write("tiny-llama", llama.eval(), tok, out)


if __name__ == "__main__":
    main()
