//! Python sources through Python's own `ast` (study 2): the AST-depth measure and the
//! comment-free, scrambled and randomized ablations, computed by `python3` running
//! `python_code.py` (embedded in this crate), because the definitions depend on that parser.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::corpus::{CorpusError, Document};

const SCRIPT: &str = include_str!("python_code.py");

/// The depth bins of the study: shallow 0 < d < 8, middle 8 < d < 12, deep 12 < d < 20
/// (d = 8, d = 12 and d ≥ 20 belong to none).
pub fn depth_bin(depth: usize) -> Option<&'static str> {
    match depth {
        1..=7 => Some("shallow"),
        9..=11 => Some("middle"),
        13..=19 => Some("deep"),
        _ => None,
    }
}

/// A transformed unit of source and its AST depth.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    /// The file (and chunk number).
    pub source: String,
    /// The (transformed) text.
    pub text: String,
    /// Its AST depth.
    pub depth: usize,
}

/// Runs `op` (`none`, `comment_free`, `scrambled`, `randomized`) over `files`, cut into
/// `units` (`files` or top-level def/class `chunks`). Files that do not parse are skipped and
/// counted in the second value.
pub fn transform(
    op: &str,
    units: &str,
    seed: u64,
    files: &[PathBuf],
) -> Result<(Vec<Unit>, usize), CorpusError> {
    let fail = |message: String| CorpusError::File {
        path: "python3".into(),
        message,
    };
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(SCRIPT)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            fail(format!(
                "cannot start python3 (needed for Python AST options): {e}"
            ))
        })?;
    let request = serde_json::json!({
        "op": op,
        "units": units,
        "seed": seed,
        "files": files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>(),
    });
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(request.to_string().as_bytes())
            .map_err(|e| fail(format!("writing to python3: {e}")))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| fail(format!("waiting for python3: {e}")))?;
    if !out.status.success() {
        return Err(fail(format!(
            "python3 failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    let mut units_out = Vec::new();
    let mut skipped = 0;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).map_err(|e| fail(format!("bad output `{line}`: {e}")))?;
        let path = v["path"].as_str().unwrap_or("?").to_string();
        let Some(docs) = v["docs"].as_array() else {
            skipped += 1;
            continue;
        };
        for (i, d) in docs.iter().enumerate() {
            units_out.push(Unit {
                source: if units == "chunks" {
                    format!("{path}#{i}")
                } else {
                    path.clone()
                },
                text: d["text"].as_str().unwrap_or("").to_string(),
                depth: d["depth"].as_u64().unwrap_or(0) as usize,
            });
        }
    }
    Ok((units_out, skipped))
}

/// Documents of `files` after `op`, keeping only the units in depth bin `bin` (`all` keeps
/// every unit).
pub fn documents(
    op: &str,
    units: &str,
    bin: &str,
    seed: u64,
    files: &[PathBuf],
) -> Result<Vec<Document>, CorpusError> {
    let (all, _) = transform(op, units, seed, files)?;
    Ok(all
        .into_iter()
        .filter(|u| bin == "all" || depth_bin(u.depth) == Some(bin))
        .map(|u| Document {
            source: u.source,
            text: u.text,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_matches_the_test_vectors_and_ablations_keep_code_parsable() {
        let dir = std::env::temp_dir().join(format!("assay-py-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let sources = ["", "x = 1", "x = a + b", "def f(a): return a"];
        let files: Vec<PathBuf> = sources
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let p = dir.join(format!("v{i}.py"));
                std::fs::write(&p, s).unwrap();
                p
            })
            .collect();
        let (units, skipped) = transform("none", "files", 0, &files).unwrap();
        assert_eq!(skipped, 0);
        assert_eq!(
            units.iter().map(|u| u.depth).collect::<Vec<_>>(),
            vec![0, 3, 4, 4]
        );
        let code = "def area(radius):\n    \"\"\"Area of a circle.\"\"\"\n    # pi times r squared\n    return 3.14 * radius ** 2\n\nclass Shape:\n    def scale(self, k):\n        return len(str(k)) * k\n";
        let p = dir.join("code.py");
        std::fs::write(&p, code).unwrap();
        std::fs::write(dir.join("broken.py"), "def (:").unwrap();
        let free = documents("comment_free", "files", "all", 0, std::slice::from_ref(&p)).unwrap();
        assert!(!free[0].text.contains("Area of") && !free[0].text.contains("pi times"));
        assert!(free[0].text.contains("return 3.14 * radius ** 2"));
        let scrambled =
            documents("scrambled", "files", "all", 1, std::slice::from_ref(&p)).unwrap();
        let randomized =
            documents("randomized", "files", "all", 1, std::slice::from_ref(&p)).unwrap();
        // Scrambled: the same names, reassigned (so not the original program text).
        assert_ne!(
            scrambled[0].text,
            documents("none", "chunks", "all", 0, std::slice::from_ref(&p)).unwrap()[0].text
        );
        assert!(scrambled[0].text.contains("radius") || scrambled[0].text.contains("Shape"));
        // Randomized: none of the original names survive.
        for name in ["radius", "area", "Shape", "scale"] {
            assert!(!randomized[0].text.contains(name), "{}", randomized[0].text);
        }
        // Builtin uses are replaced too, by names of the file (scrambled) or fresh ones.
        assert!(!randomized[0].text.contains("len("));
        let chunks = transform("none", "chunks", 0, &[p.clone(), dir.join("broken.py")]).unwrap();
        assert_eq!(chunks.0.len(), 2, "two top-level statements: def and class");
        assert_eq!(chunks.1, 1, "the broken file is skipped");
        assert_eq!(depth_bin(3), Some("shallow"));
        assert_eq!(depth_bin(8), None);
        assert_eq!(depth_bin(15), Some("deep"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
