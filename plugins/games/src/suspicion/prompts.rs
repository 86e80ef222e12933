//! The prompts of the Suspicion-Agent pipeline (Guo et al. 2023), one function per module,
//! written for this platform from the paper's description of each module: what it is given and
//! what it must answer. Every prompt starts with the game's rules and the agent's role, as the
//! paper's do.

use super::Mode;

/// The system part shared by every prompt.
pub fn preamble(rules: &str) -> String {
    format!(
        "You are an expert player of Leduc Hold'em, playing to win chips over many games against \
         one opponent.\n{rules}\n"
    )
}

/// Module 1: the raw observation into readable text.
pub fn observation(rules: &str, raw: &str) -> String {
    format!(
        "{}\nHere is the game state as the environment gives it:\n{raw}\n\nDescribe this state \
         in a few plain sentences: your card, the public card, the chips each player has put in, \
         the actions so far and your legal actions.",
        preamble(rules)
    )
}

/// Module 2: the current game so far, summarised (short memory).
pub fn short_memory(rules: &str, steps: &[String]) -> String {
    format!(
        "{}\nWhat has happened in the current game, step by step:\n{}\n\nSummarise the current \
         game so far in two or three sentences.",
        preamble(rules),
        steps.join("\n")
    )
}

/// Module 3: reflexion over long memory; the opponent's pattern (and in second-order mode how
/// the opponent reads us, and how to exploit that).
pub fn pattern(rules: &str, memory: &[String], mode: Mode) -> String {
    let games = if memory.is_empty() {
        "(no previous games yet)".to_string()
    } else {
        memory
            .iter()
            .enumerate()
            .map(|(i, g)| format!("Game {}: {g}", i + 1))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let mut ask =
        "Infer the opponent's game pattern: for each card it may hold (J, Q, K) and each \
                   round, the probabilities of its actions (call, raise, fold, check), and how \
                   they depend on the public card."
            .to_string();
    if mode == Mode::SecondTom {
        ask.push_str(
            " Then infer how the opponent sees MY pattern: what it believes I do with each card. \
             Finally propose how I should change my strategy to exploit both (including when to \
             bluff).",
        );
    }
    format!(
        "{}\nSummaries of the previous games:\n{games}\n\n{ask}",
        preamble(rules)
    )
}

/// Module 4: beliefs about the cards.
pub fn belief(rules: &str, state: &str, summary: &str, pattern: &str, mode: Mode) -> String {
    let mut ask = "Analyse my card and its strength now and after the public card. Give a \
                   probability for each card the opponent may hold (J, Q, K) given its actions \
                   and its pattern, and analyse the opponent's best combination."
        .to_string();
    if mode == Mode::SecondTom {
        ask.push_str(
            " Then estimate the opponent's belief about MY card (a probability for J, Q, K) from \
             my actions as the opponent has seen them.",
        );
    }
    format!(
        "{}\nCurrent state:\n{state}\nThe game so far: {summary}\nThe opponent's pattern:\n{pattern}\n\n{ask}",
        preamble(rules)
    )
}

/// Module 5: plans over the legal actions with their expected chips.
pub fn plan(
    rules: &str,
    state: &str,
    summary: &str,
    belief: &str,
    legal: &[&str],
    mode: Mode,
) -> String {
    let reasoning = match mode {
        Mode::Normal => "For each plan, estimate how likely I am to win, draw and lose.",
        Mode::FirstTom => {
            "For each plan, estimate from my belief about the opponent's card how it will \
             respond, and from that my probabilities to win, draw and lose."
        }
        Mode::SecondTom => {
            "For each plan, estimate from my belief about the opponent's card, and from its \
             belief about mine, how it will respond (it may fold to a bluff), and from that my \
             probabilities to win, draw and lose."
        }
    };
    format!(
        "{}\nCurrent state:\n{state}\nThe game so far: {summary}\nBeliefs:\n{belief}\n\nMake one \
         plan per legal action ({}). {reasoning} Winning gains half the pot and losing costs half \
         the pot: expected chips = P(win) * winning payoff - P(lose) * losing payoff. Compute the \
         expected chips of each plan and name the plan with the most.",
        preamble(rules),
        legal.join(", ")
    )
}

/// Module 6: the decision, `action | what I say`.
pub fn decision(rules: &str, state: &str, plans: &str, legal: &[&str]) -> String {
    format!(
        "{}\nCurrent state:\n{state}\nPlans:\n{plans}\n\nChoose the action of the best plan. \
         Reply with one line: ACTION | a short sentence you say to the opponent (you may \
         bluff). ACTION must be one of: {}.",
        preamble(rules),
        legal.join(", ")
    )
}

/// The re-prompt after an answer that names no legal action.
pub fn retry(previous: &str, reply: &str, legal: &[&str]) -> String {
    format!(
        "{previous}\n\nYour answer was: {reply}\nThat is not a legal action. Reply again with one \
         line: ACTION | sentence, where ACTION is one of: {}.",
        legal.join(", ")
    )
}

/// Module 7: the finished game into long memory (with the opponent's card in hindsight).
pub fn summary(rules: &str, steps: &[String], outcome: &str, hindsight: bool) -> String {
    let seen = if hindsight {
        "The final state shows the opponent's card."
    } else {
        "Do not use the opponent's card unless it was shown at a showdown."
    };
    format!(
        "{}\nThe game, step by step:\n{}\nHow it ended:\n{outcome}\n\n{seen} Summarise the game in \
         two or three sentences for future reference: the cards, each player's actions, who won \
         how many chips, and what it says about the opponent's behaviour.",
        preamble(rules),
        steps.join("\n")
    )
}
