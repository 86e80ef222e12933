//! `assay new-plugin`: a plugin crate, anywhere, that builds against this host's SDK.

use std::path::PathBuf;
use std::process::ExitCode;

use assay_sdk::Kind;
use clap::Args;

use crate::distribution::Distribution;

#[derive(Args, Debug)]
pub struct NewPluginArgs {
    /// Crate name (lower case, `-` or `_`).
    pub name: String,
    /// Kind of the component to scaffold: optimizer, model, dataset, probe, environment,
    /// pruner, problem, agent or solver.
    #[arg(long)]
    pub kind: String,
    /// Parent directory of the new crate, anywhere (default: the current directory).
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
}

/// `assay new-plugin NAME --kind KIND [--dir DIR]`.
pub fn run(args: &NewPluginArgs) -> anyhow::Result<ExitCode> {
    let kind = Kind::parse(&args.kind).ok_or_else(|| {
        let names: Vec<String> = Kind::ALL.map(|k| k.as_str().to_string()).to_vec();
        anyhow::anyhow!(
            "--kind {}",
            assay_sdk::params::not_a_choice(&args.kind, &names)
        )
    })?;
    let dist = Distribution::current()?;
    let created = crate::scaffold::new_plugin(&args.name, kind, &args.dir, &dist)?;
    println!(
        "created {} (its README says how to build and load it)",
        created.display()
    );
    Ok(ExitCode::SUCCESS)
}
