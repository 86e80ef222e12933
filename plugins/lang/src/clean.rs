//! Gettext UI strings made into plain text: accelerators, markup and format specifiers stripped,
//! whitespace collapsed; and the script tests that tell CJK text from Latin text.
//!
//! What is stripped, in order:
//!
//! 1. **Accelerators**: CJK-style mnemonics in parentheses (`ファイル(_F)`, `文件(&F)`, also
//!    with full-width parentheses), and a lone `_` or `&` before a letter or digit (`_File`,
//!    `Save _As`, `&Open`) when the string holds exactly one such marker (identifiers such as
//!    `LC_ALL_NAME` hold several and are left alone). `&name;` entities are not accelerators.
//! 2. **Markup**: tags (`<b>`, `</span>`, `<a href="…">`) and the XML entities `&lt; &gt; &amp;
//!    &quot; &apos;` and `&#NN;`.
//! 3. **Format specifiers**: printf conversions (`%s`, `%-10.3lf`, `%1$s`, `%'d`, `%Id`),
//!    Python's `%(name)s`, `%<PRIu64>`, brace placeholders (`{}`, `{0}`, `{name}`, `{0:>8}`) and `${name}`;
//!    `%%` becomes `%`. The space flag is not read, so `50% complete` keeps its sign.
//! 4. **Whitespace**: newlines, tabs and other controls become spaces; runs of spaces become
//!    one; the ends are trimmed.
//!
//! Cleaning is idempotent on its own output for the strings the catalogs hold (tested), so a
//! sample written from cleaned strings reads back unchanged.

/// Whether `c` is hiragana or katakana (full- or half-width).
pub fn is_kana(c: char) -> bool {
    matches!(c as u32, 0x3040..=0x30FF | 0x31F0..=0x31FF | 0xFF66..=0xFF9D)
}

/// Whether `c` is a Han ideograph (CJK unified ideographs, extension A, compatibility
/// ideographs, the supplementary planes' extensions).
pub fn is_han(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x3134F)
}

/// Whether `c` is a CJK letter: kana or Han.
pub fn is_cjk(c: char) -> bool {
    is_kana(c) || is_han(c)
}

/// Whether the language tag names a language written in CJK characters (`zh*`, `ja*`).
pub fn is_cjk_language(language: &str) -> bool {
    language.starts_with("zh") || language.starts_with("ja")
}

/// Share of the letters of `s` that are CJK (0 when `s` has no letters).
pub fn cjk_share(s: &str) -> f64 {
    let (mut letters, mut cjk) = (0usize, 0usize);
    for c in s.chars().filter(|c| c.is_alphabetic()) {
        letters += 1;
        cjk += usize::from(is_cjk(c));
    }
    if letters == 0 {
        0.0
    } else {
        cjk as f64 / letters as f64
    }
}

/// Whether `s` has a letter (format specifiers and markup already removed).
pub fn has_letters(s: &str) -> bool {
    s.chars().any(char::is_alphabetic)
}

/// The cleaned text of a catalog string (see the module documentation).
pub fn clean(s: &str) -> String {
    let s = strip_accelerators(s);
    let s = strip_markup(&s);
    let s = strip_format(&s);
    collapse_whitespace(&s)
}

/// Removes keyboard accelerators (step 1).
pub fn strip_accelerators(s: &str) -> String {
    let s = strip_parenthesised_mnemonics(s);
    let chars: Vec<char> = s.chars().collect();
    let is_marker = |i: usize| -> bool {
        let c = chars[i];
        if c != '_' && c != '&' {
            return false;
        }
        let Some(&next) = chars.get(i + 1) else {
            return false;
        };
        if !next.is_alphanumeric() {
            return false;
        }
        // `&name;` and `&#NN;` are entities, not accelerators.
        if c == '&' {
            let rest: String = chars[i + 1..].iter().take(12).collect();
            if let Some(end) = rest.find(';') {
                let name = &rest[..end];
                if !name.is_empty() && name.chars().all(|x| x.is_ascii_alphanumeric() || x == '#') {
                    return false;
                }
            }
        }
        true
    };
    let markers: Vec<usize> = (0..chars.len()).filter(|&i| is_marker(i)).collect();
    let same_kind = |c: char| chars.iter().filter(|&&x| x == c).count();
    match markers.as_slice() {
        [i] if same_kind(chars[*i]) == 1 => chars
            .iter()
            .enumerate()
            .filter(|(j, _)| j != i)
            .map(|(_, c)| c)
            .collect(),
        _ => chars.into_iter().collect(),
    }
}

/// Removes `(_F)`, `(&F)`, `(F)` after CJK text and their full-width forms, with a space before
/// them.
fn strip_parenthesised_mnemonics(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        let open = chars[i] == '(' || chars[i] == '（';
        if open {
            // ( [_&]? X )
            let mut j = i + 1;
            let marked = matches!(chars.get(j), Some('_') | Some('&'));
            if marked {
                j += 1;
            }
            let letter = chars.get(j).is_some_and(|c| c.is_ascii_alphanumeric());
            let close = matches!(chars.get(j + 1), Some(')') | Some('）'));
            let after_cjk = out.trim_end().chars().last().is_some_and(is_cjk);
            if letter && close && (marked || after_cjk) {
                while out.ends_with(' ') {
                    out.pop();
                }
                i = j + 2;
                continue;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// Removes tags and decodes the XML entities (step 2).
pub fn strip_markup(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        // `%<PRIu64>` is a format specifier (step 3), not a tag.
        let is_tag = !out.ends_with('%')
            && tail[1..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '/' || c == '!');
        match (is_tag, tail.find('>')) {
            (true, Some(end)) => rest = &tail[end + 1..],
            _ => {
                out.push('<');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    // Doubly escaped entities (`&amp;lt;`) decode in a second pass; stop when nothing changes.
    let mut text = out;
    for _ in 0..3 {
        let next = decode_entities(&text);
        if next == text {
            break;
        }
        text = next;
    }
    text
}

fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let end = tail.find(';').filter(|&e| e <= 10);
        let decoded = end.and_then(|e| {
            let name = &tail[1..e];
            let c = match name {
                "lt" => Some('<'),
                "gt" => Some('>'),
                "amp" => Some('&'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => name
                    .strip_prefix('#')
                    .and_then(|n| n.parse::<u32>().ok())
                    .and_then(char::from_u32),
            };
            c.map(|c| (c, e))
        });
        match decoded {
            Some((c, e)) => {
                out.push(c);
                rest = &tail[e + 1..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Removes format specifiers (step 3).
pub fn strip_format(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let skip = match c {
            '%' => printf_spec(&chars[i..]),
            '{' => brace_placeholder(&chars[i..]),
            '$' if chars.get(i + 1) == Some(&'{') => {
                chars[i..].iter().position(|&x| x == '}').map(|e| e + 1)
            }
            _ => None,
        };
        match skip {
            Some(0) => {
                // `%%`: a literal percent sign.
                out.push('%');
                i += 2;
            }
            Some(n) => i += n,
            None => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// The length of the printf conversion at the start of `s` (which starts with `%`), 0 for `%%`,
/// `None` when it is not one.
fn printf_spec(s: &[char]) -> Option<usize> {
    if s.get(1) == Some(&'%') {
        return Some(0);
    }
    let mut i = 1;
    // Python: %(name)s
    if s.get(i) == Some(&'(') {
        let close = s[i..].iter().position(|&c| c == ')')? + i;
        i = close + 1;
    } else {
        // %1$s
        let digits = s[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits > 0 && s.get(i + digits) == Some(&'$') {
            i += digits + 1;
        }
    }
    while s
        .get(i)
        .is_some_and(|c| matches!(c, '-' | '+' | '#' | '0' | '\'' | 'I'))
    {
        i += 1;
    }
    while s.get(i).is_some_and(|c| c.is_ascii_digit() || *c == '*') {
        i += 1;
    }
    if s.get(i) == Some(&'.') {
        i += 1;
        while s.get(i).is_some_and(|c| c.is_ascii_digit() || *c == '*') {
            i += 1;
        }
    }
    while s
        .get(i)
        .is_some_and(|c| matches!(c, 'h' | 'l' | 'L' | 'q' | 'j' | 'z' | 'Z' | 't'))
    {
        i += 1;
    }
    // <inttypes.h> macros left in msgids: %<PRIu64>
    if s.get(i) == Some(&'<') {
        let close = s[i..].iter().position(|&c| c == '>')? + i;
        return Some(close + 1);
    }
    let conv = *s.get(i)?;
    "diouxXeEfFgGaAcsSpnmC".contains(conv).then_some(i + 1)
}

/// The length of a `{…}` placeholder at the start of `s`: empty, a number or an identifier,
/// optionally with a `:format` or `!conversion`.
fn brace_placeholder(s: &[char]) -> Option<usize> {
    let close = s.iter().take(40).position(|&c| c == '}')?;
    let inner: String = s[1..close].iter().collect();
    let name = inner.split([':', '!']).next().unwrap_or("");
    let ok = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    ok.then_some(close + 1)
}

/// Replaces controls by spaces, collapses runs of whitespace and trims (step 4).
pub fn collapse_whitespace(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accelerators_are_stripped_but_identifiers_kept() {
        assert_eq!(clean("_File"), "File");
        assert_eq!(clean("Save _As…"), "Save As…");
        assert_eq!(clean("&Open the file"), "Open the file");
        assert_eq!(clean("ファイル(_F)"), "ファイル");
        assert_eq!(clean("文件 (&F)"), "文件");
        assert_eq!(clean("開く（_O）"), "開く");
        assert_eq!(clean("Drag & Drop"), "Drag & Drop");
        assert_eq!(clean("set LC_ALL_NAME first"), "set LC_ALL_NAME first");
        assert_eq!(clean("the (A) option"), "the (A) option");
    }

    #[test]
    fn markup_and_entities_are_removed() {
        assert_eq!(
            clean("<b>Warning:</b> the <span weight=\"bold\">disk</span> is full"),
            "Warning: the disk is full"
        );
        assert_eq!(clean("Tom &amp; Jerry &lt;3"), "Tom & Jerry <3");
        assert_eq!(clean("a < b and c > d"), "a < b and c > d");
    }

    #[test]
    fn format_specifiers_are_removed_and_percent_signs_kept() {
        assert_eq!(
            clean("cannot open %s: %s\n"),
            "cannot open :",
            "printf conversions"
        );
        assert_eq!(clean("%1$s of %2$'d files"), "of files");
        assert_eq!(clean("%-10.3lf done, %(count)d left"), "done, left");
        assert_eq!(clean("copied {0} of {total:>8} bytes"), "copied of bytes");
        assert_eq!(clean("100%% done in ${dir}"), "100% done in");
        assert_eq!(clean("%<PRIu64> bytes"), "bytes");
        assert_eq!(clean("50% complete, 3 % left"), "50% complete, 3 % left");
        assert_eq!(clean("%s %s %s"), "");
        assert!(!has_letters(&clean("%1$s: %2$s (%3$d)")));
    }

    #[test]
    fn whitespace_is_collapsed_and_cleaning_is_idempotent() {
        let samples = [
            "  Line one\n\tline   two  ",
            "_Datei öffnen",
            "ファイルを開く(_O)...",
            "<i>%s</i> n'existe pas",
            "Utilisez « %s » pour continuer",
            "Tom &amp;amp; Jerry",
        ];
        assert_eq!(clean(samples[0]), "Line one line two");
        for s in samples {
            let once = clean(s);
            assert_eq!(clean(&once), once, "{s:?}");
        }
    }

    #[test]
    fn scripts_are_told_apart() {
        assert!(is_kana('ア') && is_kana('の') && is_kana('ｱ'));
        assert!(is_han('文') && !is_kana('文'));
        assert!(!is_cjk('é'));
        assert_eq!(cjk_share("ファイルを開く"), 1.0);
        assert_eq!(cjk_share("123"), 0.0);
        assert!((cjk_share("GNOME 文件") - 2.0 / 7.0).abs() < 1e-12);
        assert!(is_cjk_language("zh_CN") && is_cjk_language("ja") && !is_cjk_language("de"));
    }
}
