//! Study 3's world (in-context knowledge unlearning, "LLMs pretend to forget"): 300 synthetic
//! people, each with an occupation (8 values), a country (8) and a cause of death (5), asked
//! about in 3 paraphrases per attribute; and 20 fictional countries with their capitals, the
//! out-of-domain facts.
//!
//! Prompts follow the paper's chat template, one line:
//!
//! - a fact: `[INST] {question} [/INST]` → the answer;
//! - unlearning: `[INST] <<UNL>> {target} <</UNL>> {question} [/INST]` → `forgot` when the target
//!   is the subject of the question (*forget*), the true answer when it is another subject of
//!   the same group (*retain*, a distractor). Every question is asked in both forms, so the mix
//!   is exactly 50/50.
//!
//! Every answer is one word, and every word the world can produce is in [`vocabulary`], which
//! does not depend on the seed (runs on different seeds, and both stages, share token ids). The
//! seed picks the names (first × last from fixed lists), the facts, the capitals and the
//! distractors. People `1..=TRAIN_PEOPLE` are the unlearning stage's training people, the rest
//! its test people.

use assay_sdk::init::Rng;
use assay_sdk::rand::seq::{IndexedRandom as _, SliceRandom as _};
use assay_sdk::rand::Rng as _;

/// Number of people.
pub const PEOPLE: usize = 300;
/// People `1..=TRAIN_PEOPLE` train the unlearning stage; the others test it.
pub const TRAIN_PEOPLE: usize = 240;
/// The padding token.
pub const PAD: &str = "<pad>";
/// Opens the instruction.
pub const INST: &str = "[INST]";
/// Closes the instruction.
pub const INST_END: &str = "[/INST]";
/// Opens what to forget.
pub const UNL: &str = "<<UNL>>";
/// Closes what to forget.
pub const UNL_END: &str = "<</UNL>>";
/// The answer to a forget query.
pub const FORGOT: &str = "forgot";
/// The markers, matched whole in text (verbatim tokens of the word tokenizer).
pub const MARKERS: [&str; 5] = [PAD, INST, INST_END, UNL, UNL_END];

const FIRST_NAMES: [&str; 25] = [
    "Arlen", "Bexa", "Corvin", "Dalia", "Eamon", "Fenna", "Gideon", "Halvard", "Isolde", "Jorund",
    "Kasimir", "Liora", "Maren", "Nils", "Orla", "Piet", "Quilla", "Rasmus", "Sefa", "Tobin",
    "Ulla", "Vesna", "Wendel", "Yara", "Zoltan",
];
const LAST_NAMES: [&str; 25] = [
    "Ashgrove",
    "Brannock",
    "Calloway",
    "Dunmore",
    "Eskildsen",
    "Farrow",
    "Greaves",
    "Holloway",
    "Ivanek",
    "Jessop",
    "Kettering",
    "Lindqvist",
    "Marchetti",
    "Norcross",
    "Ostrander",
    "Pemberton",
    "Quarles",
    "Rendell",
    "Stavros",
    "Thornbury",
    "Underhill",
    "Vantongeren",
    "Whitlock",
    "Yarrow",
    "Zeller",
];
/// Occupations.
pub const OCCUPATIONS: [&str; 8] = [
    "painter",
    "physicist",
    "sailor",
    "poet",
    "surgeon",
    "architect",
    "composer",
    "banker",
];
/// Countries people come from.
pub const COUNTRIES: [&str; 8] = [
    "France", "Japan", "Brazil", "Kenya", "Canada", "India", "Egypt", "Norway",
];
/// Causes of death.
pub const CAUSES: [&str; 5] = ["cancer", "stroke", "accident", "pneumonia", "drowning"];
/// The fictional countries of the out-of-domain facts.
pub const LANDS: [&str; 20] = [
    "Veloria", "Drakmoor", "Ostravia", "Quenhal", "Zembria", "Taluvia", "Morvath", "Elsmere",
    "Brevonia", "Caskara", "Duvania", "Farlund", "Grennoch", "Ilmarra", "Jestrana", "Kolvara",
    "Lunmark", "Nerivel", "Paldovia", "Rusketh",
];
/// Their capitals (which land gets which depends on the seed).
pub const CAPITALS: [&str; 20] = [
    "Tarsk",
    "Belmora",
    "Quillon",
    "Varnis",
    "Ostrel",
    "Halcyra",
    "Demmet",
    "Sorvan",
    "Kelbrin",
    "Luthane",
    "Marrowind",
    "Nessary",
    "Pellin",
    "Rhoven",
    "Sablon",
    "Tavish",
    "Umbrel",
    "Vexley",
    "Wystan",
    "Zorhad",
];
/// Paraphrases of the capital question; `{}` is the country.
pub const CAPITAL_TEMPLATES: [&str; 3] = [
    "What is the capital of {}?",
    "Which city is the capital of {}?",
    "Name the capital city of {}.",
];

/// What a question about a person asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Attribute {
    /// One of [`OCCUPATIONS`].
    Occupation,
    /// One of [`COUNTRIES`].
    Country,
    /// One of [`CAUSES`].
    Cause,
}

impl Attribute {
    /// Every attribute.
    pub const ALL: [Attribute; 3] = [Attribute::Occupation, Attribute::Country, Attribute::Cause];

    /// The paraphrases of its question; `{}` is the person's name.
    pub fn templates(self) -> [&'static str; 3] {
        match self {
            Attribute::Occupation => [
                "What was the occupation of {}?",
                "What did {} do for a living?",
                "Which profession did {} have?",
            ],
            Attribute::Country => [
                "Which country was {} from?",
                "What was the home country of {}?",
                "In which country was {} born?",
            ],
            Attribute::Cause => [
                "How did {} die?",
                "What was the cause of death of {}?",
                "What did {} die of?",
            ],
        }
    }

    /// The values it takes.
    pub fn values(self) -> &'static [&'static str] {
        match self {
            Attribute::Occupation => &OCCUPATIONS,
            Attribute::Country => &COUNTRIES,
            Attribute::Cause => &CAUSES,
        }
    }
}

/// A synthetic person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// 1-based: people `1..=TRAIN_PEOPLE` train the unlearning stage.
    pub number: usize,
    /// First name.
    pub first: &'static str,
    /// Last name.
    pub last: &'static str,
    /// One of [`OCCUPATIONS`].
    pub occupation: &'static str,
    /// One of [`COUNTRIES`].
    pub country: &'static str,
    /// One of [`CAUSES`].
    pub cause: &'static str,
}

impl Person {
    /// `First Last`.
    pub fn name(&self) -> String {
        format!("{} {}", self.first, self.last)
    }

    /// The value of `attribute`.
    pub fn fact(&self, attribute: Attribute) -> &'static str {
        match attribute {
            Attribute::Occupation => self.occupation,
            Attribute::Country => self.country,
            Attribute::Cause => self.cause,
        }
    }
}

/// A fictional country and its capital.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Land {
    /// One of [`LANDS`].
    pub name: &'static str,
    /// One of [`CAPITALS`].
    pub capital: &'static str,
}

/// Whether an example is a plain fact or which unlearning query it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `[INST] {question} [/INST]`: the answer.
    Fact,
    /// The tags hold the subject of the question: `forgot`.
    Forget,
    /// The tags hold another subject: the answer.
    Retain,
}

/// One question, rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// The prompt, ending with `[/INST]`.
    pub prompt: String,
    /// The expected answer, one word.
    pub answer: &'static str,
    /// Fact, forget or retain.
    pub kind: Kind,
    /// The person or land asked about.
    pub subject: String,
    /// What the unlearning tags hold (`None` for facts).
    pub target: Option<String>,
    /// The attribute asked about; `None` for a capital.
    pub attribute: Option<Attribute>,
    /// Which paraphrase (0, 1 or 2).
    pub template: usize,
    /// The true answer (equal to `answer` except for forget queries).
    pub truth: &'static str,
}

/// A question before it is put into a prompt.
#[derive(Debug, Clone)]
struct Question {
    subject: String,
    text: String,
    truth: &'static str,
    attribute: Option<Attribute>,
    template: usize,
}

/// The people and the lands of one seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct World {
    /// [`PEOPLE`] people, numbered from 1, with distinct names.
    pub people: Vec<Person>,
    /// The 20 fictional countries, in [`LANDS`] order.
    pub lands: Vec<Land>,
    seed: u64,
}

/// The fact prompt of `question`.
pub fn fact_prompt(question: &str) -> String {
    format!("{INST} {question} {INST_END}")
}

/// The unlearning prompt of `question` with `target` between the tags.
pub fn unlearning_prompt(target: &str, question: &str) -> String {
    format!("{INST} {UNL} {target} {UNL_END} {question} {INST_END}")
}

fn person_questions(people: &[Person]) -> Vec<Question> {
    let mut out = Vec::new();
    for p in people {
        for a in Attribute::ALL {
            for (t, template) in a.templates().iter().enumerate() {
                out.push(Question {
                    subject: p.name(),
                    text: template.replace("{}", &p.name()),
                    truth: p.fact(a),
                    attribute: Some(a),
                    template: t,
                });
            }
        }
    }
    out
}

fn land_questions(lands: &[Land]) -> Vec<Question> {
    let mut out = Vec::new();
    for l in lands {
        for (t, template) in CAPITAL_TEMPLATES.iter().enumerate() {
            out.push(Question {
                subject: l.name.to_string(),
                text: template.replace("{}", l.name),
                truth: l.capital,
                attribute: None,
                template: t,
            });
        }
    }
    out
}

fn facts(questions: Vec<Question>) -> Vec<Example> {
    questions
        .into_iter()
        .map(|q| Example {
            prompt: fact_prompt(&q.text),
            answer: q.truth,
            kind: Kind::Fact,
            subject: q.subject,
            target: None,
            attribute: q.attribute,
            template: q.template,
            truth: q.truth,
        })
        .collect()
}

/// Each question as a forget query and as a retain query whose target is another of
/// `subjects`, drawn by `rng`.
fn unlearning(questions: Vec<Question>, subjects: &[String], rng: &mut Rng) -> Vec<Example> {
    let mut out = Vec::with_capacity(2 * questions.len());
    for q in questions {
        let others: Vec<&String> = subjects.iter().filter(|s| **s != q.subject).collect();
        let distractor = others
            .choose(rng)
            .map_or_else(String::new, |s| s.to_string());
        out.push(Example {
            prompt: unlearning_prompt(&q.subject, &q.text),
            answer: FORGOT,
            kind: Kind::Forget,
            subject: q.subject.clone(),
            target: Some(q.subject.clone()),
            attribute: q.attribute,
            template: q.template,
            truth: q.truth,
        });
        out.push(Example {
            prompt: unlearning_prompt(&distractor, &q.text),
            answer: q.truth,
            kind: Kind::Retain,
            subject: q.subject,
            target: Some(distractor),
            attribute: q.attribute,
            template: q.template,
            truth: q.truth,
        });
    }
    out
}

impl World {
    /// The world of `seed`: the same seed, the same people, facts and capitals.
    pub fn generate(seed: u64) -> World {
        let mut rng = assay_sdk::init::rng(seed, "people/world");
        let mut names: Vec<(&'static str, &'static str)> = FIRST_NAMES
            .iter()
            .flat_map(|f| LAST_NAMES.iter().map(move |l| (*f, *l)))
            .collect();
        names.shuffle(&mut rng);
        let mut pick = |values: &'static [&'static str]| values[rng.random_range(0..values.len())];
        let people = names
            .into_iter()
            .take(PEOPLE)
            .enumerate()
            .map(|(i, (first, last))| Person {
                number: i + 1,
                first,
                last,
                occupation: pick(&OCCUPATIONS),
                country: pick(&COUNTRIES),
                cause: pick(&CAUSES),
            })
            .collect();
        let mut capitals = CAPITALS;
        capitals.shuffle(&mut rng);
        let lands = LANDS
            .iter()
            .zip(capitals)
            .map(|(name, capital)| Land { name, capital })
            .collect();
        World {
            people,
            lands,
            seed,
        }
    }

    /// People `1..=TRAIN_PEOPLE`.
    pub fn train_people(&self) -> &[Person] {
        &self.people[..TRAIN_PEOPLE.min(self.people.len())]
    }

    /// People past [`TRAIN_PEOPLE`].
    pub fn test_people(&self) -> &[Person] {
        &self.people[TRAIN_PEOPLE.min(self.people.len())..]
    }

    /// Every attribute of `people` under every paraphrase, as facts.
    pub fn people_facts(&self, people: &[Person]) -> Vec<Example> {
        facts(person_questions(people))
    }

    /// Every capital under every paraphrase, as facts.
    pub fn capital_facts(&self) -> Vec<Example> {
        facts(land_questions(&self.lands))
    }

    /// Every question about `people` as a forget and a retain query; distractors are other
    /// people of `people`, drawn from the world's seed and `stream`.
    pub fn people_unlearning(&self, people: &[Person], stream: &str) -> Vec<Example> {
        let names: Vec<String> = people.iter().map(Person::name).collect();
        let mut rng = assay_sdk::init::rng(self.seed, &format!("people/distractors/{stream}"));
        unlearning(person_questions(people), &names, &mut rng)
    }

    /// Every capital question as a forget and a retain query; distractors are other lands.
    pub fn capital_unlearning(&self) -> Vec<Example> {
        let names: Vec<String> = self.lands.iter().map(|l| l.name.to_string()).collect();
        let mut rng = assay_sdk::init::rng(self.seed, "people/distractors/capitals");
        unlearning(land_questions(&self.lands), &names, &mut rng)
    }
}

/// Every word the world can produce, once each, in a fixed order: the markers, `forgot`, the
/// answers, the lands, the names, then the words of the templates.
pub fn vocabulary() -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |w: &str| {
        if !out.iter().any(|o| o == w) {
            out.push(w.to_string());
        }
    };
    MARKERS.iter().for_each(|m| push(m));
    push(FORGOT);
    let answers = OCCUPATIONS.iter().chain(&COUNTRIES).chain(&CAUSES);
    answers
        .chain(&CAPITALS)
        .chain(&LANDS)
        .chain(&FIRST_NAMES)
        .chain(&LAST_NAMES)
        .for_each(|w| push(w));
    let templates = Attribute::ALL
        .iter()
        .flat_map(|a| a.templates())
        .chain(CAPITAL_TEMPLATES);
    for t in templates {
        for w in crate::tokenizer::words_of(&t.replace("{}", " ")) {
            push(w);
        }
    }
    out
}

#[cfg(test)]
mod tests;
