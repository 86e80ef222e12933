//! Words as the paper's code sees them: `re.split(r"(\W)", sentence)`, letters as `str.isalpha`,
//! and the whitespace normalisation every scrambled sentence goes through.

/// Whether `c` is a word character of Python's `\w` (letters, digits, underscore).
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Whether `c` is a letter (`str.isalpha`; Rust's Unicode `Alphabetic`, the same for the
/// letters of every script the shipped corpus uses).
pub fn is_letter(c: char) -> bool {
    c.is_alphabetic()
}

/// `re.split(r"(\W)", text)`: runs of word characters and single non-word characters,
/// alternating, with the empty runs between two adjacent separators kept (so the list has the
/// same indices as Python's).
pub fn split(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut run = String::new();
    for c in text.chars() {
        if is_word_char(c) {
            run.push(c);
        } else {
            out.push(std::mem::take(&mut run));
            out.push(c.to_string());
        }
    }
    out.push(run);
    out
}

/// Number of letters in `token`.
pub fn letters(token: &str) -> usize {
    token.chars().filter(|&c| is_letter(c)).count()
}

/// Indices of the tokens a scrambler may touch: those with more than one letter.
pub fn eligible(tokens: &[String]) -> Vec<usize> {
    tokens
        .iter()
        .enumerate()
        .filter(|(_, t)| letters(t) > 1)
        .map(|(i, _)| i)
        .collect()
}

/// `"\n".join(" ".join(line.split()) for line in text.splitlines())`: each line's whitespace
/// runs become one space, without leading or trailing spaces.
pub fn normalise(text: &str) -> String {
    text.lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A token's letters in sorted order, lower-cased, with its other characters after them: what
/// stays the same when the letters are permuted (the anagram key, and the canonical token of
/// the ScrQA reader).
pub fn canonical(token: &str) -> String {
    let mut letters: Vec<char> = token
        .chars()
        .filter(|&c| is_letter(c))
        .flat_map(char::to_lowercase)
        .collect();
    letters.sort_unstable();
    let rest: String = token.chars().filter(|&c| !is_letter(c)).collect();
    letters.into_iter().chain(rest.chars()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitting_matches_pythons_re_split_with_a_capturing_group() {
        // re.split(r"(\W)", "Don't stop, 2 go!") ==
        // ['Don', "'", 't', ' ', 'stop', ',', '', ' ', '2', ' ', 'go', '!', '']
        assert_eq!(
            split("Don't stop, 2 go!"),
            ["Don", "'", "t", " ", "stop", ",", "", " ", "2", " ", "go", "!", ""]
        );
        assert_eq!(split(""), [""]);
        assert_eq!(split("a_b1"), ["a_b1"]);
        let s = "The  quick, brown fox.";
        assert_eq!(
            split(s).concat(),
            s,
            "joining the pieces gives the text back"
        );
    }

    #[test]
    fn only_tokens_with_two_letters_or_more_are_eligible() {
        let t = split("I am 42 x2y2 a.");
        assert_eq!(
            eligible(&t)
                .iter()
                .map(|&i| t[i].as_str())
                .collect::<Vec<_>>(),
            ["am", "x2y2"]
        );
        assert_eq!(letters("x2y2"), 2);
    }

    #[test]
    fn whitespace_is_normalised_line_by_line() {
        assert_eq!(normalise("  a   b \n\tc  d  "), "a b\nc d");
        assert_eq!(normalise("one"), "one");
    }

    #[test]
    fn canonical_tokens_ignore_letter_order_and_case() {
        assert_eq!(canonical("Alice"), canonical("lAcie"));
        assert_eq!(canonical("ab1"), "ab1");
        assert_ne!(canonical("ab"), canonical("abb"));
    }
}
