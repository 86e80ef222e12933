//! The error type every SDK call returns.

/// What can go wrong inside a component.
///
/// Plugin authors return these from their components; the host adds the plugin's name and the
/// call that failed before it shows the message to a user.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PluginError {
    /// A tensor operation failed.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
    /// A parameter is missing, has the wrong type, or is out of range.
    #[error("parameter `{key}`: {message}")]
    Param {
        /// The parameter's name as declared.
        key: String,
        /// What is wrong with it.
        message: String,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file involved.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Input that the component cannot use (a malformed data file, an impossible shape, ...).
    #[error("{0}")]
    Invalid(String),
}

impl PluginError {
    /// A [`PluginError::Invalid`] with the given message.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::Invalid(message.into())
    }

    /// A [`PluginError::Param`] for `key`.
    pub fn param(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Param {
            key: key.into(),
            message: message.into(),
        }
    }

    /// A [`PluginError::Io`] naming `path`.
    pub fn io(path: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

/// Result alias used throughout the SDK.
pub type Result<T, E = PluginError> = std::result::Result<T, E>;
