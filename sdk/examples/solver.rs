//! Worked example: a solver component (Newton's iteration for a square root) whose estimate and
//! error are metrics and whose final result is a table.

use assay_sdk::prelude::*;

struct Sqrt {
    target: f64,
    x: f64,
}

impl Solver for Sqrt {
    fn iterate(&mut self) -> Result<()> {
        self.x = 0.5 * (self.x + self.target / self.x);
        Ok(())
    }
    fn evaluate(&mut self, _iteration: u64, is_final: bool) -> Result<Observation> {
        let obs = Observation::default()
            .metric("estimate", self.x)
            .metric("error", (self.x * self.x - self.target).abs());
        Ok(if is_final {
            obs.table(Table::new("root").column("value", Column::F64(vec![Some(self.x)])))
        } else {
            obs
        })
    }
    fn save_state(&self) -> Result<Vec<u8>> {
        Ok(self.x.to_le_bytes().to_vec())
    }
    fn load_state(&mut self, state: &[u8]) -> Result<()> {
        let bytes: [u8; 8] = state
            .try_into()
            .map_err(|_| PluginError::invalid("state is not 8 bytes"))?;
        self.x = f64::from_le_bytes(bytes);
        Ok(())
    }
}

fn register(r: &mut dyn Registrar) {
    r.add(
        Component::solver("sqrt", "0.1.0", |p, _cx| {
            let target = p.f64("target")?;
            Ok(Box::new(Sqrt {
                target,
                x: target.max(1.0),
            }))
        })
        .param(Param::float("target", 2.0, "the number whose root is sought").min(0.0)),
    );
}

#[test]
fn registers_and_converges() -> Result<()> {
    let mut found = Vec::new();
    register(&mut found);
    let cx = BuildContext {
        seed: 0,
        device: Device::Cpu,
    };
    let mut solver = found[0].build_solver(&[], &cx)?;
    for _ in 0..6 {
        solver.iterate()?;
    }
    let obs = solver.evaluate(6, true)?;
    assert!(obs.metrics[1].value < 1e-12);
    assert_eq!(obs.tables[0].name, "root");
    Ok(())
}

fn main() {
    let mut found = Vec::new();
    register(&mut found);
    println!("registered {} component(s)", found.len());
}
