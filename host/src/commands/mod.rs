//! One module per subcommand: its clap arguments and what it prints.

pub mod bench;
pub mod cache;
pub mod generate;
pub mod lens;
pub mod new_plugin;
pub mod patch;
pub mod plot;
pub mod plugins;
pub mod prompts;
pub mod query;
pub mod report;
pub mod run;
pub mod runs;
pub mod serve;
pub mod sweep;
