//! Close spellings: the valid name a misspelt one most plausibly meant.

/// Edit distance between two strings (Levenshtein, on characters).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitute.min(previous + 1).min(row[j] + 1);
        }
    }
    row[b.len()]
}

/// The candidate closest to `given`, if it is close enough to be a plausible misspelling.
pub fn closest<'a>(given: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(given, c), c))
        .filter(|(d, c)| *d <= (c.chars().count().max(given.chars().count()) / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// The message for a string that is not one of `choices`, with the closest valid one.
pub fn not_a_choice(given: &str, choices: &[String]) -> String {
    let mut message = format!("`{given}` is not one of {}", choices.join(", "));
    if let Some(best) = closest(given, choices.iter().map(String::as_str)) {
        message.push_str(&format!("; did you mean `{best}`?"));
    }
    message
}
