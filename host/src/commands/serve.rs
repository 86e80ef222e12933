//! `assay serve`: the dashboard (see the `assay-serve` crate).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use assay_store::Store;

/// Arguments of `assay serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on; any address but loopback needs a token. Port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:8765")]
    pub addr: SocketAddr,
    /// File whose first line is the token requests must carry (else $ASSAY_TOKEN).
    #[arg(long)]
    pub token_file: Option<PathBuf>,
}

/// Serves the store until interrupted.
pub fn run(args: &ServeArgs, store: &Store) -> anyhow::Result<ExitCode> {
    let token = match &args.token_file {
        Some(path) => Some(assay_serve::auth::read_token_file(path)?),
        None => std::env::var("ASSAY_TOKEN").ok().filter(|t| !t.is_empty()),
    };
    assay_serve::serve(assay_serve::ServeOptions {
        store: store.root().to_path_buf(),
        addr: args.addr,
        token,
    })?;
    Ok(ExitCode::SUCCESS)
}
