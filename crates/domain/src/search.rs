//! How search ranks what matched: text similarity first (trigrams, as PostgreSQL's pg_trgm counts
//! them), an exact or leading match above a partial one, then popularity as a tie-breaker that
//! can never lift a poor match over a good one; and the parts of a query (a trailing year tells
//! remakes apart).

use std::collections::HashSet;

/// The longest query, in characters.
pub const MAX_QUERY_CHARS: usize = 100;
/// The fewest letters or digits a query needs (shorter ones match everything).
pub const MIN_QUERY_CHARS: usize = 2;

/// A text folded for search as the database's `search_key` folds it (close enough to rank by):
/// lowercase, common accents folded, apostrophes dropped, other punctuation a space.
pub fn key(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text
        .chars()
        .flat_map(crate::film::fold)
        .flat_map(char::to_lowercase)
    {
        if c.is_alphanumeric() {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push(c);
        } else if !matches!(c, '\'' | '’' | '`') {
            space = true;
        }
    }
    out
}

fn trigrams(text: &str) -> HashSet<[char; 3]> {
    let mut out = HashSet::new();
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let padded: Vec<char> = "  "
            .chars()
            .chain(word.chars())
            .chain(" ".chars())
            .collect();
        for w in padded.windows(3) {
            out.insert([w[0], w[1], w[2]]);
        }
    }
    out
}

/// pg_trgm's `similarity`: shared trigrams over all trigrams of the two.
pub fn similarity(a: &str, b: &str) -> f64 {
    let (a, b) = (trigrams(a), trigrams(b));
    let union = a.union(&b).count();
    if union == 0 {
        return 0.0;
    }
    a.intersection(&b).count() as f64 / union as f64
}

/// Like pg_trgm's `word_similarity(q, text)`: the best similarity of `q` with a run of whole words
/// of `text` as long as `q`.
pub fn word_similarity(q: &str, text: &str) -> f64 {
    let words: Vec<&str> = text.split(' ').filter(|w| !w.is_empty()).collect();
    let n = q.split(' ').filter(|w| !w.is_empty()).count().max(1);
    if words.len() <= n {
        return similarity(q, text);
    }
    words
        .windows(n)
        .map(|w| similarity(q, &w.join(" ")))
        .fold(0.0, f64::max)
}

/// How well the folded query `q` matches the folded `key` (0–1), as the database's `search_score`
/// has it: mostly the best match of its words within the key, partly the whole key's likeness.
pub fn text_score(q: &str, key: &str) -> f64 {
    0.6 * word_similarity(q, key) + 0.4 * similarity(key, q)
}

/// A query's text and the year it ends with, when it ends with one after other words ("the thing
/// 1982"): remakes are told apart by it. A query that is only a year ("1917") is a title.
pub fn trailing_year(q: &str) -> (&str, Option<i32>) {
    let trimmed = q.trim();
    if let Some((rest, last)) = trimmed.rsplit_once(' ') {
        let year = last
            .trim_matches(|c| c == '(' || c == ')')
            .parse::<i32>()
            .ok()
            .filter(|y| (1870..=2100).contains(y));
        if let Some(year) = year
            && !rest.trim().is_empty()
        {
            return (rest.trim(), Some(year));
        }
    }
    (trimmed, None)
}

/// How a query was matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Full,
    Prefix,
}

/// The score of a match of the folded query `q` with the folded `key`, `text` its similarity
/// (0–1), `popularity` a count (watches, followers, credits, likes).
pub fn score(q: &str, key: &str, text: f64, popularity: i64, mode: Mode) -> f64 {
    let mut score = text.clamp(0.0, 1.0);
    if key == q {
        score += 0.5;
    } else if key.starts_with(q) && key[q.len()..].starts_with(' ') {
        score += 0.2;
    } else if mode == Mode::Prefix && key.starts_with(q) {
        score += 0.15;
    } else if mode == Mode::Prefix && key.contains(&format!(" {q}")) {
        score += 0.05;
    }
    if mode == Mode::Prefix {
        // Shorter completions first ("the godfather" before "the godfather part ii").
        let extra = key
            .chars()
            .count()
            .saturating_sub(q.chars().count())
            .min(100);
        score -= extra as f64 * 0.002;
    }
    let popularity = popularity.max(0) as f64;
    score + 0.15 * ((1.0 + popularity).ln() / (1.0 + 10_000f64).ln()).min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_fold_case_accents_and_punctuation() {
        assert_eq!(key("Amélie"), "amelie");
        assert_eq!(key("Wong Kar-wai"), "wong kar wai");
        assert_eq!(key("Ocean's Eleven!"), "oceans eleven");
        assert_eq!(key("  ¿Qué?  "), "que");
    }

    #[test]
    fn similarity_tolerates_typos_and_ranks_exact_first() {
        assert!((similarity("godfather", "godfather") - 1.0).abs() < 1e-9);
        assert!(word_similarity("godfater", "the godfather") > 0.5);
        assert!(similarity("godfater", "heat") < 0.1);
        let exact = score("heat", "heat", 1.0, 0, Mode::Full);
        let popular_partial = score("heat", "the heat", 0.6, 1_000_000, Mode::Full);
        assert!(exact > popular_partial, "{exact} vs {popular_partial}");
        let popular = score("heat", "heat", 1.0, 5_000, Mode::Full);
        assert!(popular > exact);
        let short = score("the god", "the godfather", 0.5, 0, Mode::Prefix);
        let long = score("the god", "the godfather part ii", 0.5, 0, Mode::Prefix);
        assert!(short > long);
    }

    #[test]
    fn a_trailing_year_is_split_off_but_a_year_alone_is_a_title() {
        assert_eq!(trailing_year("the thing 1982"), ("the thing", Some(1982)));
        assert_eq!(trailing_year("The Thing (1951)"), ("The Thing", Some(1951)));
        assert_eq!(trailing_year("1917"), ("1917", None));
        assert_eq!(
            trailing_year("blade runner 2049"),
            ("blade runner", Some(2049))
        );
        assert_eq!(trailing_year("room 237 9999"), ("room 237 9999", None));
    }
}
