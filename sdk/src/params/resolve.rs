//! Resolving given values against declarations: unknown keys refused, every value checked,
//! defaults filled. The one resolver of the platform: [`Component::resolve`](crate::Component::resolve)
//! uses it for plugin tests and tools, and the host for specs (adding the file and key to its
//! messages).

use std::fmt;

use super::{Param, ParamType, Params, Value};

/// Why given values do not fit a component's declarations.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamIssue {
    /// A key that no parameter declares.
    Unknown {
        /// The key given.
        key: String,
        /// The declared names.
        known: Vec<String>,
    },
    /// A value that does not fit its declaration: wrong type, out of range, not a choice.
    Invalid {
        /// The parameter.
        key: String,
        /// What is wrong (for a choice, with the closest valid spelling).
        message: String,
    },
    /// A parameter without a default that was not given.
    Missing {
        /// The parameter.
        key: String,
        /// Its declared type.
        ty: ParamType,
        /// Its documentation.
        doc: String,
    },
}

impl ParamIssue {
    /// For an unknown key, what follows "unknown parameter" in a message: the closest declared
    /// name, if one is close, and every declared name (` (did you mean `lr`?); it accepts: lr`).
    pub fn unknown_hint(key: &str, known: &[String]) -> String {
        let mut out = String::new();
        if let Some(best) = super::closest(key, known.iter().map(String::as_str)) {
            out.push_str(&format!(" (did you mean `{best}`?)"));
        }
        if known.is_empty() {
            out.push_str("; it accepts nothing");
        } else {
            out.push_str(&format!("; it accepts: {}", known.join(", ")));
        }
        out
    }

    /// The parameter the issue is about.
    pub fn key(&self) -> &str {
        match self {
            ParamIssue::Unknown { key, .. }
            | ParamIssue::Invalid { key, .. }
            | ParamIssue::Missing { key, .. } => key,
        }
    }
}

impl fmt::Display for ParamIssue {
    /// The message without the key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamIssue::Unknown { key, known } => {
                write!(f, "unknown parameter{}", Self::unknown_hint(key, known))
            }
            ParamIssue::Invalid { message, .. } => write!(f, "{message}"),
            ParamIssue::Missing { ty, doc, .. } => write!(f, "required ({ty}: {doc})"),
        }
    }
}

/// Checks `given` against `declared` and fills every default: the complete [`Params`] a
/// component is built with, or the first issue (unknown keys first, then parameters in
/// declaration order).
///
/// ```
/// use assay_sdk::params::{resolve, ParamIssue};
/// use assay_sdk::{Param, Value};
///
/// let declared = [Param::float("lr", 1e-3, "learning rate").min(0.0)];
/// let params = resolve(&declared, &[]).unwrap();
/// assert_eq!(params.f64("lr").unwrap(), 1e-3);
/// let issue = resolve(&declared, &[("rl", Value::Float(0.1))]).unwrap_err();
/// assert!(matches!(issue, ParamIssue::Unknown { .. }));
/// assert_eq!(issue.to_string(), "unknown parameter (did you mean `lr`?); it accepts: lr");
/// ```
pub fn resolve(declared: &[Param], given: &[(&str, Value)]) -> Result<Params, ParamIssue> {
    for (key, _) in given {
        if !declared.iter().any(|p| p.name == *key) {
            return Err(ParamIssue::Unknown {
                key: key.to_string(),
                known: declared.iter().map(|p| p.name.clone()).collect(),
            });
        }
    }
    let mut out = Params::default();
    for p in declared {
        let value = match given.iter().find(|(k, _)| *k == p.name) {
            Some((_, v)) => p.check(v).map_err(|message| ParamIssue::Invalid {
                key: p.name.clone(),
                message,
            })?,
            None => p.default.clone().ok_or_else(|| ParamIssue::Missing {
                key: p.name.clone(),
                ty: p.ty,
                doc: p.doc.clone(),
            })?,
        };
        out.insert(p.name.clone(), value);
    }
    Ok(out)
}
