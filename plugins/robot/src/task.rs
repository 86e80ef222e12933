//! The task vocabulary shared by every embodiment: "reach the {red|green|blue} cube" and
//! "push the {red|green|blue} cube left", their instruction strings, parsing an instruction back
//! into a task, and the goal features a policy reads.
//!
//! Goal features ([`Task::goal_features`], [`GOAL_FEATURES`] = 5): one-hot task kind
//! `[reach, push_left]`, then one-hot colour `[red, green, blue]`. The bag of words
//! ([`bag_of_words`], [`VOCABULARY`]) counts the instruction's words over a fixed vocabulary and
//! ignores the others, so it works on any text; [`Task::from_instruction`] accepts only the six
//! instructions and says which forms exist.

use std::fmt;
use std::str::FromStr;

/// The colour of a cube; the discriminant is the cube's index in the scene and observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Colour {
    /// Cube 0.
    Red = 0,
    /// Cube 1.
    Green = 1,
    /// Cube 2.
    Blue = 2,
}

impl Colour {
    /// All colours in cube order.
    pub const ALL: [Colour; 3] = [Colour::Red, Colour::Green, Colour::Blue];

    /// The cube's index in the scene and in the observation (red 0, green 1, blue 2).
    pub fn index(self) -> usize {
        self as usize
    }

    /// The word used in instructions.
    pub fn name(self) -> &'static str {
        match self {
            Colour::Red => "red",
            Colour::Green => "green",
            Colour::Blue => "blue",
        }
    }
}

/// What to do with the cube.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TaskKind {
    /// Bring the gripper onto the cube's top and close it.
    Reach = 0,
    /// Push the cube at least the push distance towards world −x ("left").
    PushLeft = 1,
}

impl TaskKind {
    /// Both kinds in goal-feature order.
    pub const ALL: [TaskKind; 2] = [TaskKind::Reach, TaskKind::PushLeft];

    /// The kind's index in the goal features (reach 0, push_left 1).
    pub fn index(self) -> usize {
        self as usize
    }

    /// A short name for tables: `reach` or `push_left`.
    pub fn name(self) -> &'static str {
        match self {
            TaskKind::Reach => "reach",
            TaskKind::PushLeft => "push_left",
        }
    }
}

/// A task: a kind and the colour of the cube it concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Task {
    /// Reach or push.
    pub kind: TaskKind,
    /// Which cube.
    pub colour: Colour,
}

/// Number of goal features: 2 task kinds then 3 colours.
pub const GOAL_FEATURES: usize = TaskKind::ALL.len() + Colour::ALL.len();

/// The bag-of-words vocabulary, in feature order: every word of every instruction.
pub const VOCABULARY: [&str; 8] = [
    "reach", "push", "the", "red", "green", "blue", "cube", "left",
];

impl Task {
    /// The task of `kind` on the cube of `colour`.
    pub fn new(kind: TaskKind, colour: Colour) -> Self {
        Task { kind, colour }
    }

    /// All six tasks: every reach, then every push, each in colour order.
    pub fn all() -> Vec<Task> {
        TaskKind::ALL
            .into_iter()
            .flat_map(|kind| {
                Colour::ALL
                    .into_iter()
                    .map(move |colour| Task { kind, colour })
            })
            .collect()
    }

    /// The language instruction: `reach the red cube` or `push the red cube left`.
    pub fn instruction(self) -> String {
        match self.kind {
            TaskKind::Reach => format!("reach the {} cube", self.colour.name()),
            TaskKind::PushLeft => format!("push the {} cube left", self.colour.name()),
        }
    }

    /// Parses an instruction; case, surrounding spaces, repeated spaces and one final `.` or
    /// `!` are ignored.
    pub fn from_instruction(text: &str) -> Result<Task, UnknownInstruction> {
        let lowered = text.trim().to_ascii_lowercase();
        let body = lowered.trim_end_matches(['.', '!']);
        let words: Vec<&str> = body.split_whitespace().collect();
        let colour = |word: &str| Colour::ALL.into_iter().find(|c| c.name() == word);
        let task = match words.as_slice() {
            ["reach", "the", c, "cube"] => colour(c).map(|c| Task::new(TaskKind::Reach, c)),
            ["push", "the", c, "cube", "left"] => {
                colour(c).map(|c| Task::new(TaskKind::PushLeft, c))
            }
            _ => None,
        };
        task.ok_or_else(|| UnknownInstruction(text.to_string()))
    }

    /// The goal features: one-hot kind `[reach, push_left]` then one-hot colour
    /// `[red, green, blue]`.
    pub fn goal_features(self) -> [f64; GOAL_FEATURES] {
        let mut features = [0.0; GOAL_FEATURES];
        features[self.kind.index()] = 1.0;
        features[TaskKind::ALL.len() + self.colour.index()] = 1.0;
        features
    }
}

impl fmt::Display for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.instruction())
    }
}

impl FromStr for Task {
    type Err = UnknownInstruction;

    fn from_str(s: &str) -> Result<Task, UnknownInstruction> {
        Task::from_instruction(s)
    }
}

/// Text that is none of the six instructions.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a reach_push instruction: expected \"reach the {{red|green|blue}} cube\" or \
     \"push the {{red|green|blue}} cube left\""
)]
pub struct UnknownInstruction(pub String);

/// Goal features parsed from instruction text (see [`Task::goal_features`]).
pub fn goal_features(instruction: &str) -> Result<[f64; GOAL_FEATURES], UnknownInstruction> {
    Task::from_instruction(instruction).map(Task::goal_features)
}

/// Counts of each [`VOCABULARY`] word in `text` (lower-cased, split on anything that is not a
/// letter); other words are ignored.
pub fn bag_of_words(text: &str) -> [f64; VOCABULARY.len()] {
    let mut counts = [0.0; VOCABULARY.len()];
    let lowered = text.to_ascii_lowercase();
    for word in lowered.split(|c: char| !c.is_ascii_alphabetic()) {
        if let Some(i) = VOCABULARY.iter().position(|v| *v == word) {
            counts[i] += 1.0;
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_instruction_parses_back_to_its_task() {
        let tasks = Task::all();
        assert_eq!(tasks.len(), 6);
        for task in tasks {
            assert_eq!(Task::from_instruction(&task.instruction()), Ok(task));
            assert_eq!(task.to_string().parse::<Task>(), Ok(task));
        }
        assert_eq!(
            Task::from_instruction("  Push the  BLUE cube left. "),
            Ok(Task::new(TaskKind::PushLeft, Colour::Blue))
        );
    }

    #[test]
    fn unknown_instructions_are_rejected_with_the_known_forms() {
        for text in [
            "",
            "reach the yellow cube",
            "push the red cube right",
            "reach red cube",
            "reach the red cube now",
            "pick up the red cube",
        ] {
            let err = Task::from_instruction(text).expect_err(text);
            assert_eq!(err, UnknownInstruction(text.to_string()));
            let message = err.to_string();
            assert!(
                message.contains("reach the {red|green|blue} cube"),
                "{message}"
            );
            assert!(message.contains(&format!("`{text}`")), "{message}");
        }
        assert!(goal_features("wave hello").is_err());
    }

    #[test]
    fn goal_features_are_one_hot_kind_then_colour() {
        let push_green = goal_features("push the green cube left").expect("known");
        assert_eq!(push_green, [0.0, 1.0, 0.0, 1.0, 0.0]);
        let reach_blue = Task::new(TaskKind::Reach, Colour::Blue).goal_features();
        assert_eq!(reach_blue, [1.0, 0.0, 0.0, 0.0, 1.0]);
        for task in Task::all() {
            assert_eq!(task.goal_features().iter().sum::<f64>(), 2.0);
        }
    }

    #[test]
    fn bag_of_words_counts_known_words_and_ignores_others() {
        let bow = bag_of_words("Push the red cube left, please!");
        assert_eq!(bow, [0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0]);
        assert_eq!(
            bag_of_words("the the blue"),
            [0.0, 0.0, 2.0, 0.0, 0.0, 1.0, 0.0, 0.0]
        );
        assert_eq!(bag_of_words(""), [0.0; 8]);
    }
}
