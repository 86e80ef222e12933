//! Episode runs: a spec with `[environment]`, one `[[agent]]` per seat and `[episodes]`.
//!
//! Each episode resets the environment with the deal's seed, hands every time step to the agent
//! in the acting seat and applies its action. A *fault* (an illegal action, an error, a panic,
//! or a decision slower than `decision_timeout_s`) is recorded with the step and answered by the
//! environment's forfeit rule for that seat; the run goes on. Tables (all with the usual
//! `run_id` and `step` columns, `step` being the episodes done when the rows were written):
//!
//! - `episodes`: every step (episode, step, player, agent, observation, text, legal actions,
//!   action, rewards, done, fault), unless `record_steps = false`;
//! - `episode_results`: each agent's seat, return and faults per episode;
//! - `agent_exchanges`: every exchange of a language agent with its model (module, prompt,
//!   reply) with the decision's episode and step;
//! - `agent_faults`: every fault (episode, step, agent, phase `begin`/`act`/`end`, message); a
//!   failure at the start or end of an episode counts as a fault but forfeits nothing;
//! - `agent_results` (at the end): mean return per episode with its 95 % interval over deals.
//!
//! Metrics: `return/AGENT`, the running mean return, at every flush. Checkpoints every
//! `checkpoint_every` episodes hold the agents' memories and the results so far; a resumed run
//! replays from there and ends as the uninterrupted one would.

mod seating;
mod source;
mod tally;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use assay_catalog::Catalog;
use assay_sdk::{
    Action, Agent, AgentContext, BuildContext, Column, Environment, EpisodeStart, Table,
};
use assay_spec::Spec;
use assay_store::record::RunLog;
use assay_store::{RunRecord, Store};

use crate::outcome::{Outcome, RunOptions};
use seating::{derive, seating};
use tally::{summary_table, Tally};

/// Steps after which an episode is taken to be stuck.
const MAX_STEPS: u64 = 1_000_000;

/// One row of table `episodes`.
struct StepRow {
    episode: u64,
    t: u64,
    player: usize,
    agent: String,
    observation: String,
    text: Option<String>,
    legal: String,
    action: String,
    rewards: String,
    done: bool,
    fault: Option<String>,
}

/// One row of table `agent_exchanges`.
struct ExchangeRow {
    episode: u64,
    t: u64,
    agent: String,
    module: String,
    prompt: String,
    reply: String,
}

/// One row of table `agent_faults`: a fault outside a decision (at the start or the end of an
/// episode), or inside one (`act`).
struct FaultRow {
    episode: u64,
    t: u64,
    agent: String,
    phase: &'static str,
    message: String,
}

/// Rows waiting to be written.
#[derive(Default)]
struct Buffers {
    steps: Vec<StepRow>,
    exchanges: Vec<ExchangeRow>,
    faults: Vec<FaultRow>,
    /// The first episode whose `episode_results` rows are not written yet.
    results_from: u64,
}

/// What the loop holds.
struct Match<'a> {
    spec: &'a Spec,
    env: Box<dyn Environment>,
    agents: Vec<Box<dyn Agent>>,
    labels: Vec<String>,
    plugins: Vec<String>,
    tally: Tally,
    buffers: Buffers,
    timeout: Option<Duration>,
}

/// `[x0,x1,...]`: how vectors (observations, continuous actions, rewards) are stored.
fn fmt_vector<T: std::fmt::Display>(x: &[T]) -> String {
    let parts: Vec<String> = x.iter().map(|v| v.to_string()).collect();
    format!("[{}]", parts.join(","))
}

impl Match<'_> {
    fn action_label(&self, a: &Action) -> String {
        match a {
            Action::Discrete(i) => self.env.action_name(*i),
            Action::Continuous(v) => fmt_vector(v),
            #[allow(unreachable_patterns)]
            _ => "?".into(),
        }
    }

    /// Plays episode `e`, adding its steps and results to the buffers.
    fn episode(&mut self, e: u64) -> anyhow::Result<()> {
        let ep = self
            .spec
            .episodes
            .as_ref()
            .ok_or_else(|| anyhow!("no [episodes]"))?;
        let seats = self.agents.len();
        let seat = seating(self.spec.seed, e, seats, ep.swap_seats, ep.duplicate);
        let mut faults = vec![0u64; seats];
        for (a, agent) in self.agents.iter_mut().enumerate() {
            let started = agent.begin_episode(&EpisodeStart {
                index: e,
                seat: seat.seat_of(a),
                seed: derive(self.spec.seed, &[2, e, a as u64]),
            });
            if let Err(err) = started {
                faults[a] += 1;
                tracing::warn!(
                    "episode {e}: agent {} failed to begin: {err}",
                    self.labels[a]
                );
                self.buffers.faults.push(FaultRow {
                    episode: e,
                    t: 0,
                    agent: self.labels[a].clone(),
                    phase: "begin",
                    message: format!("{err:#}"),
                });
            }
        }
        let mut ts = self.env.reset(seat.env_seed)?;
        let mut returns = vec![0.0; seats];
        let mut step = 0u64;
        while !ts.done {
            if step >= MAX_STEPS {
                bail!("episode {e} did not end after {MAX_STEPS} steps");
            }
            let player = ts.player.unwrap_or(0);
            let Some(&a) = seat.agent_at.get(player) else {
                bail!(
                    "the environment gave the turn to player {player}, but there are {seats} seats"
                );
            };
            let started = Instant::now();
            let chosen = self.agents[a].act(&ts);
            let elapsed = started.elapsed();
            for x in self.agents[a].take_exchanges() {
                self.buffers.exchanges.push(ExchangeRow {
                    episode: e,
                    t: step,
                    agent: self.labels[a].clone(),
                    module: x.module,
                    prompt: x.prompt,
                    reply: x.reply,
                });
            }
            let fault = match &chosen {
                Err(err) => Some(format!("error: {err:#}")),
                Ok(Action::Discrete(i))
                    if !ts.legal_actions.is_empty() && !ts.legal_actions.contains(i) =>
                {
                    let legal: Vec<String> = ts
                        .legal_actions
                        .iter()
                        .map(|l| self.env.action_name(*l))
                        .collect();
                    Some(format!(
                        "illegal action {} (legal: {})",
                        self.env.action_name(*i),
                        legal.join(", ")
                    ))
                }
                Ok(_) if self.timeout.is_some_and(|t| elapsed > t) => Some(format!(
                    "decision took {:.1} s, over the limit of {:.1} s",
                    elapsed.as_secs_f64(),
                    self.timeout.map(|t| t.as_secs_f64()).unwrap_or(0.0)
                )),
                Ok(_) => None,
            };
            if let Some(message) = &fault {
                self.buffers.faults.push(FaultRow {
                    episode: e,
                    t: step,
                    agent: self.labels[a].clone(),
                    phase: "act",
                    message: message.clone(),
                });
            }
            let action_name = match (&fault, &chosen) {
                _ if !ep.record_steps => String::new(),
                (None, Ok(action)) => self.action_label(action),
                _ => "forfeit".to_string(),
            };
            let next = match (&fault, chosen) {
                (None, Ok(action)) => self.env.step(&action)?,
                _ => {
                    faults[a] += 1;
                    tracing::warn!(
                        "episode {e}, step {step}: agent {} faulted ({}); the seat forfeits",
                        self.labels[a],
                        fault.as_deref().unwrap_or("")
                    );
                    self.env.forfeit(player).with_context(|| {
                        format!(
                            "agent {} faulted ({}) and the environment could not apply its forfeit rule",
                            self.labels[a],
                            fault.as_deref().unwrap_or("")
                        )
                    })?
                }
            };
            for (s, r) in next.rewards.iter().enumerate() {
                if let Some(&agent) = seat.agent_at.get(s) {
                    returns[agent] += r;
                }
            }
            if ep.record_steps {
                let legal: Vec<String> = ts
                    .legal_actions
                    .iter()
                    .map(|l| self.env.action_name(*l))
                    .collect();
                self.buffers.steps.push(StepRow {
                    episode: e,
                    t: step,
                    player,
                    agent: self.labels[a].clone(),
                    observation: fmt_vector(&ts.observation),
                    text: ts.text.clone(),
                    legal: legal.join(","),
                    action: action_name,
                    rewards: fmt_vector(&next.rewards),
                    done: next.done,
                    fault,
                });
            }
            ts = next;
            step += 1;
        }
        for (a, agent) in self.agents.iter_mut().enumerate() {
            if let Err(err) = agent.end_episode(&ts) {
                faults[a] += 1;
                tracing::warn!("episode {e}: agent {} failed to end: {err}", self.labels[a]);
                self.buffers.faults.push(FaultRow {
                    episode: e,
                    t: step,
                    agent: self.labels[a].clone(),
                    phase: "end",
                    message: format!("{err:#}"),
                });
            }
            for x in agent.take_exchanges() {
                self.buffers.exchanges.push(ExchangeRow {
                    episode: e,
                    t: step,
                    agent: self.labels[a].clone(),
                    module: x.module,
                    prompt: x.prompt,
                    reply: x.reply,
                });
            }
        }
        for a in 0..seats {
            self.tally
                .add(e, seat.deal, a, seat.seat_of(a), returns[a], faults[a]);
        }
        Ok(())
    }

    /// Moves the buffered rows into `log` as tables at step `done` and logs the running means.
    fn drain(&mut self, log: &mut RunLog, done: u64) -> anyhow::Result<()> {
        let b = std::mem::take(&mut self.buffers.steps);
        if !b.is_empty() {
            let int =
                |f: &dyn Fn(&StepRow) -> i64| Column::I64(b.iter().map(|r| Some(f(r))).collect());
            let text =
                |f: &dyn Fn(&StepRow) -> Option<String>| Column::Str(b.iter().map(f).collect());
            let table = Table::new("episodes")
                .column("episode", int(&|r| r.episode as i64))
                .column("t", int(&|r| r.t as i64))
                .column("player", int(&|r| r.player as i64))
                .column("agent", text(&|r| Some(r.agent.clone())))
                .column("observation", text(&|r| Some(r.observation.clone())))
                .column("text", text(&|r| r.text.clone()))
                .column("legal_actions", text(&|r| Some(r.legal.clone())))
                .column("action", text(&|r| Some(r.action.clone())))
                .column("rewards", text(&|r| Some(r.rewards.clone())))
                .column(
                    "done",
                    Column::Bool(b.iter().map(|r| Some(r.done)).collect()),
                )
                .column("fault", text(&|r| r.fault.clone()));
            log.table(done, &table)?;
        }
        let x = std::mem::take(&mut self.buffers.exchanges);
        if !x.is_empty() {
            let s = |f: &dyn Fn(&ExchangeRow) -> String| {
                Column::Str(x.iter().map(|r| Some(f(r))).collect())
            };
            let table = Table::new("agent_exchanges")
                .column(
                    "episode",
                    Column::I64(x.iter().map(|r| Some(r.episode as i64)).collect()),
                )
                .column(
                    "t",
                    Column::I64(x.iter().map(|r| Some(r.t as i64)).collect()),
                )
                .column("agent", s(&|r| r.agent.clone()))
                .column("module", s(&|r| r.module.clone()))
                .column("prompt", s(&|r| r.prompt.clone()))
                .column("reply", s(&|r| r.reply.clone()));
            log.table(done, &table)?;
        }
        let x = std::mem::take(&mut self.buffers.faults);
        if !x.is_empty() {
            let table = Table::new("agent_faults")
                .column(
                    "episode",
                    Column::I64(x.iter().map(|r| Some(r.episode as i64)).collect()),
                )
                .column(
                    "t",
                    Column::I64(x.iter().map(|r| Some(r.t as i64)).collect()),
                )
                .column(
                    "agent",
                    Column::Str(x.iter().map(|r| Some(r.agent.clone())).collect()),
                )
                .column(
                    "phase",
                    Column::Str(x.iter().map(|r| Some(r.phase.to_string())).collect()),
                )
                .column(
                    "message",
                    Column::Str(x.iter().map(|r| Some(r.message.clone())).collect()),
                );
            log.table(done, &table)?;
        }
        if done > self.buffers.results_from {
            let rows = self
                .tally
                .episode_table(self.buffers.results_from, done, &self.labels);
            log.table(done, &rows)?;
        }
        self.buffers.results_from = done;
        crate::system::log(log, done);
        for s in self.tally.summary(&self.labels) {
            if s.episodes > 0 {
                log.metric(done, &format!("return/{}", self.labels[s.agent]), s.mean);
            }
        }
        Ok(())
    }

    fn states(&self, done: u64) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
        let mut out = Vec::new();
        for (a, agent) in self.agents.iter().enumerate() {
            out.push((format!("agent.{a}"), agent.save_state()?));
        }
        out.push(("tally".into(), self.tally.to_bytes()));
        out.push(("done".into(), done.to_le_bytes().to_vec()));
        Ok(out)
    }
}

/// Builds the environment and the agents of `spec` (loading each agent's source run).
fn build<'a>(catalog: &Catalog, spec: &'a Spec, store: &Store) -> anyhow::Result<Match<'a>> {
    let e = spec
        .environment
        .as_ref()
        .ok_or_else(|| anyhow!("no [environment]"))?;
    let ep = spec
        .episodes
        .as_ref()
        .ok_or_else(|| anyhow!("no [episodes]"))?;
    let build = BuildContext {
        seed: spec.seed,
        device: assay_sdk::candle::Device::Cpu,
    };
    let env = e
        .entry
        .build_environment(&e.params, &build)
        .with_context(|| format!("building {}", e.entry.label()))?;
    let seats = env.players();
    if seats != spec.agents.len() {
        bail!(
            "spec key `agent`: environment `{}` has {seats} seat{}, the spec gives {} [[agent]] table{}",
            e.plugin(),
            if seats == 1 { "" } else { "s" },
            spec.agents.len(),
            if spec.agents.len() == 1 { "" } else { "s" }
        );
    }
    let mut agents = Vec::new();
    let mut labels = Vec::new();
    let mut plugins = Vec::new();
    for (i, a) in spec.agents.iter().enumerate() {
        let source = match &a.source {
            Some(id) => assay_store::results::result_tables(store, id)
                .with_context(|| format!("spec key `agent.{i}.from`: loading run {id}"))?,
            None => Vec::new(),
        };
        let (model, text_model) = match &a.source {
            Some(id) => source::models_of(catalog, store, id).with_context(|| {
                format!("spec key `agent.{i}.from`: loading the model of run {id}")
            })?,
            None => (None, None),
        };
        let cx = AgentContext {
            build: build.clone(),
            seats,
            index: i,
            source,
            source_run: a.source.clone(),
            text_model,
            model,
        };
        let agent = a
            .component
            .entry
            .build_agent(&a.component.params, &cx)
            .with_context(|| {
                format!(
                    "spec key `agent.{i}`: building {}",
                    a.component.entry.label()
                )
            })?;
        agents.push(agent);
        labels.push(format!("{i}:{}", a.component.plugin()));
        plugins.push(a.component.plugin().to_string());
    }
    let timeout =
        (ep.decision_timeout_s > 0.0).then(|| Duration::from_secs_f64(ep.decision_timeout_s));
    Ok(Match {
        spec,
        env,
        agents,
        labels,
        plugins,
        tally: Tally::default(),
        buffers: Buffers::default(),
        timeout,
    })
}

/// Plays the episodes of `spec` in `dir`, from `checkpoint` if given.
pub(crate) fn play(
    catalog: &Catalog,
    spec: &Spec,
    store: &Store,
    dir: &Path,
    record: &mut RunRecord,
    checkpoint: Option<PathBuf>,
    opts: &RunOptions,
) -> anyhow::Result<Outcome> {
    let mut m = build(catalog, spec, store)?;
    let ep = spec
        .episodes
        .clone()
        .ok_or_else(|| anyhow!("no [episodes]"))?;
    let start = match &checkpoint {
        Some(path) => {
            let (done, states) = crate::state_checkpoint::load(path)?;
            for (a, agent) in m.agents.iter_mut().enumerate() {
                if let Some(s) = states.get(&format!("agent.{a}")) {
                    agent.load_state(s).with_context(|| {
                        format!("restoring agent {} from {}", m.labels[a], path.display())
                    })?;
                }
            }
            if let Some(t) = states.get("tally") {
                m.tally = Tally::from_bytes(t)
                    .ok_or_else(|| anyhow!("{}: the results so far are corrupt", path.display()))?;
            }
            done
        }
        None => 0,
    };
    m.buffers.results_from = start;
    let mut log = if start > 0 {
        RunLog::load(dir, start)?
    } else {
        RunLog::default()
    };
    let total = ep.count;
    let bar = crate::progress::bar(
        total,
        "{spinner} episode {pos}/{len} [{bar:30}] {per_sec} {msg} ETA {eta}",
        opts.quiet,
    );
    bar.set_position(start);
    if start == 0 {
        crate::state_checkpoint::save(dir, 0, &m.states(0)?)?;
    }
    let mut last_flush = Instant::now();
    for e in start..total {
        let paused = opts.pause_at.is_some_and(|p| e >= p);
        if paused || crate::interrupt::interrupted() {
            // Rows of episodes after the last checkpoint are dropped on resume and replayed.
            m.drain(&mut log, e)?;
            log.flush(dir)?;
            crate::state_checkpoint::save(dir, e, &m.states(e)?)?;
            record.steps_done = e;
            record.error = Some(format!(
                "{} after episode {e}",
                if paused { "paused" } else { "interrupted" }
            ));
            bar.abandon();
            return Ok(Outcome::Interrupted);
        }
        m.episode(e)?;
        let done = e + 1;
        record.steps_done = done;
        let is_final = done == total;
        let ckpt_due =
            is_final || (ep.checkpoint_every > 0 && done.is_multiple_of(ep.checkpoint_every));
        if ckpt_due || last_flush.elapsed() > Duration::from_secs(10) {
            m.drain(&mut log, done)?;
            log.flush(dir)?;
            store.write_record(record)?;
            last_flush = Instant::now();
        }
        if ckpt_due {
            crate::state_checkpoint::save(dir, done, &m.states(done)?)?;
        }
        bar.inc(1);
    }
    let summary = m.tally.summary(&m.labels);
    log.table(total, &summary_table(&summary, &m.labels, &m.plugins))?;
    for s in &summary {
        let l = &m.labels[s.agent];
        log.metric(total, &format!("return/{l}"), s.mean);
        log.metric(total, &format!("return_se/{l}"), s.se);
        log.metric(total, &format!("faults/{l}"), s.faults as f64);
    }
    log.flush(dir)?;
    bar.finish_and_clear();
    Ok(Outcome::Completed)
}
