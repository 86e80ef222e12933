//! Where in a TOML file a parse error is, for messages that name the line and column.

/// `line:column: message` for a TOML error in `text`.
pub fn describe_toml_error(e: &toml::de::Error, text: &str) -> String {
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
            format!("{line}:{column}: {}", e.message().trim())
        }
        None => format!(" {}", e.message().trim()),
    }
}
