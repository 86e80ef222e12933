//! Worked example: a whole plugin library in one file.

use assay_sdk::prelude::*;

struct Constant {
    value: f64,
}

impl Probe for Constant {
    fn observe(&mut self, _cx: &ProbeContext<'_>) -> Result<Observation> {
        Ok(Observation::default().metric("constant", self.value))
    }
}

#[derive(Debug, Params)]
struct ConstantParams {
    /// The number to log.
    #[param(default = 1.0)]
    value: f64,
}

fn register(r: &mut dyn Registrar) {
    r.add(
        Component::probe_with("constant", "0.1.0", |p: ConstantParams, _cx| {
            Ok(Box::new(Constant { value: p.value }))
        })
        .summary("logs the same number every time"),
    );
}

// The entry symbol for dynamic loading, the `inventory` registration for static linking, and `link()`.
assay_sdk::export_plugin!(register);

#[test]
fn declarations_pass_the_conformance_checks() -> Result<()> {
    let mut found = Vec::new();
    register(&mut found);
    assay_sdk::conformance::check_declarations(&found)?;
    assert_eq!(found[0].resolve(&[])?.f64("value")?, 1.0);
    Ok(())
}

fn main() {
    link();
    let names: Vec<&str> = assay_sdk::abi::builtins()
        .iter()
        .map(|d| d.library)
        .collect();
    println!("linked plugin libraries: {names:?}");
}
