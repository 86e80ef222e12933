//! Worked example: an agent component that plays the first legal action, with a count of the
//! decisions it made kept across checkpoints.

use assay_sdk::prelude::*;

struct FirstLegal {
    decisions: u64,
}

impl Agent for FirstLegal {
    fn act(&mut self, step: &TimeStep) -> Result<Action> {
        self.decisions += 1;
        let first = step
            .legal_actions
            .first()
            .ok_or_else(|| PluginError::invalid("no legal action to take"))?;
        Ok(Action::Discrete(*first))
    }
    fn save_state(&self) -> Result<Vec<u8>> {
        Ok(self.decisions.to_le_bytes().to_vec())
    }
    fn load_state(&mut self, state: &[u8]) -> Result<()> {
        let bytes: [u8; 8] = state
            .try_into()
            .map_err(|_| PluginError::invalid("state is not 8 bytes"))?;
        self.decisions = u64::from_le_bytes(bytes);
        Ok(())
    }
}

fn register(r: &mut dyn Registrar) {
    r.add(
        Component::agent("first_legal", "0.1.0", |_p, _cx| {
            Ok(Box::new(FirstLegal { decisions: 0 }))
        })
        .summary("plays the first legal action"),
    );
}

#[test]
fn registers_and_works() -> Result<()> {
    let mut found = Vec::new();
    register(&mut found);
    let cx = AgentContext {
        build: BuildContext {
            seed: 0,
            device: Device::Cpu,
        },
        seats: 2,
        index: 0,
        source: Vec::new(),
        source_run: None,
        text_model: None,
        model: None,
    };
    let mut agent = found[0].build_agent(&[], &cx)?;
    let step = TimeStep {
        legal_actions: vec![2, 0],
        ..Default::default()
    };
    assert_eq!(agent.act(&step)?, Action::Discrete(2));
    let saved = agent.save_state()?;
    let mut again = found[0].build_agent(&[], &cx)?;
    again.load_state(&saved)?;
    assert_eq!(again.save_state()?, saved);
    Ok(())
}

fn main() {
    let mut found = Vec::new();
    register(&mut found);
    println!("registered {} component(s)", found.len());
}
