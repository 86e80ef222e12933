//! `assay runs`: list, show, remove and garbage-collect runs.

use std::process::ExitCode;

use assay_store::Store;
use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum RunsCommand {
    /// Every run with status and progress.
    List {
        /// JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One run's record and spec.
    Show {
        /// Run id.
        id: String,
    },
    /// Remove a run directory.
    Rm {
        /// Run id.
        id: String,
    },
    /// Remove checkpoints of finished runs except the last, and stray temporary files.
    Gc {
        /// Only report what would be removed.
        #[arg(long)]
        dry_run: bool,
    },
}

/// `assay runs ...`.
pub fn run(cmd: RunsCommand, store: &Store) -> anyhow::Result<ExitCode> {
    match cmd {
        RunsCommand::List { json } => {
            let list = store.list()?;
            // Directories without a record: killed before writing it, or starting now.
            let incomplete: Vec<(String, &str)> = store
                .incomplete()?
                .into_iter()
                .map(|(id, live)| (id, if live { "starting" } else { "incomplete" }))
                .collect();
            if json {
                let mut rows: Vec<_> = list
                    .iter()
                    .map(|r| match r {
                        Ok((rec, status)) => {
                            let mut v = serde_json::to_value(rec).unwrap_or_default();
                            v["status"] = serde_json::Value::String(status.as_str().into());
                            v
                        }
                        Err(e) => serde_json::json!({"error": e.to_string()}),
                    })
                    .collect();
                rows.extend(
                    incomplete
                        .iter()
                        .map(|(id, status)| serde_json::json!({"id": id, "status": status})),
                );
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                println!(
                    "{:<40} {:<12} {:>14} {:<24}",
                    "id", "status", "steps", "started"
                );
                for r in list {
                    match r {
                        Ok((rec, status)) => println!(
                            "{:<40} {:<12} {:>14} {:<24}",
                            rec.id,
                            status.as_str(),
                            format!("{}/{}", rec.steps_done, rec.steps_total),
                            rec.started_at
                        ),
                        Err(e) => println!("{e}"),
                    }
                }
                for (id, status) in &incomplete {
                    println!("{id:<40} {status:<12} {:>14} {:<24}", "-", "-");
                }
                if incomplete.iter().any(|(_, s)| *s == "incomplete") {
                    eprintln!(
                        "note: `incomplete` runs were stopped before writing run.json; `assay runs rm ID` removes one, or `assay run SPEC` recomputes it"
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        RunsCommand::Show { id } => {
            let rec = store.record(&id)?;
            let status = rec.effective_status(store.heartbeat(&id));
            let mut v = serde_json::to_value(&rec)?;
            v["status"] = serde_json::Value::String(status.as_str().into());
            println!("{}", serde_json::to_string_pretty(&v)?);
            let spec = store.run_dir(&id)?.join(assay_store::layout::SPEC);
            if let Ok(text) = std::fs::read_to_string(&spec) {
                println!("\n# {}\n{text}", spec.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        RunsCommand::Rm { id } => {
            store.remove(&id)?;
            println!("removed {id}");
            Ok(ExitCode::SUCCESS)
        }
        RunsCommand::Gc { dry_run } => {
            let (files, bytes) = store.gc(dry_run)?;
            println!(
                "{} {files} files, {:.1} MiB",
                if dry_run { "would remove" } else { "removed" },
                bytes as f64 / (1024.0 * 1024.0)
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
