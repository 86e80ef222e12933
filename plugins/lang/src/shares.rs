//! What the generated texts say: each condition's texts with their identified languages, the
//! share identified as a target language, and the tables of them.
//!
//! - `lang_generation`: per target language, condition (`none`, `forced`, `random`), forced
//!   units and mode (`unconditional`, `translation`): the samples and the share identified as
//!   the target (the unforced texts serve every language, with `units` 0).
//! - `lang_samples`: every generated text and the language it was identified as (`target` is
//!   empty for the unforced samples).
//! - `lang_dose`: per language and number of forced units, the unconditional target shares with
//!   the language's units and with as many random units forced (the dose response).

use assay_sdk::prelude::*;

/// Generated texts of one condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    /// The language whose units were forced; `None` for the unforced model.
    pub target: Option<String>,
    /// `none`, `forced` or `random`.
    pub condition: &'static str,
    /// Number of forced units (0 for `none`).
    pub units: usize,
    /// `unconditional` or `translation`.
    pub mode: &'static str,
    /// The texts and their identified languages.
    pub texts: Vec<(String, Option<String>)>,
}

impl Generation {
    /// The share of texts identified as `language` (0 without texts).
    pub fn share(&self, language: &str) -> f64 {
        if self.texts.is_empty() {
            return 0.0;
        }
        let n = self
            .texts
            .iter()
            .filter(|(_, l)| l.as_deref() == Some(language))
            .count();
        n as f64 / self.texts.len() as f64
    }

    /// Whether these texts bear on target `language`: the unforced ones serve every language.
    pub fn serves(&self, language: &str) -> bool {
        self.target.as_deref().is_none_or(|t| t == language)
    }
}

/// The generations of a probe run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Generations {
    /// Every condition's texts.
    pub all: Vec<Generation>,
}

impl Generations {
    /// The share of `mode` texts identified as `language` under `condition` with `units` forced
    /// units (ignored for `none`); `None` when there are no such texts.
    pub fn share(&self, language: &str, condition: &str, units: usize, mode: &str) -> Option<f64> {
        self.all
            .iter()
            .find(|g| {
                g.condition == condition
                    && g.mode == mode
                    && g.serves(language)
                    && (condition == "none" || g.units == units)
            })
            .filter(|g| !g.texts.is_empty())
            .map(|g| g.share(language))
    }

    /// `lang_generation` (see the module documentation).
    pub fn table(&self, languages: &[String]) -> Table {
        let (mut lang, mut cond, mut units, mut mode, mut n, mut share) =
            (vec![], vec![], vec![], vec![], vec![], vec![]);
        for l in languages {
            for g in self
                .all
                .iter()
                .filter(|g| g.serves(l) && !g.texts.is_empty())
            {
                lang.push(Some(l.clone()));
                cond.push(Some(g.condition.to_string()));
                units.push(Some(g.units as i64));
                mode.push(Some(g.mode.to_string()));
                n.push(Some(g.texts.len() as i64));
                share.push(Some(g.share(l)));
            }
        }
        Table::new("lang_generation")
            .column("language", Column::Str(lang))
            .column("condition", Column::Str(cond))
            .column("units", Column::I64(units))
            .column("mode", Column::Str(mode))
            .column("samples", Column::I64(n))
            .column("share", Column::F64(share))
    }

    /// `lang_samples` (see the module documentation).
    pub fn samples(&self) -> Table {
        let (mut target, mut cond, mut units, mut mode, mut k, mut text, mut id) =
            (vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
        for g in &self.all {
            for (j, (t, l)) in g.texts.iter().enumerate() {
                target.push(g.target.clone());
                cond.push(Some(g.condition.to_string()));
                units.push(Some(g.units as i64));
                mode.push(Some(g.mode.to_string()));
                k.push(Some(j as i64));
                text.push(Some(t.clone()));
                id.push(l.clone());
            }
        }
        Table::new("lang_samples")
            .column("target", Column::Str(target))
            .column("condition", Column::Str(cond))
            .column("units", Column::I64(units))
            .column("mode", Column::Str(mode))
            .column("sample", Column::I64(k))
            .column("text", Column::Str(text))
            .column("identified", Column::Str(id))
    }

    /// `lang_dose` (see the module documentation): one row per language and number of forced
    /// units, in increasing order.
    pub fn dose(&self, languages: &[String]) -> Table {
        let (mut lang, mut units, mut none, mut forced, mut random) =
            (vec![], vec![], vec![], vec![], vec![]);
        for l in languages {
            let mut sizes: Vec<usize> = self
                .all
                .iter()
                .filter(|g| g.condition == "forced" && g.serves(l))
                .map(|g| g.units)
                .collect();
            sizes.sort_unstable();
            sizes.dedup();
            for n in sizes {
                lang.push(Some(l.clone()));
                units.push(Some(n as i64));
                none.push(self.share(l, "none", 0, "unconditional"));
                forced.push(self.share(l, "forced", n, "unconditional"));
                random.push(self.share(l, "random", n, "unconditional"));
            }
        }
        Table::new("lang_dose")
            .column("language", Column::Str(lang))
            .column("units", Column::I64(units))
            .column("share_none", Column::F64(none))
            .column("share_forced", Column::F64(forced))
            .column("share_random", Column::F64(random))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(target: Option<&str>, condition: &'static str, units: usize, ids: &[&str]) -> Generation {
        Generation {
            target: target.map(String::from),
            condition,
            units,
            mode: "unconditional",
            texts: ids
                .iter()
                .map(|l| ("x".to_string(), Some(l.to_string())))
                .collect(),
        }
    }

    #[test]
    fn shares_pick_the_condition_and_size() {
        let gens = Generations {
            all: vec![
                g(None, "none", 0, &["de", "fr", "fr", "ja"]),
                g(Some("de"), "forced", 4, &["de", "de", "de", "fr"]),
                g(Some("de"), "forced", 40, &["de", "de", "de", "de"]),
                g(Some("de"), "random", 4, &["fr", "de", "fr", "fr"]),
            ],
        };
        assert_eq!(gens.share("de", "none", 0, "unconditional"), Some(0.25));
        assert_eq!(gens.share("fr", "none", 7, "unconditional"), Some(0.5));
        assert_eq!(gens.share("de", "forced", 4, "unconditional"), Some(0.75));
        assert_eq!(gens.share("de", "forced", 40, "unconditional"), Some(1.0));
        assert_eq!(gens.share("de", "random", 40, "unconditional"), None);
        assert_eq!(gens.share("fr", "forced", 4, "unconditional"), None);
        let langs = vec!["de".to_string(), "fr".to_string()];
        assert_eq!(gens.dose(&langs).rows().unwrap(), 2);
        // de: none, 2 forced, 1 random; fr: none only.
        assert_eq!(gens.table(&langs).rows().unwrap(), 5);
        assert_eq!(gens.samples().rows().unwrap(), 16);
    }
}
