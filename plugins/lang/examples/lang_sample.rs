//! Regenerates the shipped sample of study 5 (`data/lang/`) from this machine's catalogs.
//!
//! ```sh
//! cargo run -p assay-lang --example lang_sample -- [SOURCE] [OUT] [PER_LANGUAGE]
//! ```
//!
//! SOURCE is a locale root (default `/usr/share/locale`), OUT the sample's directory (default
//! `data/lang`), PER_LANGUAGE the msgids kept (default 3000). It reads the catalogs of en, de,
//! fr, es, zh_CN and ja with the default filters of dataset `lang_mixture` (iso_* catalogs
//! skipped), keeps the first PER_LANGUAGE msgids shared by every language in the split's hash
//! order, writes `OUT/{language}/LC_MESSAGES/assay-lang-sample.mo` and `OUT/sources.tsv`, and
//! prints the per-language counts before and after.

use std::path::PathBuf;

use assay_lang::catalogs::{load, Limits};
use assay_lang::sample::{select, write};

fn main() {
    if let Err(e) = run() {
        eprintln!("lang_sample: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!(
            "usage: lang_sample [SOURCE=/usr/share/locale] [OUT=data/lang] [PER_LANGUAGE=3000]"
        );
        return Ok(());
    }
    let source = PathBuf::from(args.first().map_or("/usr/share/locale", String::as_str));
    let out = PathBuf::from(args.get(1).map_or("data/lang", String::as_str));
    let per_language: usize = match args.get(2) {
        Some(n) => n
            .parse()
            .map_err(|_| format!("PER_LANGUAGE must be a number, found `{n}`"))?,
        None => 3000,
    };
    let languages: Vec<String> = ["en", "de", "fr", "es", "zh_CN", "ja"]
        .map(String::from)
        .to_vec();
    let corpus = load(
        &source,
        &languages,
        &["iso_".to_string()],
        Limits::default(),
    )
    .map_err(|e| e.to_string())?;
    let sample = select(&corpus, per_language);
    println!("language\tfiltered\tfiltered_chars\tsample\tsample_chars");
    for l in &languages {
        let count = |c: &assay_lang::catalogs::Corpus| {
            let t = c.texts(l);
            (t.len(), t.iter().map(|s| s.chars().count()).sum::<usize>())
        };
        let (n, chars) = count(&corpus);
        let (m, sample_chars) = count(&sample);
        println!("{l}\t{n}\t{chars}\t{m}\t{sample_chars}");
    }
    let files = write(&sample, &out)?;
    for f in files {
        println!("wrote {}", f.display());
    }
    Ok(())
}
