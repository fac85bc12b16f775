//! Small text helpers shared by every layer: the one did-you-mean and the one single-line
//! form of a message.

/// The closest of `candidates` to `word`, when close enough to be a likely typo: at most a
/// third of the letters edited (Damerau-Levenshtein, case-insensitive), or a Jaro-Winkler
/// similarity of at least 0.9 (a long common prefix). Empty candidates are skipped.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    candidates
        .into_iter()
        .filter(|c| !c.is_empty())
        .map(|c| {
            let cl = c.to_ascii_lowercase();
            let dist = strsim::damerau_levenshtein(&lower, &cl);
            let jw = strsim::jaro_winkler(&lower, &cl);
            (dist, jw, c)
        })
        .filter(|(dist, jw, c)| *dist <= (c.len().max(word.len()) / 3).max(1) || *jw >= 0.9)
        .min_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)))
        .map(|(_, _, c)| c)
}

/// `text` on one line of at most `max` characters (then cut, with `…`): every run of
/// whitespace, line breaks included, becomes one space (servers wrap messages mid-sentence:
/// "page size\nmust be positive").
pub fn one_line(text: &str, max: usize) -> String {
    // Reads no further than it needs: a server's body can be megabytes long.
    let mut out = String::new();
    let mut count = 0;
    for word in text.split_whitespace() {
        if count > 0 {
            if count == max {
                out.push('…');
                return out;
            }
            out.push(' ');
            count += 1;
        }
        for c in word.chars() {
            if count == max {
                out.push('…');
                return out;
            }
            out.push(c);
            count += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_their_word_and_strangers_nothing() {
        let words = ["memory", "namespace", "none", "full", "tags"];
        assert_eq!(did_you_mean("memroy", words), Some("memory"));
        assert_eq!(did_you_mean("Namespce", words), Some("namespace"));
        assert_eq!(did_you_mean("fancy", words), None);
        assert_eq!(did_you_mean("x", [""]), None);
        // the fewest edits win
        assert_eq!(did_you_mean("tag", ["tags", "tax_rate"]), Some("tags"));
    }

    #[test]
    fn one_line_collapses_whitespace_and_cuts() {
        assert_eq!(
            one_line("bad thing\n  at line 3\n\nfix it\n", 100),
            "bad thing at line 3 fix it"
        );
        assert_eq!(one_line("a   b\tc", 100), "a b c");
        assert_eq!(one_line("abcdef", 3), "abc…");
        assert_eq!(one_line("", 3), "");
        assert_eq!(one_line("abc", 3), "abc");
        assert_eq!(one_line("abc d", 3), "abc…");
        assert_eq!(one_line("ab  cd", 3), "ab …");
        assert_eq!(one_line("éé é", 0), "…");
        assert_eq!(one_line("single", usize::MAX), "single");
    }
}
