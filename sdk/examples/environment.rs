//! Worked example: an environment component, registered and exercised.

use assay_sdk::prelude::*;

struct Guess {
    secret: usize,
    range: usize,
}

impl Environment for Guess {
    fn reset(&mut self, seed: u64) -> Result<TimeStep> {
        self.secret = (seed as usize) % self.range;
        Ok(TimeStep {
            observation: vec![0.0],
            legal_actions: (0..self.range).collect(),
            ..Default::default()
        })
    }
    fn step(&mut self, action: &Action) -> Result<TimeStep> {
        let Action::Discrete(a) = action else {
            return Err(PluginError::invalid("discrete actions only"));
        };
        let hint = match a.cmp(&self.secret) {
            std::cmp::Ordering::Less => -1.0,
            std::cmp::Ordering::Equal => 0.0,
            std::cmp::Ordering::Greater => 1.0,
        };
        Ok(TimeStep {
            observation: vec![hint],
            rewards: vec![if hint == 0.0 { 1.0 } else { 0.0 }],
            done: hint == 0.0,
            legal_actions: (0..self.range).collect(),
            ..Default::default()
        })
    }
}

fn register(r: &mut dyn Registrar) {
    r.add(
        Component::environment("guess", "0.1.0", |p, _cx| {
            Ok(Box::new(Guess {
                secret: 0,
                range: p.usize("range")?,
            }))
        })
        .param(Param::int("range", 10, "numbers to guess from").min(1.0)),
    );
}

#[test]
fn registers_and_works() -> Result<()> {
    let mut found = Vec::new();
    register(&mut found);
    let mut env = found[0].build_environment(
        &[],
        &BuildContext {
            seed: 0,
            device: Device::Cpu,
        },
    )?;
    env.reset(7)?;
    assert!(env.step(&Action::Discrete(7))?.done);
    Ok(())
}

fn main() {
    let mut found = Vec::new();
    register(&mut found);
    println!("registered {} component(s)", found.len());
}
