//! A scripted text model for tests and dry runs of language agents: replies chosen by rules
//! `PATTERN=>REPLY`, the first whose pattern occurs in the prompt winning (`*` matches any
//! prompt). No network, no model: what the default suite plays the language agent with.

use assay_sdk::{PluginError, Result, Sampling, TextModel};

/// Replies by rule.
#[derive(Debug, Clone)]
pub struct Scripted {
    rules: Vec<(String, String)>,
}

impl Scripted {
    /// Parses `PATTERN=>REPLY` rules; `\n` in a reply stands for a newline.
    pub fn new(rules: &[String]) -> Result<Scripted> {
        let mut out = Vec::new();
        for r in rules {
            let (p, reply) = r.split_once("=>").ok_or_else(|| {
                PluginError::param(
                    "script",
                    format!("`{r}`: write each rule as PATTERN=>REPLY (`*` matches any prompt)"),
                )
            })?;
            out.push((p.trim().to_string(), reply.trim().replace("\\n", "\n")));
        }
        if out.is_empty() {
            return Err(PluginError::param(
                "script",
                "the scripted backend needs at least one PATTERN=>REPLY rule",
            ));
        }
        Ok(Scripted { rules: out })
    }
}

impl TextModel for Scripted {
    fn name(&self) -> String {
        "scripted".into()
    }

    fn complete(&mut self, prompts: &[&str], _sampling: &Sampling) -> Result<Vec<String>> {
        Ok(prompts
            .iter()
            .map(|p| {
                self.rules
                    .iter()
                    .find(|(pat, _)| pat == "*" || p.contains(pat.as_str()))
                    .map(|(_, r)| r.clone())
                    .unwrap_or_default()
            })
            .collect())
    }

    fn log_likelihood(&mut self, _context: &str, _continuation: &str) -> Result<Option<f64>> {
        Ok(None)
    }
}
