//! One module per subcommand: its clap arguments and what it prints.

pub mod bench;
pub mod generate;
pub mod new_plugin;
pub mod plot;
pub mod plugins;
pub mod query;
pub mod report;
pub mod run;
pub mod runs;
pub mod sweep;
