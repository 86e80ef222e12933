//! Checks a plugin author runs in their own tests, the same ones the host relies on.
//!
//! ```
//! # use assay_sdk::prelude::*;
//! # fn register(r: &mut dyn Registrar) {
//! #     r.add(Component::probe("nothing", "0.1.0", |_p, _cx| unreachable!())
//! #         .param(Param::int("every", 10, "how often").min(1.0)));
//! # }
//! let mut found = Vec::new();
//! register(&mut found);
//! assay_sdk::conformance::check_declarations(&found).unwrap();
//! ```

use candle_core::{DType, Device, Tensor, Var};

use crate::component::{Component, Factory};
use crate::error::{PluginError, Result};

/// Names are lower-case identifiers, versions are semver, parameter names are unique and every
/// default passes its own declaration.
pub fn check_declarations(components: &[Component]) -> Result<()> {
    let ident = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    };
    for c in components {
        if !ident(&c.name) {
            return Err(PluginError::invalid(format!(
                "component name `{}`: use lower-case letters, digits and `_`",
                c.name
            )));
        }
        let parts: Vec<_> = c.version.split('.').collect();
        if parts.len() != 3 || parts.iter().any(|p| p.parse::<u64>().is_err()) {
            return Err(PluginError::invalid(format!(
                "component `{}`: version `{}` is not MAJOR.MINOR.PATCH",
                c.name, c.version
            )));
        }
        for (i, p) in c.params.iter().enumerate() {
            if !ident(&p.name) {
                return Err(PluginError::param(
                    &p.name,
                    "use lower-case letters, digits and `_`",
                ));
            }
            if c.params[..i].iter().any(|q| q.name == p.name) {
                return Err(PluginError::param(
                    &p.name,
                    format!("declared twice by `{}`", c.name),
                ));
            }
            if let Some(d) = &p.default {
                p.check(d).map_err(|m| {
                    PluginError::param(
                        &p.name,
                        format!("default of `{}` fails its own check: {m}", c.name),
                    )
                })?;
            }
        }
    }
    Ok(())
}

/// Builds the optimizer twice over copies of `shapes`, steps the first `steps` times on a fixed
/// quadratic, moves its state into the second, steps both once more, and requires identical
/// parameters: the state covers everything the optimizer remembers. Also requires that no state
/// tensor is still attached to the autograd graph (which would keep every step's graph alive).
pub fn check_optimizer_state_roundtrip(
    component: &Component,
    given: &[(&str, crate::Value)],
    shapes: &[&[usize]],
    steps: usize,
) -> Result<()> {
    let Factory::Optimizer(make) = &component.factory else {
        return Err(PluginError::invalid(format!(
            "`{}` is not an optimizer",
            component.name
        )));
    };
    let params = component.resolve(given)?;
    let fresh = || -> Result<Vec<(String, Var)>> {
        shapes
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let n: usize = s.iter().product();
                let v: Vec<f32> = (0..n)
                    .map(|j| ((i * 31 + j * 7) % 13) as f32 / 6.0 - 1.0)
                    .collect();
                Ok((
                    format!("p{i}"),
                    Var::from_tensor(&Tensor::from_vec(v, *s, &Device::Cpu)?)?,
                ))
            })
            .collect()
    };
    let loss = |vars: &[(String, Var)]| -> Result<Tensor> {
        let mut total = Tensor::zeros((), DType::F32, &Device::Cpu)?;
        for (_, v) in vars {
            total = (total + (v.as_tensor().sqr()?.sum_all()? + v.as_tensor().sum_all()?)?)?;
        }
        Ok(total)
    };
    let a_vars = fresh()?;
    let parameters = |vars: &[(String, Var)]| -> Vec<crate::Parameter> {
        vars.iter()
            .map(|(n, v)| crate::Parameter::new(n.clone(), v.clone()))
            .collect()
    };
    let mut a = make(&params, parameters(&a_vars))?;
    for _ in 0..steps {
        a.step(&loss(&a_vars)?.backward()?, 1.0)?;
    }
    let b_vars = fresh()?;
    for ((_, va), (_, vb)) in a_vars.iter().zip(&b_vars) {
        vb.set(va.as_tensor())?;
    }
    let state = a.state()?;
    if let Some((name, _)) = state.iter().find(|(_, t)| t.track_op()) {
        return Err(PluginError::invalid(format!(
            "`{}`: state tensor `{name}` still belongs to the autograd graph; store detached tensors (`.detach()`), or every step's graph stays in memory",
            component.name
        )));
    }
    let mut b = make(&params, parameters(&b_vars))?;
    b.load_state(&state)?;
    a.step(&loss(&a_vars)?.backward()?, 1.0)?;
    b.step(&loss(&b_vars)?.backward()?, 1.0)?;
    for ((name, va), (_, vb)) in a_vars.iter().zip(&b_vars) {
        let x = va.as_tensor().flatten_all()?.to_vec1::<f32>()?;
        let y = vb.as_tensor().flatten_all()?.to_vec1::<f32>()?;
        if x.iter().zip(&y).any(|(p, q)| p.to_bits() != q.to_bits()) {
            return Err(PluginError::invalid(format!(
                "`{}`: parameter {name} differs after restoring state; the state misses something",
                component.name
            )));
        }
    }
    Ok(())
}
