//! A member's handle, apart from the rest of the account so that mentions in text can be recognised
//! without the account's types.

/// A member's handle: 2–15 of `[A-Za-z0-9_]`. Unique case-insensitively (the database enforces it on
/// `lower(username)`); the member's own spelling is kept for display.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    #[error("username must be between {min} and {max} characters", min = Username::MIN, max = Username::MAX)]
    Length,
    #[error("username may contain only letters A–Z, digits and underscores")]
    Characters,
}

impl Username {
    pub const MIN: usize = 2;
    pub const MAX: usize = 15;

    pub fn parse(raw: &str) -> Result<Self, UsernameError> {
        if !raw.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(UsernameError::Characters);
        }
        if !(Self::MIN..=Self::MAX).contains(&raw.len()) {
            return Err(UsernameError::Length);
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn valid_usernames_parse(s in "[A-Za-z0-9_]{2,15}") {
            prop_assert_eq!(Username::parse(&s).map(Username::into_inner), Ok(s));
        }

        #[test]
        fn usernames_of_wrong_length_fail(s in "[A-Za-z0-9_]{16,40}|[A-Za-z0-9_]{0,1}") {
            prop_assert_eq!(Username::parse(&s), Err(UsernameError::Length));
        }

        #[test]
        fn usernames_with_other_characters_fail(a in "[a-z]{1,5}", bad in "[^A-Za-z0-9_]", b in "[a-z]{1,5}") {
            prop_assert_eq!(Username::parse(&format!("{a}{bad}{b}")), Err(UsernameError::Characters));
        }
    }
}
