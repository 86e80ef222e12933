//! An OpenAI-compatible HTTP backend (`/chat/completions`, and `/completions` with echoed
//! log-probabilities for scoring) as an [`assay_sdk::TextModel`].
//!
//! The base URL comes from `OPENAI_BASE_URL` (default `https://api.openai.com/v1`; any
//! compatible server: vLLM, llama.cpp, Ollama) and the key from `OPENAI_API_KEY`. The key lives
//! only in this process's memory: it is not a parameter, so it never reaches a spec, a run
//! directory or a log, and `Debug` does not print it.

use assay_sdk::{PluginError, Result, Sampling, TextModel};

/// A client of one model behind an OpenAI-compatible API.
pub struct OpenAiChat {
    base_url: String,
    api_key: Option<String>,
    model: String,
    agent: ureq::Agent,
}

impl std::fmt::Debug for OpenAiChat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiChat")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl OpenAiChat {
    /// `model` at the URL and with the key of the environment.
    pub fn from_env(model: &str) -> Self {
        let base_url = std::env::var("OPENAI_BASE_URL")
            .unwrap_or_else(|_| "https://api.openai.com/v1".into())
            .trim_end_matches('/')
            .to_string();
        OpenAiChat {
            base_url,
            api_key: std::env::var("OPENAI_API_KEY")
                .ok()
                .filter(|k| !k.is_empty()),
            model: model.to_string(),
            agent: ureq::AgentBuilder::new()
                .timeout(std::time::Duration::from_secs(120))
                .build(),
        }
    }

    fn post(&self, path: &str, body: serde_json::Value) -> Result<serde_json::Value> {
        let url = format!("{}{path}", self.base_url);
        let mut req = self.agent.post(&url);
        if let Some(key) = &self.api_key {
            req = req.set("Authorization", &format!("Bearer {key}"));
        }
        match req.send_json(body) {
            Ok(resp) => resp
                .into_json()
                .map_err(|e| PluginError::invalid(format!("{url}: unreadable response: {e}"))),
            Err(ureq::Error::Status(code, resp)) => {
                let text = resp.into_string().unwrap_or_default();
                Err(PluginError::invalid(format!(
                    "{url}: HTTP {code}: {}",
                    text.chars().take(300).collect::<String>()
                )))
            }
            // The transport error names the URL, never the headers.
            Err(e) => Err(PluginError::invalid(format!("{url}: {e}"))),
        }
    }
}

impl TextModel for OpenAiChat {
    fn name(&self) -> String {
        format!("openai:{}", self.model)
    }

    fn complete(&mut self, prompts: &[&str], s: &Sampling) -> Result<Vec<String>> {
        prompts
            .iter()
            .map(|p| {
                let mut body = serde_json::json!({
                    "model": self.model,
                    "messages": [{"role": "user", "content": p}],
                    "max_tokens": s.max_tokens,
                    "temperature": s.temperature,
                    "top_p": s.top_p,
                    "seed": s.seed,
                });
                if !s.stop.is_empty() {
                    body["stop"] = serde_json::json!(s.stop.iter().take(4).collect::<Vec<_>>());
                }
                let v = self.post("/chat/completions", body)?;
                v["choices"][0]["message"]["content"]
                    .as_str()
                    .map(String::from)
                    .ok_or_else(|| {
                        PluginError::invalid(format!(
                            "{}/chat/completions: no choices[0].message.content in the response",
                            self.base_url
                        ))
                    })
            })
            .collect()
    }

    fn log_likelihood(&mut self, context: &str, continuation: &str) -> Result<Option<f64>> {
        let body = serde_json::json!({
            "model": self.model,
            "prompt": format!("{context}{continuation}"),
            "max_tokens": 0,
            "echo": true,
            "logprobs": 1,
        });
        let Ok(v) = self.post("/completions", body) else {
            return Ok(None);
        };
        let lp = &v["choices"][0]["logprobs"];
        let (Some(offsets), Some(values)) = (
            lp["text_offset"].as_array(),
            lp["token_logprobs"].as_array(),
        ) else {
            return Ok(None);
        };
        let start = context.len() as u64;
        let total = offsets
            .iter()
            .zip(values)
            .filter(|(o, _)| o.as_u64().is_some_and(|o| o >= start))
            .filter_map(|(_, v)| v.as_f64())
            .sum();
        Ok(Some(total))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_the_key() {
        let c = OpenAiChat {
            base_url: "http://localhost:1".into(),
            api_key: Some("sk-very-secret".into()),
            model: "m".into(),
            agent: ureq::Agent::new(),
        };
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("sk-very-secret") && shown.contains("redacted"),
            "{shown}"
        );
    }
}
