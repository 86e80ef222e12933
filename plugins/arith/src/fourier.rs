//! The `fourier` probe: how the embedding (and unembedding) of the numbers `0..p` spreads over
//! the frequencies of Z_p, and the progress measures of grokking derived from it.
//!
//! The rows of `W_E` for the tokens `0..p` (a `[p, d]` matrix; for `W_U`, its first `p` columns)
//! are projected onto the real Fourier basis over Z_p: `cos(2πkx/p)` and `sin(2πkx/p)` for
//! `k = 1..K`, `K = (p−1)/2`, each scaled to unit norm. For each frequency, `c_k` and `s_k` are the
//! L2 norms of the two projections and `n_k = sqrt(c_k² + s_k²)`. From the embedding's table:
//!
//! - `fourier/ffs` (FFS(η), the fraction of active frequencies): `(1/K) Σ 1[n_k / max_j n_j > η]`
//! - `fourier/fcr` (cos/sin ratio): `(1/K) Σ min(c_k, s_k) / max(c_k, s_k)` (0 for frequencies
//!   whose norm is below 1e-9 of the strongest, i.e. absent)
//! - `fourier/entropy`: the entropy, in nats, of `q_k = n_k² / Σ_j n_j²`
//!
//! The table `fourier` has one row per matrix and frequency: `matrix`, `k`, `cos_norm`, `sin_norm`.

use assay_sdk::prelude::*;

/// `(k, c_k, s_k)` for `k = 1..K` of the `[p, d]` row-major matrix `w`.
pub(crate) fn spectrum(w: &[f64], p: usize, d: usize) -> Vec<(usize, f64, f64)> {
    let k_max = (p - 1) / 2;
    (1..=k_max)
        .map(|k| {
            let (mut c, mut s) = (vec![0.0; d], vec![0.0; d]);
            let (mut cn, mut sn) = (0.0, 0.0);
            for x in 0..p {
                let angle = 2.0 * std::f64::consts::PI * (k * x) as f64 / p as f64;
                let (cx, sx) = (angle.cos(), angle.sin());
                cn += cx * cx;
                sn += sx * sx;
                for j in 0..d {
                    c[j] += cx * w[x * d + j];
                    s[j] += sx * w[x * d + j];
                }
            }
            let norm =
                |v: &[f64], scale: f64| v.iter().map(|a| a * a).sum::<f64>().sqrt() / scale.sqrt();
            (k, norm(&c, cn), norm(&s, sn))
        })
        .collect()
}

/// FFS(η), FCR and the spectral entropy of a spectrum.
pub(crate) fn measures(spec: &[(usize, f64, f64)], eta: f64) -> (f64, f64, f64) {
    let k = spec.len().max(1) as f64;
    let n: Vec<f64> = spec
        .iter()
        .map(|(_, c, s)| (c * c + s * s).sqrt())
        .collect();
    let max = n.iter().cloned().fold(0.0, f64::max);
    let ffs = if max > 0.0 {
        n.iter().filter(|v| **v / max > eta).count() as f64 / k
    } else {
        0.0
    };
    // Frequencies below 1e-9 of the strongest are rounding noise: their cos/sin ratio is
    // meaningless and counts as 0.
    let floor = max * 1e-9;
    let fcr = spec
        .iter()
        .zip(&n)
        .map(|((_, c, s), nk)| {
            if *nk > floor {
                c.min(*s) / c.max(*s)
            } else {
                0.0
            }
        })
        .sum::<f64>()
        / k;
    let total: f64 = n.iter().map(|v| v * v).sum();
    let entropy = if total > 0.0 {
        -n.iter()
            .map(|v| v * v / total)
            .filter(|q| *q > 0.0)
            .map(|q| q * q.ln())
            .sum::<f64>()
    } else {
        0.0
    };
    (ffs, fcr, entropy)
}

struct Fourier {
    embedding: String,
    unembedding: String,
    p: usize,
    eta: f64,
}

fn rows(model: &dyn Model, name: &str, p: usize, transpose: bool) -> Result<(Vec<f64>, usize)> {
    let (_, var) = model
        .parameters()
        .into_iter()
        .find(|(n, _)| n == name)
        .ok_or_else(|| {
            PluginError::param(
                if transpose {
                    "unembedding"
                } else {
                    "embedding"
                },
                format!("the model has no parameter `{name}`"),
            )
        })?;
    let mut t = var.as_tensor().to_dtype(DType::F64)?;
    if transpose {
        t = t.t()?;
    }
    let (n, d) = t.dims2()?;
    if n < p {
        return Err(PluginError::invalid(format!(
            "`{name}` has {n} rows, fewer than p = {p}"
        )));
    }
    Ok((t.narrow(0, 0, p)?.flatten_all()?.to_vec1::<f64>()?, d))
}

impl Probe for Fourier {
    fn observe(&mut self, cx: &ProbeContext<'_>) -> Result<Observation> {
        let p = if self.p > 0 {
            self.p
        } else {
            cx.dataset.info().objective.outputs()
        };
        if p < 3 {
            return Err(PluginError::param("p", "needs p >= 3"));
        }
        let mut matrices = vec![("W_E", rows(cx.model, &self.embedding, p, false)?)];
        if !self.unembedding.is_empty() {
            matrices.push(("W_U", rows(cx.model, &self.unembedding, p, true)?));
        }
        let (mut mat, mut ks, mut cs, mut ss) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut obs = Observation::default();
        for (label, (w, d)) in &matrices {
            let spec = spectrum(w, p, *d);
            if *label == "W_E" {
                let (ffs, fcr, entropy) = measures(&spec, self.eta);
                obs = obs
                    .metric("fourier/ffs", ffs)
                    .metric("fourier/fcr", fcr)
                    .metric("fourier/entropy", entropy);
            }
            for (k, c, s) in spec {
                mat.push(Some(label.to_string()));
                ks.push(Some(k as i64));
                cs.push(Some(c));
                ss.push(Some(s));
            }
        }
        Ok(obs.table(
            Table::new("fourier")
                .column("matrix", Column::Str(mat))
                .column("k", Column::I64(ks))
                .column("cos_norm", Column::F64(cs))
                .column("sin_norm", Column::F64(ss)),
        ))
    }
}

pub(crate) fn register(r: &mut dyn Registrar) {
    r.add(
        Component::probe("fourier", "0.1.0", |p, _cx| {
            Ok(Box::new(Fourier {
                embedding: p.str("embedding")?.to_string(),
                unembedding: p.str("unembedding")?.to_string(),
                p: p.usize("p")?,
                eta: p.f64("eta")?,
            }))
        })
        .summary("Fourier spectrum of the number embeddings over Z_p, with FFS, FCR and entropy")
        .param(Param::str(
            "embedding",
            "embed.W_E",
            "parameter holding W_E ([vocab, d], rows = tokens)",
        ))
        .param(Param::str(
            "unembedding",
            "",
            "parameter holding W_U ([d, classes]); empty = skip",
        ))
        .param(Param::int("p", 0, "modulus; 0 = the dataset's number of classes").min(0.0))
        .param(
            Param::float(
                "eta",
                0.5,
                "FFS threshold relative to the strongest frequency",
            )
            .range(0.0, 1.0),
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pure_cosine_has_one_active_frequency_and_no_sine() {
        let (p, d) = (31usize, 4usize);
        let mut w = vec![0.0; p * d];
        for x in 0..p {
            w[x * d] = (2.0 * std::f64::consts::PI * 3.0 * x as f64 / p as f64).cos();
            w[x * d + 2] = 0.5 * (2.0 * std::f64::consts::PI * 3.0 * x as f64 / p as f64).cos();
        }
        let spec = spectrum(&w, p, d);
        assert_eq!(spec.len(), 15);
        for (k, c, s) in &spec {
            if *k == 3 {
                // ||(cos_3 / |cos_3|) . w|| = |cos_3| * ||(1, 0, 0.5, 0)||
                assert!(
                    (c - (p as f64 / 2.0).sqrt() * 1.25f64.sqrt()).abs() < 1e-9,
                    "{c}"
                );
            } else {
                assert!(c.abs() < 1e-9, "k={k}: {c}");
            }
            assert!(s.abs() < 1e-9);
        }
        let (ffs, fcr, entropy) = measures(&spec, 0.5);
        assert!((ffs - 1.0 / 15.0).abs() < 1e-12);
        assert!(fcr < 1e-12, "{fcr}");
        assert!(entropy.abs() < 1e-12);
    }

    #[test]
    fn balanced_frequencies_have_full_ratio_and_log_entropy() {
        let (p, d) = (11usize, 2usize);
        let mut w = vec![0.0; p * d];
        for x in 0..p {
            let a = 2.0 * std::f64::consts::PI * x as f64 / p as f64;
            w[x * d] = a.cos() + (2.0 * a).cos();
            w[x * d + 1] = a.sin() + (2.0 * a).sin();
        }
        let (ffs, fcr, entropy) = measures(&spectrum(&w, p, d), 0.5);
        assert!((ffs - 2.0 / 5.0).abs() < 1e-12);
        assert!((fcr - 2.0 / 5.0).abs() < 1e-9, "{fcr}");
        assert!((entropy - 2f64.ln()).abs() < 1e-9, "{entropy}");
    }
}
