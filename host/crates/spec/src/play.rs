//! The two kinds of run that fit no model: *episode runs* (`[environment]`, one `[[agent]]`
//! per seat, `[episodes]`) and *solver runs* (`[solver]` with `[train] steps` iterations).
//!
//! ```toml
//! name = "leduc-match"
//! [environment]
//! plugin = "leduc_holdem"
//! [[agent]]
//! plugin = "tabular_policy"
//! from = "leduc-cfr.toml"      # a solver run: "run:ID" or a spec file (computed first)
//! [[agent]]
//! plugin = "random"
//! [episodes]
//! count = 1000
//! duplicate = true             # each deal twice, seats exchanged
//! ```

use assay_sdk::{Kind, Param, Params};

use crate::component::ComponentSpec;
use crate::resolver::Resolver;
use crate::{Spec, SpecError};

/// One `[[agent]]` table: the component and the run it loads (`from`).
#[derive(Debug, Clone)]
pub struct AgentSpec {
    /// The agent.
    pub component: ComponentSpec,
    /// The run named by `from` (its id), whose tables the agent receives.
    pub source: Option<String>,
}

/// `[episodes]`: how many, how seats are assigned, checkpoints and the decision limit.
#[derive(Debug, Clone, PartialEq)]
pub struct Episodes {
    /// Episodes to play.
    pub count: u64,
    /// Rotate the agents over the seats from one episode to the next.
    pub swap_seats: bool,
    /// Play every deal once per rotation of the seats (the same seed with the agents
    /// exchanged), so that luck cancels; implies rotating seats.
    pub duplicate: bool,
    /// Save the agents' memory and the results every this many episodes (0: only at the end).
    pub checkpoint_every: u64,
    /// A decision slower than this many seconds is a fault (0: no limit).
    pub decision_timeout_s: f64,
    /// Store every step in the `episodes` table (per-episode results are always stored).
    pub record_steps: bool,
}

/// The declared keys of `[episodes]`.
pub fn episodes_params() -> Vec<Param> {
    vec![
        Param::int("count", 100, "episodes to play").min(1.0),
        Param::bool(
            "swap_seats",
            false,
            "rotate the agents over the seats from one episode to the next",
        ),
        Param::bool(
            "duplicate",
            false,
            "play each deal once per rotation of the seats (same seed, agents exchanged)",
        ),
        Param::int(
            "checkpoint_every",
            0,
            "save the agents' memory and the results every N episodes (0: only at the end)",
        )
        .min(0.0),
        Param::float(
            "decision_timeout_s",
            0.0,
            "a decision slower than this is a fault that forfeits (0: no limit)",
        )
        .min(0.0),
        Param::bool(
            "record_steps",
            true,
            "store every step in the `episodes` table",
        ),
    ]
}

fn episodes(p: &Params) -> Episodes {
    Episodes {
        count: p.i64("count").unwrap_or(1).max(1) as u64,
        swap_seats: p.bool("swap_seats").unwrap_or(false),
        duplicate: p.bool("duplicate").unwrap_or(false),
        checkpoint_every: p.i64("checkpoint_every").unwrap_or(0).max(0) as u64,
        decision_timeout_s: p.f64("decision_timeout_s").unwrap_or(0.0),
        record_steps: p.bool("record_steps").unwrap_or(true),
    }
}

/// What an episode run plays, resolved.
pub(crate) struct Play {
    pub environment: ComponentSpec,
    pub agents: Vec<AgentSpec>,
    pub episodes: Episodes,
    pub canon: Vec<(&'static str, toml::Value)>,
}

/// `[environment]`, `[[agent]]` and `[episodes]`.
pub(crate) fn play(
    r: &Resolver<'_>,
    raw: &toml::Table,
    seed: u64,
    dependencies: &mut Vec<Spec>,
) -> Result<Play, SpecError> {
    let (environment, env_canon) = r.component(
        Kind::Environment,
        "environment",
        raw.get("environment"),
        &[],
    )?;
    let items: &[toml::Value] = match raw.get("agent") {
        Some(toml::Value::Array(items)) if !items.is_empty() => items,
        Some(toml::Value::Array(_)) | None => {
            return Err(r.key_error(
                "agent",
                "missing: an episode run needs one [[agent]] table per seat",
            ))
        }
        Some(_) => return Err(r.key_error("agent", "write agents as [[agent]] tables")),
    };
    let mut agents = Vec::new();
    let mut canons = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let table = format!("agent.{i}");
        let (component, mut canon) =
            r.component(Kind::Agent, &table, Some(item), &["from", "set"])?;
        let mut t = item.as_table().cloned().unwrap_or_default();
        // `from = ""` means none (handy in sweeps over agents of which some load a run).
        if t.get("from").and_then(|v| v.as_str()) == Some("") {
            t.remove("from");
        }
        let source = if t.contains_key("from") {
            let (id, dep) = r.source(&table, &t, seed)?;
            dependencies.extend(dep);
            canon.insert("from".into(), toml::Value::String(format!("run:{id}")));
            Some(id)
        } else if t.contains_key("set") {
            return Err(r.key_error(
                format!("{table}.set"),
                "`set` overrides the spec file named by `from`; there is no `from`",
            ));
        } else {
            None
        };
        agents.push(AgentSpec { component, source });
        canons.push(toml::Value::Table(canon));
    }
    let empty = toml::Table::new();
    let given = match raw.get("episodes") {
        Some(toml::Value::Table(t)) => t,
        Some(_) => return Err(r.key_error("episodes", "must be a table")),
        None => &empty,
    };
    let (ep, ep_canon) = r.params("episodes", "[episodes]", &episodes_params(), given, &[])?;
    let episodes = episodes(&ep);
    Ok(Play {
        environment,
        agents,
        episodes,
        canon: vec![
            ("environment", toml::Value::Table(env_canon)),
            ("agent", toml::Value::Array(canons)),
            ("episodes", toml::Value::Table(ep_canon)),
        ],
    })
}

/// The keys that belong to training runs, refused in episode and solver runs.
pub(crate) const TRAINING_KEYS: [&str; 7] = [
    "dataset",
    "model",
    "problem",
    "optimizer",
    "probe",
    "init",
    "prune",
];

/// Resolves an episode run or a solver run (`raw` has `[environment]` or `[solver]`).
pub(crate) fn resolve(
    r: &Resolver<'_>,
    raw: &toml::Table,
    header: (String, u64, String),
) -> Result<Spec, SpecError> {
    let (name, seed, device) = header;
    if raw.contains_key("environment")
        && raw.contains_key("optimizer")
        && !raw.contains_key("agent")
    {
        return Err(r.key_error(
            "environment",
            "an episode run ([environment]) plays [[agent]] tables and has no [optimizer]; an \
             online optimisation problem is a [problem] table",
        ));
    }
    for key in TRAINING_KEYS {
        if raw.contains_key(key) {
            let what = if raw.contains_key("solver") {
                "a solver run ([solver])"
            } else {
                "an episode run ([environment])"
            };
            return Err(r.key_error(
                key,
                format!("{what} has no [{key}]; remove it or write a training spec"),
            ));
        }
    }
    let mut resolved = toml::Table::new();
    resolved.insert("name".into(), toml::Value::String(name.clone()));
    resolved.insert("seed".into(), toml::Value::Integer(seed as i64));
    resolved.insert("device".into(), toml::Value::String(device.clone()));
    let mut dependencies = Vec::new();
    let (mut environment, mut agents, mut episodes, mut solver) = (None, Vec::new(), None, None);
    let train = if raw.contains_key("solver") {
        for key in ["environment", "agent", "episodes"] {
            if raw.contains_key(key) {
                return Err(r.key_error(
                    key,
                    "a spec is a solver run ([solver]) or an episode run ([environment]), not both",
                ));
            }
        }
        let (s, canon) = r.component(Kind::Solver, "solver", raw.get("solver"), &[])?;
        solver = Some(s);
        resolved.insert("solver".into(), toml::Value::Table(canon));
        let (train, train_canon) = crate::train::resolve(r, raw)?;
        resolved.insert("train".into(), toml::Value::Table(train_canon));
        train
    } else {
        if raw.contains_key("train") {
            return Err(r.key_error(
                "train",
                "an episode run has no [train]; its length is [episodes] count",
            ));
        }
        let p = play(r, raw, seed, &mut dependencies)?;
        for (key, value) in p.canon {
            resolved.insert(key.into(), value);
        }
        environment = Some(p.environment);
        agents = p.agents;
        episodes = Some(p.episodes);
        crate::train::Train::default()
    };
    Spec::identify(
        Spec {
            text: String::new(),
            id: String::new(),
            name,
            seed,
            device,
            dataset: None,
            model: None,
            problem: None,
            precision: assay_sdk::Precision::F32,
            optimizer: None,
            no_decay: Vec::new(),
            probes: Vec::new(),
            train,
            init: None,
            prune: None,
            environment,
            agents,
            episodes,
            solver,
            dependencies,
            resolved,
        },
        r.file,
    )
}
