//! Agent `suspicion`: the Suspicion-Agent pipeline (Guo et al. 2023) on any text model.
//!
//! Per decision: (1) the environment's observation into readable text, (2) a short-memory
//! summary of the current game, (3) at the first decision of a game, reflexion over the last
//! `memory_window` game summaries: the opponent's pattern (second-order mode: also how the
//! opponent reads us, and a strategy change), (4) beliefs about the cards (first-order: the
//! opponent's card; second-order: also the opponent's belief about ours), (5) plans over the
//! legal actions with expected chips, (6) the decision `ACTION | sentence`, re-prompted up to
//! `retries` times when it names no legal action. After each game (7) a summary, with the
//! opponent's card in hindsight unless `hindsight = false`, goes to long memory, which
//! checkpoints keep. Mode `normal` skips (3) and (4).
//!
//! Backends: `scripted` (rules `PATTERN=>REPLY`, for tests and dry runs), `openai` (any
//! OpenAI-compatible API), `hf` (a Hugging Face checkpoint run here on the CPU) and `run` (the
//! decoder trained by the run the agent's `from` names, with that run's tokenizer).
//!
//! Every prompt and reply is handed to the host ([`Agent::take_exchanges`]) and stored in table
//! `agent_exchanges` with the decision's episode and step. If the replies never name a legal
//! action, the agent plays the first of check, call, fold that is legal and records a
//! `fallback` exchange saying so: it only ever plays legal actions. A backend error is an error
//! of `act`, which the host records as a fault (the seat forfeits the hand).

pub mod prompts;
pub mod scripted;

use assay_sdk::prelude::*;
use assay_sdk::{Exchange, Sampling, SharedTextModel, TextModel};

use crate::action::Action as Bet;

/// How much the agent reasons about the opponent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Choice)]
pub enum Mode {
    /// Vanilla planning: no opponent pattern, no beliefs.
    Normal,
    /// First-order theory of mind: the opponent's pattern and card.
    FirstTom,
    /// Second-order: also what the opponent believes about us.
    SecondTom,
}

/// Where the agent's text model lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Choice)]
pub enum Backend {
    /// Replies by rule (`script`): tests and dry runs.
    Scripted,
    /// An OpenAI-compatible API (`OPENAI_BASE_URL`, `OPENAI_API_KEY` from the environment).
    Openai,
    /// A Hugging Face checkpoint run here (`hf_model`, from the Hub cache of the environment).
    Hf,
    /// The model trained by the run the agent's `from` names (with its tokenizer).
    Run,
}

/// The parameters of agent `suspicion`.
#[derive(Debug, Params)]
pub struct SuspicionParams {
    /// Theory-of-mind level: normal, first_tom or second_tom.
    #[param(default = "second_tom")]
    pub mode: Mode,
    /// The text model: scripted or openai.
    #[param(default = "scripted")]
    pub backend: Backend,
    /// The model an OpenAI-compatible API should run (the paper: gpt-4-0613).
    #[param(default = "")]
    pub openai_model: String,
    /// The Hugging Face checkpoint of backend `hf`, `ORG/NAME` or `ORG/NAME@REVISION`.
    #[param(default = "")]
    pub hf_model: String,
    /// Rules `PATTERN=>REPLY` of the scripted backend (`*` matches any prompt).
    #[param(default = ["ACTION | =>call | I call.", "*=>Noted."])]
    pub script: Vec<String>,
    /// Sampling temperature (the paper: 0.1).
    #[param(default = 0.1, min = 0.0)]
    pub temperature: f64,
    /// Most tokens per reply (the paper: 3000).
    #[param(default = 3000, min = 1)]
    pub max_tokens: usize,
    /// Re-prompts after a decision that names no legal action.
    #[param(default = 2, min = 0)]
    pub retries: usize,
    /// Game summaries the pattern module reflects over (the paper: 20).
    #[param(default = 20, min = 1)]
    pub memory_window: usize,
    /// Summaries see the opponent's card after the game even when it was not shown.
    #[param(default = true)]
    pub hindsight: bool,
}

/// A Hugging Face checkpoint as a text model (greedy or sampled continuations, cut at the end
/// of the reply's line block).
struct HubModel {
    model: Box<dyn Model>,
    tokenizer: std::sync::Arc<dyn Tokenizer>,
    label: String,
}

impl TextModel for HubModel {
    fn name(&self) -> String {
        self.label.clone()
    }

    fn complete(&mut self, prompts: &[&str], sampling: &Sampling) -> Result<Vec<String>> {
        let mut local = assay_sdk::LocalTextModel {
            model: &*self.model,
            tokenizer: &*self.tokenizer,
            device: Device::Cpu,
            label: self.label.clone(),
        };
        local.complete(prompts, sampling)
    }

    fn log_likelihood(&mut self, context: &str, continuation: &str) -> Result<Option<f64>> {
        let mut local = assay_sdk::LocalTextModel {
            model: &*self.model,
            tokenizer: &*self.tokenizer,
            device: Device::Cpu,
            label: self.label.clone(),
        };
        local.log_likelihood(context, continuation)
    }
}

/// The host's text model of a run, shared through a lock.
struct Shared(SharedTextModel);

impl Shared {
    fn with<R>(&self, f: impl FnOnce(&mut dyn TextModel) -> Result<R>) -> Result<R> {
        let mut guard = self.0.lock().map_err(|_| {
            PluginError::invalid("agent `suspicion`: the run's text model was poisoned by a panic")
        })?;
        f(&mut *guard)
    }
}

impl TextModel for Shared {
    fn name(&self) -> String {
        self.with(|m| Ok(m.name())).unwrap_or_else(|_| "run".into())
    }

    fn complete(&mut self, prompts: &[&str], sampling: &Sampling) -> Result<Vec<String>> {
        self.with(|m| m.complete(prompts, sampling))
    }

    fn log_likelihood(&mut self, context: &str, continuation: &str) -> Result<Option<f64>> {
        self.with(|m| m.log_likelihood(context, continuation))
    }
}

/// The agent.
pub struct Suspicion {
    p: SuspicionParams,
    model: Box<dyn TextModel + Send>,
    long_memory: Vec<String>,
    steps: Vec<String>,
    pattern: Option<String>,
    seat: usize,
    episode: u64,
    exchanges: Vec<Exchange>,
}

/// The action a decision reply names: the first legal action word before `|` (or in the whole
/// reply when there is no `|`).
pub fn parse_decision(reply: &str, legal: &[Bet]) -> Option<Bet> {
    let head = reply.split('|').next().unwrap_or("").to_lowercase();
    head.split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| !w.is_empty())
        .find_map(|w| legal.iter().copied().find(|a| a.name() == w))
}

/// The rules part of an observation text: its first line (environment `leduc_holdem` starts
/// every text with the rules).
fn rules_of(text: &str) -> String {
    text.lines().next().unwrap_or("").to_string()
}

impl Suspicion {
    /// Builds the agent with its backend; `run_model` is the text model of the run named by
    /// the agent's `from`, which backend `run` plays with.
    pub fn new(p: SuspicionParams, run_model: Option<SharedTextModel>) -> Result<Suspicion> {
        let model: Box<dyn TextModel + Send> = match p.backend {
            Backend::Scripted => Box::new(scripted::Scripted::new(&p.script)?),
            Backend::Openai => {
                if p.openai_model.trim().is_empty() {
                    return Err(PluginError::param(
                        "openai_model",
                        "agent `suspicion` with backend = \"openai\": name the model the API should run",
                    ));
                }
                Box::new(assay_text::openai::OpenAiChat::from_env(&p.openai_model))
            }
            Backend::Run => {
                let shared = run_model.ok_or_else(|| {
                    PluginError::param(
                        "from",
                        "agent `suspicion` with backend = \"run\": name a run that trained a text model, `from = \"run:ID\"` or its spec file",
                    )
                })?;
                Box::new(Shared(shared))
            }
            Backend::Hf => {
                let (repo, revision) = p.hf_model.split_once('@').unwrap_or((&p.hf_model, "main"));
                let model =
                    assay_nets::hf::load_from_hub(repo, revision, &Device::Cpu).map_err(|e| {
                        PluginError::param("hf_model", format!("agent `suspicion`: {e}"))
                    })?;
                let tokenizer =
                    model
                        .generative()
                        .and_then(|g| g.tokenizer())
                        .ok_or_else(|| {
                            PluginError::param(
                                "hf_model",
                                format!("agent `suspicion`: hf:{repo} has no tokenizer.json"),
                            )
                        })?;
                Box::new(HubModel {
                    model,
                    tokenizer,
                    label: format!("hf:{repo}@{revision}"),
                })
            }
        };
        Ok(Suspicion {
            p,
            model,
            long_memory: Vec::new(),
            steps: Vec::new(),
            pattern: None,
            seat: 0,
            episode: 0,
            exchanges: Vec::new(),
        })
    }

    fn ask(&mut self, module: &str, prompt: String) -> Result<String> {
        let sampling = Sampling {
            max_tokens: self.p.max_tokens,
            temperature: self.p.temperature,
            seed: self.episode,
            ..Sampling::default()
        };
        let reply = self
            .model
            .complete(&[prompt.as_str()], &sampling)
            .map_err(|e| {
                PluginError::invalid(format!(
                    "agent `suspicion`, module `{module}`, backend {}: {e}",
                    self.model.name()
                ))
            })?
            .into_iter()
            .next()
            .unwrap_or_default();
        self.exchanges.push(Exchange {
            module: module.to_string(),
            prompt,
            reply: reply.clone(),
        });
        Ok(reply)
    }
}

impl Agent for Suspicion {
    fn begin_episode(&mut self, start: &EpisodeStart) -> Result<()> {
        self.seat = start.seat;
        self.episode = start.index;
        self.steps.clear();
        self.pattern = None;
        Ok(())
    }

    fn act(&mut self, step: &TimeStep) -> Result<Action> {
        let legal: Vec<Bet> = step
            .legal_actions
            .iter()
            .filter_map(|&i| Bet::ALL.get(i).copied())
            .collect();
        if legal.is_empty() {
            return Err(PluginError::invalid(
                "agent `suspicion`: no legal Leduc action to choose from",
            ));
        }
        let names: Vec<&str> = legal.iter().map(|a| a.name()).collect();
        let raw = step
            .text
            .clone()
            .unwrap_or_else(|| format!("{:?}", step.observation));
        let rules = rules_of(&raw);
        let state = self.ask("observation", prompts::observation(&rules, &raw))?;
        self.steps.push(format!("State: {state}"));
        let summary = self.ask("short_memory", prompts::short_memory(&rules, &self.steps))?;
        let belief = if self.p.mode == Mode::Normal {
            String::new()
        } else {
            if self.pattern.is_none() {
                let from = self.long_memory.len().saturating_sub(self.p.memory_window);
                let recent = self.long_memory[from..].to_vec();
                let pattern =
                    self.ask("pattern", prompts::pattern(&rules, &recent, self.p.mode))?;
                self.pattern = Some(pattern);
            }
            let pattern = self.pattern.clone().unwrap_or_default();
            self.ask(
                "belief",
                prompts::belief(&rules, &state, &summary, &pattern, self.p.mode),
            )?
        };
        let plans = self.ask(
            "plan",
            prompts::plan(&rules, &state, &summary, &belief, &names, self.p.mode),
        )?;
        let ask = prompts::decision(&rules, &state, &plans, &names);
        let mut reply = self.ask("decision", ask.clone())?;
        let mut chosen = parse_decision(&reply, &legal);
        let mut tries = 0;
        while chosen.is_none() && tries < self.p.retries {
            tries += 1;
            reply = self.ask("decision_retry", prompts::retry(&ask, &reply, &names))?;
            chosen = parse_decision(&reply, &legal);
        }
        let action = match chosen {
            Some(a) => a,
            None => {
                let a = [Bet::Check, Bet::Call, Bet::Fold]
                    .into_iter()
                    .find(|a| legal.contains(a))
                    .unwrap_or(legal[0]);
                self.exchanges.push(Exchange {
                    module: "fallback".into(),
                    prompt: format!(
                        "{} replies named no legal action ({})",
                        tries + 1,
                        names.join(", ")
                    ),
                    reply: a.name().into(),
                });
                a
            }
        };
        let said = reply.split_once('|').map(|(_, s)| s.trim()).unwrap_or("");
        self.steps.push(format!("I chose {action}. I said: {said}"));
        Ok(Action::Discrete(action.index()))
    }

    fn end_episode(&mut self, last: &TimeStep) -> Result<()> {
        let text = last.text.clone().unwrap_or_default();
        let rules = rules_of(&text);
        let outcome: Vec<&str> = text
            .lines()
            .skip(1)
            .filter(|l| self.p.hindsight || !l.starts_with("Hindsight:"))
            .collect();
        let outcome = format!("I was seat {}.\n{}", self.seat, outcome.join("\n"));
        let summary = self.ask(
            "summary",
            prompts::summary(&rules, &self.steps, &outcome, self.p.hindsight),
        )?;
        self.long_memory.push(summary);
        Ok(())
    }

    fn take_exchanges(&mut self) -> Vec<Exchange> {
        std::mem::take(&mut self.exchanges)
    }

    fn save_state(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        for m in &self.long_memory {
            out.extend((m.len() as u64).to_le_bytes());
            out.extend(m.as_bytes());
        }
        Ok(out)
    }

    fn load_state(&mut self, state: &[u8]) -> Result<()> {
        let bad = || PluginError::invalid("agent `suspicion`: the saved long memory is corrupt");
        let mut memory = Vec::new();
        let mut rest = state;
        while !rest.is_empty() {
            let len = u64::from_le_bytes(
                rest.get(..8)
                    .ok_or_else(bad)?
                    .try_into()
                    .map_err(|_| bad())?,
            ) as usize;
            let text = rest.get(8..8 + len).ok_or_else(bad)?;
            memory.push(String::from_utf8(text.to_vec()).map_err(|_| bad())?);
            rest = &rest[8 + len..];
        }
        self.long_memory = memory;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_are_read_before_the_bar_and_only_legal_actions_count() {
        let legal = [Bet::Call, Bet::Raise, Bet::Fold];
        assert_eq!(
            parse_decision("Raise | I have a king", &legal),
            Some(Bet::Raise)
        );
        assert_eq!(
            parse_decision("I will call | you bluff", &legal),
            Some(Bet::Call)
        );
        // `check` is not legal here, and words after the bar do not count.
        assert_eq!(parse_decision("check | then raise", &legal), None);
        assert_eq!(parse_decision("", &legal), None);
        assert_eq!(parse_decision("FOLD.", &legal), Some(Bet::Fold));
    }

    #[test]
    fn long_memory_survives_a_checkpoint() {
        let p = SuspicionParams::from_params(
            &Component::agent("x", "0.1.0", |_, _| Err(PluginError::invalid("unused")))
                .params::<SuspicionParams>()
                .resolve(&[])
                .unwrap(),
        )
        .unwrap();
        let mut a = Suspicion::new(p, None).unwrap();
        a.long_memory = vec!["first game".into(), "zweites Spiel ♠".into()];
        let saved = a.save_state().unwrap();
        a.long_memory.clear();
        a.load_state(&saved).unwrap();
        assert_eq!(a.long_memory, vec!["first game", "zweites Spiel ♠"]);
        assert!(a.load_state(&saved[..5]).is_err());
    }
}
