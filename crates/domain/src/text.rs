//! Rules shared by every free-text value: no NUL or other control characters (PostgreSQL rejects NUL
//! in text and clients never mean to send the others), and a length limit counted in characters.

/// Why a piece of text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {max} characters")]
    TooLong { max: usize },
    #[error("must not contain control characters")]
    ControlCharacter,
}

/// Whether `c` is refused in text: every control character except newline, carriage return and tab
/// (those three are allowed only where `multiline` is true).
pub fn is_forbidden_char(c: char, multiline: bool) -> bool {
    if multiline && matches!(c, '\n' | '\r' | '\t') {
        return false;
    }
    c.is_control()
}

/// Checks free text: trims surrounding whitespace, refuses control characters and enforces `max`
/// characters. Returns `None` for text that is empty after trimming (the caller decides whether empty
/// means "clear" or is an error).
pub fn clean(raw: &str, max: usize, multiline: bool) -> Result<Option<String>, TextError> {
    if raw.chars().any(|c| is_forbidden_char(c, multiline)) {
        return Err(TextError::ControlCharacter);
    }
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    if trimmed.chars().count() > max {
        return Err(TextError::TooLong { max });
    }
    Ok(Some(trimmed.to_owned()))
}

/// Like [`clean`], but empty text is an error.
pub fn clean_required(raw: &str, max: usize, multiline: bool) -> Result<String, TextError> {
    clean(raw, max, multiline)?.ok_or(TextError::Empty)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn nul_and_escape_are_refused_newline_only_in_multiline() {
        assert_eq!(clean("a\0b", 10, true), Err(TextError::ControlCharacter));
        assert_eq!(
            clean("a\u{1b}b", 10, true),
            Err(TextError::ControlCharacter)
        );
        assert_eq!(clean("a\nb", 10, false), Err(TextError::ControlCharacter));
        assert_eq!(clean("a\r\n\tb", 10, true), Ok(Some("a\r\n\tb".to_owned())));
        assert_eq!(clean("   ", 10, false), Ok(None));
        assert_eq!(clean_required(" ", 10, false), Err(TextError::Empty));
    }

    proptest! {
        #[test]
        fn length_is_counted_in_characters(s in "[a-zé😀]{1,40}") {
            let n = s.chars().count();
            prop_assert_eq!(clean(&s, n, false), Ok(Some(s.clone())));
            if n > 1 {
                prop_assert_eq!(clean(&s, n - 1, false), Err(TextError::TooLong { max: n - 1 }));
            }
        }

        #[test]
        fn accepted_text_never_holds_a_control_character(s in any::<String>()) {
            if let Ok(Some(t)) = clean(&s, 1000, true) {
                prop_assert!(!t.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')));
                prop_assert!(!t.contains('\0'));
            }
        }
    }
}
