//! A decoder-only transformer, as in the grokking studies (Nanda et al.; Furuta et al.): token
//! and optional learned position embeddings, `n_layers` blocks of causal multi-head attention and
//! an MLP, optional LayerNorm and biases, and an unembedding read at the **last position** (the
//! classification setup of modular arithmetic) or, for a next-token dataset, at every position
//! (`[batch, pos, vocab]` logits: a GPT-2-style language model with `layer_norm = true` and
//! `activation = "gelu"`).
//!
//! Initialisation (the grokking code's): `W_E ~ N(0, 1/√vocab)`, `W_pos`, attention and MLP
//! weights `~ N(0, 1/√d_model)`, `W_U ~ N(0, 1/√d_model)`, biases 0, LayerNorm weights 1.
//!
//! Parameters (TransformerLens names; matrices stored input-major): `embed.W_E [vocab, d]`,
//! `pos_embed.W_pos [n_ctx, d]`, `blocks.{i}.attn.W_Q|W_K|W_V [d, heads·d_head]`,
//! `blocks.{i}.attn.W_O [heads·d_head, d]`, `blocks.{i}.mlp.W_in [d, d_mlp]`,
//! `blocks.{i}.mlp.W_out [d_mlp, d]`, `unembed.W_U [d, classes]`, with `b_*` biases and
//! `ln1`, `ln2`, `ln_final` `w`/`b` when enabled.
//!
//! The model is the shared [`crate::decoder::Decoder`] with LayerNorm or none, learned or no
//! positions and a plain MLP; its hook points are the decoder's (`hook_embed`, `hook_pos_embed`,
//! per block `blocks.{i}.hook_resid_pre` … `hook_resid_post`, `ln_final.hook_normalized`,
//! `hook_logits`).

mod component;
#[cfg(test)]
mod tests;

pub(crate) use component::register;
