//! The shape of the code, checked: no import circles between the modules of any crate (a module
//! is a top-level `mod` of its crate; references are `crate::NAME` outside tests), and only the
//! store crate of the host depends on Polars and plotters.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to (`None` for the crate root).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel.components().next()?.as_os_str().to_str()?.to_string();
    let name = first.trim_end_matches(".rs").to_string();
    (name != "lib" && name != "main").then_some(name)
}

/// `crate::NAME` references in the non-test, non-comment code of `text`.
fn references(text: &str) -> BTreeSet<String> {
    let code = text.split("#[cfg(test)]").next().unwrap_or("");
    let mut out = BTreeSet::new();
    for line in code.lines() {
        let line = line.split("//").next().unwrap_or("");
        for (i, _) in line.match_indices("crate::") {
            let name: String = line[i + 7..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

/// A cycle in the module graph of the crate whose sources are in `src`, if there is one.
fn cycle(src: &Path) -> Option<Vec<String>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        if let Some(m) = module_of(src, f) {
            graph.entry(m).or_default();
        }
    }
    for f in &files {
        let Some(m) = module_of(src, f) else { continue };
        let text = std::fs::read_to_string(f).unwrap();
        for r in references(&text) {
            if r != m && graph.contains_key(&r) {
                graph.get_mut(&m).unwrap().insert(r);
            }
        }
    }
    fn visit(
        m: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == m) {
            return Some(path[i..].to_vec());
        }
        if done.contains(m) {
            return None;
        }
        path.push(m.to_string());
        for next in &graph[m] {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(m.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|m| visit(m, &graph, &mut Vec::new(), &mut done))
}

fn crate_sources() -> Vec<PathBuf> {
    let root = root();
    let mut dirs = vec![root.join("host/src"), root.join("sdk/src")];
    for parent in ["host/crates", "plugins"] {
        for entry in std::fs::read_dir(root.join(parent)).unwrap().flatten() {
            if entry.path().join("src").is_dir() {
                dirs.push(entry.path().join("src"));
            }
        }
    }
    dirs
}

#[test]
fn no_crate_has_import_circles_between_its_modules() {
    let sources = crate_sources();
    assert!(sources.len() >= 12, "found only {sources:?}");
    for src in sources {
        if let Some(c) = cycle(&src) {
            panic!(
                "{}: modules import each other in a circle: {}",
                src.display(),
                c.join(" -> ")
            );
        }
    }
}

#[test]
fn the_cycle_finder_finds_a_cycle() {
    let dir = std::env::temp_dir().join(format!("assay-architecture-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("lib.rs"), "mod a;\nmod b;\n").unwrap();
    std::fs::write(dir.join("a.rs"), "use crate::b::B;\n// crate::c\n").unwrap();
    std::fs::write(
        dir.join("b.rs"),
        "pub struct B;\nfn f() { crate::a::g() }\n",
    )
    .unwrap();
    assert_eq!(cycle(&dir), Some(vec!["a".to_string(), "b".to_string()]));
    std::fs::write(
        dir.join("b.rs"),
        "pub struct B;\n#[cfg(test)]\nuse crate::a::g;\n",
    )
    .unwrap();
    assert_eq!(cycle(&dir), None);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn only_the_store_crate_depends_on_polars_and_plotters() {
    let root = root();
    for entry in std::fs::read_dir(root.join("host/crates"))
        .unwrap()
        .flatten()
    {
        let manifest = std::fs::read_to_string(entry.path().join("Cargo.toml")).unwrap();
        let deps = manifest
            .split("[dependencies]")
            .nth(1)
            .unwrap_or("")
            .split("\n[")
            .next()
            .unwrap_or("");
        let uses = deps
            .lines()
            .any(|l| l.starts_with("polars") || l.starts_with("plotters"));
        let is_store = entry.file_name() == "store";
        assert_eq!(uses, is_store, "{}", entry.path().display());
    }
    let host = std::fs::read_to_string(root.join("host/Cargo.toml")).unwrap();
    let deps = host
        .split("[dependencies]")
        .nth(1)
        .unwrap()
        .split("\n[")
        .next()
        .unwrap();
    assert!(!deps
        .lines()
        .any(|l| l.starts_with("polars") || l.starts_with("plotters")));
}
