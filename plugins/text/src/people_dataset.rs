//! Dataset `people`: study 3's in-context knowledge unlearning ("LLMs pretend to forget") on
//! synthetic people ([`crate::tasks::people`]).
//!
//! Each example is one prompt of exactly `length` word tokens, left-padded with `<pad>`, whose
//! target is the single answer word, as a classification over the whole vocabulary
//! (`DataInfo::tokens(length, vocab, Classification { classes: vocab })`): the loss falls on
//! the answer token only (the host has no loss masking), and the answer classes are vocabulary
//! ids, so a logit lens reads them through the unembedding. The vocabulary is fixed (every word
//! the world can produce, the markers `<pad>`, `[INST]`, `[/INST]`, `<<UNL>>`, `<</UNL>>`,
//! `forgot`, then unknown and end-of-text), so runs on every seed and both stages share ids.
//!
//! - `stage = "facts"` (stage A, memorisation): train on `[INST] {question} [/INST]` → answer for
//!   every attribute of all 300 people under all 3 paraphrases, plus the 20 fictional capitals;
//!   the test split is the same facts (`test_set = "people"`) or the capitals alone
//!   (`"capitals"`).
//! - `stage = "unlearn"` (stage B): train on `[INST] <<UNL>> {target} <</UNL>> {question}
//!   [/INST]` for people 1–240, every question once as a forget query (target = the person
//!   asked about, answer `forgot`) and once as a retain query (target = another of people
//!   1–240, the true answer); the test split is the same for people 241–300 (distractors among
//!   them; `test_set = "people"`) or for the capitals (`"capitals"`, out of domain).
//!
//! The SDK has two splits and no per-example labels, so the out-of-domain set is chosen with
//! `test_set` and forget or retain queries alone with `test_kind` (`forget`: the test accuracy
//! is the forget accuracy; `retain`: the retain accuracy). Rows are in the generator's order
//! (`World::people_facts` then `capital_facts`; `people_unlearning(train_people, "train")`;
//! `people_unlearning(test_people, "test")` or `capital_unlearning`, filtered by `test_kind`),
//! so a probe that regenerates the world with the same seed knows each row's person,
//! attribute, paraphrase and kind. Everything depends only on `seed`
//! (the run's seed when `-1`), so stage B, started from a stage-A run of the same seed, sees
//! the people it learnt.

use std::sync::Arc;

use assay_sdk::prelude::*;

use crate::tasks::people::{self, Example, Kind, World};
use crate::tokenizer::TextTokenizer;

/// Which stage's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Choice)]
enum Stage {
    /// Plain question answering: teach the facts.
    Facts,
    /// Forget and retain queries: teach unlearning.
    Unlearn,
}

/// What the test split asks about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Choice)]
enum TestSet {
    /// People (all of them for `facts`, 241–300 for `unlearn`).
    People,
    /// The fictional countries' capitals (out of domain).
    Capitals,
}

/// Which test queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Choice)]
enum TestKind {
    /// Every one.
    All,
    /// Forget queries only (`unlearn`).
    Forget,
    /// Retain queries only (`unlearn`).
    Retain,
}

/// The parameters of `people`.
#[derive(Debug, Params)]
struct PeopleParams {
    /// `facts`: plain QA for all people and capitals (stage A); `unlearn`: forget/retain queries
    /// in the <<UNL>> format, people 1-240 train and 241-300 test (stage B).
    #[param(default = "facts")]
    stage: Stage,
    /// Tokens per prompt, left-padded with <pad>; a longer prompt is an error (the longest,
    /// an unlearning query about a person's cause of death, is 16).
    #[param(default = 16, min = 1)]
    length: usize,
    /// The test split: `people` or the out-of-domain `capitals`.
    #[param(default = "people")]
    test_set: TestSet,
    /// Test queries kept: `all`, or (stage `unlearn`) `forget` or `retain` only.
    #[param(default = "all")]
    test_kind: TestKind,
    /// Seed of the names, facts, capitals and distractors; -1 = the run's seed.
    #[param(default = -1, min = -1)]
    seed: i64,
}

/// Prompts and answer ids of one split.
#[derive(Debug, Default)]
struct Rows {
    /// `len × length` token ids.
    inputs: Vec<u32>,
    /// One answer id per prompt.
    targets: Vec<u32>,
}

struct People {
    train: Rows,
    test: Rows,
    length: usize,
    tokenizer: Arc<TextTokenizer>,
}

/// The tokenizer of the world's vocabulary.
pub fn tokenizer() -> Result<TextTokenizer> {
    TextTokenizer::fixed_words(people::vocabulary(), &people::MARKERS)
        .map_err(|e| PluginError::invalid(format!("people vocabulary: {e}")))
}

/// `examples` as rows of `length` ids, left-padded with `<pad>`.
fn rows(examples: &[Example], tokenizer: &TextTokenizer, length: usize) -> Result<Rows> {
    let pad = tokenizer
        .encode(people::PAD)
        .ok()
        .and_then(|ids| ids.first().copied());
    let pad = pad.ok_or_else(|| PluginError::invalid("no <pad> token"))?;
    let mut rows = Rows::default();
    for e in examples {
        let ids = tokenizer
            .encode(&e.prompt)
            .map_err(|err| PluginError::invalid(err.to_string()))?;
        if ids.len() > length {
            return Err(PluginError::param(
                "length",
                format!(
                    "`{}` is {} tokens, more than length = {length}",
                    e.prompt,
                    ids.len()
                ),
            ));
        }
        let answer = tokenizer
            .encode(e.answer)
            .map_err(|err| PluginError::invalid(err.to_string()))?;
        let [answer] = answer[..] else {
            return Err(PluginError::invalid(format!(
                "the answer `{}` is not one token",
                e.answer
            )));
        };
        rows.inputs
            .extend(std::iter::repeat_n(pad, length - ids.len()));
        rows.inputs.extend(ids);
        rows.targets.push(answer);
    }
    Ok(rows)
}

/// The train and test examples the parameters select.
fn examples(p: &PeopleParams, world: &World) -> Result<(Vec<Example>, Vec<Example>)> {
    Ok(match p.stage {
        Stage::Facts => {
            if p.test_kind != TestKind::All {
                return Err(PluginError::param(
                    "test_kind",
                    "stage `facts` has no forget or retain queries; use test_kind = \"all\"",
                ));
            }
            let people = world.people_facts(&world.people);
            let capitals = world.capital_facts();
            let test = match p.test_set {
                TestSet::People => people.clone(),
                TestSet::Capitals => capitals.clone(),
            };
            (people.into_iter().chain(capitals).collect(), test)
        }
        Stage::Unlearn => {
            let train = world.people_unlearning(world.train_people(), "train");
            let mut test = match p.test_set {
                TestSet::People => world.people_unlearning(world.test_people(), "test"),
                TestSet::Capitals => world.capital_unlearning(),
            };
            match p.test_kind {
                TestKind::All => {}
                TestKind::Forget => test.retain(|e| e.kind == Kind::Forget),
                TestKind::Retain => test.retain(|e| e.kind == Kind::Retain),
            }
            (train, test)
        }
    })
}

fn build(p: PeopleParams, cx: &BuildContext) -> Result<Box<dyn Dataset>> {
    let seed = if p.seed < 0 { cx.seed } else { p.seed as u64 };
    let world = World::generate(seed);
    let (train, test) = examples(&p, &world)?;
    let tokenizer = tokenizer()?;
    Ok(Box::new(People {
        train: rows(&train, &tokenizer, p.length)?,
        test: rows(&test, &tokenizer, p.length)?,
        length: p.length,
        tokenizer: Arc::new(tokenizer),
    }))
}

impl Dataset for People {
    fn info(&self) -> DataInfo {
        let vocab = self.tokenizer.vocab_size();
        DataInfo::tokens(
            self.length,
            vocab,
            Objective::Classification { classes: vocab },
        )
    }

    fn len(&self, split: Split) -> usize {
        match split {
            Split::Train => self.train.targets.len(),
            Split::Test => self.test.targets.len(),
        }
    }

    fn batch(&self, split: Split, indices: &[usize], device: &Device) -> Result<Batch> {
        let rows = match split {
            Split::Train => &self.train,
            Split::Test => &self.test,
        };
        let mut xs = Vec::with_capacity(indices.len() * self.length);
        let mut ys = Vec::with_capacity(indices.len());
        for &i in indices {
            let y = rows.targets.get(i).ok_or_else(|| {
                PluginError::invalid(format!("index {i} beyond the {} split", split.as_str()))
            })?;
            xs.extend_from_slice(&rows.inputs[i * self.length..(i + 1) * self.length]);
            ys.push(*y);
        }
        Ok(Batch {
            input: Tensor::from_vec(xs, (indices.len(), self.length), device)?,
            target: Tensor::from_vec(ys, indices.len(), device)?,
        })
    }

    fn tokenizer(&self) -> Option<Arc<dyn Tokenizer>> {
        Some(self.tokenizer.clone())
    }
}

pub(crate) fn register(r: &mut dyn Registrar) {
    r.add(
        Component::dataset_with("people", "0.1.0", build).summary(
            "study 3: synthetic people's facts (stage A) and in-context unlearning with <<UNL>> tags (stage B), one answer token per prompt",
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::people::{FORGOT, TRAIN_PEOPLE, UNL, UNL_END};

    fn make(given: &[(&str, Value)], run_seed: u64) -> Result<Box<dyn Dataset>> {
        let mut found = Vec::new();
        register(&mut found);
        let cx = BuildContext {
            seed: run_seed,
            device: Device::Cpu,
        };
        found[0].build_dataset(given, &cx)
    }

    fn stage(name: &str) -> (&'static str, Value) {
        ("stage", Value::Str(name.into()))
    }

    /// Every row of `split`: prompt ids and answer id.
    fn all_rows(d: &dyn Dataset, split: Split) -> Vec<(Vec<u32>, u32)> {
        let idx: Vec<usize> = (0..d.len(split)).collect();
        let b = d.batch(split, &idx, &Device::Cpu).unwrap();
        let x = b.input.to_vec2::<u32>().unwrap();
        let y = b.target.to_vec1::<u32>().unwrap();
        x.into_iter().zip(y).collect()
    }

    fn id(t: &TextTokenizer, word: &str) -> u32 {
        t.encode(word).unwrap()[0]
    }

    #[test]
    fn the_declaration_passes_the_sdk_checks() {
        let mut found = Vec::new();
        register(&mut found);
        assay_sdk::conformance::check_declarations(&found).unwrap();
        assert_eq!(found[0].name, "people");
    }

    #[test]
    fn facts_are_left_padded_prompts_classified_into_their_answer_word() {
        let d = make(&[], 3).unwrap();
        let t = tokenizer().unwrap();
        let vocab = t.vocab_size();
        assert_eq!(
            d.info(),
            DataInfo::tokens(16, vocab, Objective::Classification { classes: vocab })
        );
        let world = World::generate(3);
        let mut expected = world.people_facts(&world.people);
        assert_eq!(d.len(Split::Test), expected.len());
        expected.extend(world.capital_facts());
        assert_eq!(d.len(Split::Train), 300 * 9 + 20 * 3);
        let (pad, end) = (id(&t, "<pad>"), id(&t, "[/INST]"));
        let mut longest = 0;
        for ((x, y), e) in all_rows(d.as_ref(), Split::Train)
            .into_iter()
            .zip(&expected)
        {
            let ids = t.encode(&e.prompt).unwrap();
            longest = longest.max(ids.len());
            assert_eq!(x.len(), 16);
            assert!(x[..16 - ids.len()].iter().all(|&i| i == pad));
            assert_eq!(x[16 - ids.len()..], ids[..]);
            assert_eq!((x[15], y), (end, id(&t, e.answer)));
        }
        assert_eq!(longest, 12, "a fact prompt");
        // The test split is the same facts.
        let train = all_rows(d.as_ref(), Split::Train);
        assert_eq!(all_rows(d.as_ref(), Split::Test)[..], train[..300 * 9]);
        let caps = make(&[("test_set", Value::Str("capitals".into()))], 3).unwrap();
        assert_eq!(all_rows(caps.as_ref(), Split::Test)[..], train[300 * 9..]);
    }

    #[test]
    fn unlearning_splits_people_and_selects_forget_or_retain_queries() {
        let t = tokenizer().unwrap();
        let (forgot, unl, unl_end) = (id(&t, FORGOT), id(&t, UNL), id(&t, UNL_END));
        let d = make(&[stage("unlearn")], 4).unwrap();
        assert_eq!(d.len(Split::Train), TRAIN_PEOPLE * 9 * 2);
        assert_eq!(d.len(Split::Test), 60 * 9 * 2);
        let world = World::generate(4);
        let expected = world.people_unlearning(world.test_people(), "test");
        for ((x, y), e) in all_rows(d.as_ref(), Split::Test).into_iter().zip(&expected) {
            // The target's tokens sit between the tags.
            let open = x.iter().position(|&i| i == unl).unwrap();
            let close = x.iter().position(|&i| i == unl_end).unwrap();
            let target = e.target.as_deref().unwrap();
            assert_eq!(x[open + 1..close], t.encode(target).unwrap()[..]);
            assert_eq!(y == forgot, e.kind == Kind::Forget);
            assert_eq!(y, id(&t, e.answer));
        }
        let train_rows = all_rows(d.as_ref(), Split::Train);
        let forgets = train_rows.iter().filter(|(_, y)| *y == forgot).count();
        assert_eq!(2 * forgets, train_rows.len(), "50/50");
        for (set, n) in [("people", 60 * 9), ("capitals", 20 * 3)] {
            for (kind, is_forget) in [("forget", true), ("retain", false)] {
                let d = make(
                    &[
                        stage("unlearn"),
                        ("test_set", Value::Str(set.into())),
                        ("test_kind", Value::Str(kind.into())),
                    ],
                    4,
                )
                .unwrap();
                let rows = all_rows(d.as_ref(), Split::Test);
                assert_eq!(rows.len(), n, "{set} {kind}");
                assert!(rows.iter().all(|(_, y)| (*y == forgot) == is_forget));
            }
        }
    }

    #[test]
    fn the_seed_parameter_fixes_the_world_whatever_the_run_seed() {
        let rows = |given: &[(&str, Value)], run| {
            all_rows(make(given, run).unwrap().as_ref(), Split::Train)
        };
        let fixed = [stage("unlearn"), ("seed", Value::Int(7))];
        assert_eq!(rows(&fixed, 1), rows(&fixed, 2));
        assert_ne!(rows(&[], 1), rows(&[], 2));
        assert_eq!(rows(&[], 7), rows(&[("seed", Value::Int(7))], 1));
    }

    #[test]
    fn bad_parameters_are_refused_with_the_reason() {
        // 16 tokens is the longest prompt: exactly the default.
        assert!(make(&[stage("unlearn"), ("length", Value::Int(16))], 0).is_ok());
        let short = make(&[stage("unlearn"), ("length", Value::Int(15))], 0)
            .err()
            .unwrap()
            .to_string();
        assert!(
            short.contains("length") && short.contains("tokens"),
            "{short}"
        );
        let kind = make(&[("test_kind", Value::Str("forget".into()))], 0)
            .err()
            .unwrap()
            .to_string();
        assert!(kind.contains("test_kind"), "{kind}");
        let d = make(&[], 0).unwrap();
        assert!(d.batch(Split::Test, &[1_000_000], &Device::Cpu).is_err());
    }

    #[test]
    fn the_tokenizer_comes_with_the_data_and_writes_a_hugging_face_file() {
        let d = make(&[stage("unlearn")], 0).unwrap();
        let t = d.tokenizer().unwrap();
        assert_eq!(t.vocab_size(), d.info().objective.outputs());
        let json = t.to_hf_json().unwrap();
        let hf = <tokenizers::Tokenizer as std::str::FromStr>::from_str(&json).unwrap();
        assert_eq!(hf.token_to_id("<|endoftext|>"), t.eos());
        let world = World::generate(0);
        for e in world
            .people_unlearning(world.train_people(), "train")
            .iter()
            .take(50)
        {
            let ids = hf
                .encode(e.prompt.as_str(), false)
                .unwrap()
                .get_ids()
                .to_vec();
            assert_eq!(ids, t.encode(&e.prompt).unwrap());
            assert_eq!(hf.decode(&ids, true).unwrap(), t.decode(&ids).unwrap());
        }
        assert_eq!(hf.token_to_id("<<UNL>>"), Some(3));
    }
}
