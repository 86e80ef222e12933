//! Gradients of a scalar with respect to the scored parameters.

use assay_sdk::prelude::*;

/// `∂value/∂θ` for every parameter, zeros where `value` does not depend on it.
pub(crate) fn of(value: &Tensor, parameters: &[(String, Var)]) -> Result<Vec<Tensor>> {
    let grads = value.backward()?;
    parameters
        .iter()
        .map(|(_, v)| match grads.get(v.as_tensor()) {
            Some(g) => Ok(g.detach()),
            None => Ok(v.as_tensor().zeros_like()?),
        })
        .collect()
}

/// `(name, θ ⊙ g)` per parameter, optionally in absolute value.
pub(crate) fn times_weights(
    parameters: &[(String, Var)],
    grads: &[Tensor],
    absolute: bool,
) -> Result<Vec<(String, Tensor)>> {
    parameters
        .iter()
        .zip(grads)
        .map(|((name, v), g)| {
            let s = v.as_tensor().detach().mul(g)?;
            Ok((name.clone(), if absolute { s.abs()? } else { s }))
        })
        .collect()
}

/// Current values of the parameters, to restore after a pruner changed them.
pub(crate) fn snapshot(parameters: &[(String, Var)]) -> Result<Vec<Tensor>> {
    parameters
        .iter()
        .map(|(_, v)| Ok(v.as_tensor().detach().copy()?))
        .collect()
}

/// Puts snapshot values back.
pub(crate) fn restore(parameters: &[(String, Var)], saved: &[Tensor]) -> Result<()> {
    for ((_, v), t) in parameters.iter().zip(saved) {
        v.set(t)?;
    }
    Ok(())
}
