//! Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP): HMAC-SHA1, 30-second steps, six
//! digits, as every authenticator app reads them from an `otpauth://` URI; and recovery codes.

use std::fmt::Write as _;

/// Seconds per step.
pub const STEP: u64 = 30;
/// Steps either side of now a code may come from (clocks drift, people type slowly).
pub const WINDOW: u64 = 1;
/// Recovery codes issued at once.
pub const RECOVERY_CODES: usize = 10;

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// A new 160-bit key (RFC 4226's recommended length).
pub fn new_key() -> Vec<u8> {
    let mut key = vec![0u8; 20];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut key);
    key
}

/// RFC 4648 base32 without padding, as `otpauth://` URIs carry keys.
pub fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(BASE32[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(BASE32[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// The bytes of a base32 string (case and padding ignored); `None` for anything else.
pub fn from_base32(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 5 / 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in s.trim_end_matches('=').bytes() {
        let v = BASE32.iter().position(|&a| a == c.to_ascii_uppercase())? as u32;
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((buffer >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

/// RFC 4226 HOTP: the six-digit code of `key` at `counter`.
pub fn hotp(key: &[u8], counter: u64) -> u32 {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, key);
    let mac = aws_lc_rs::hmac::sign(&key, &counter.to_be_bytes());
    let mac = mac.as_ref();
    let offset = usize::from(mac[mac.len() - 1] & 0x0f);
    let binary = (u32::from(mac[offset] & 0x7f) << 24)
        | (u32::from(mac[offset + 1]) << 16)
        | (u32::from(mac[offset + 2]) << 8)
        | u32::from(mac[offset + 3]);
    binary % 1_000_000
}

/// The step `unix_seconds` falls in.
pub fn step_at(unix_seconds: u64) -> u64 {
    unix_seconds / STEP
}

/// The step within [`WINDOW`] of `now_step` whose code `code` is, if any is later than `after`
/// (the step of the last code accepted: a code works once, and none older than it works after it).
pub fn matching_step(key: &[u8], code: &str, now_step: u64, after: u64) -> Option<u64> {
    let code = code.trim().replace(' ', "");
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let wanted: u32 = code.parse().ok()?;
    let mut found = None;
    // Every candidate is computed (no early exit on a match).
    for step in now_step.saturating_sub(WINDOW)..=now_step + WINDOW {
        if step > after && hotp(key, step) == wanted && found.is_none() {
            found = Some(step);
        }
    }
    found
}

/// The `otpauth://` URI an authenticator app takes (Google Authenticator's key URI format).
pub fn otpauth_uri(issuer: &str, account: &str, key: &[u8]) -> String {
    let label = format!("{issuer}:{account}");
    let mut uri = String::from("otpauth://totp/");
    uri.extend(form_urlencoded::byte_serialize(label.as_bytes()).map(|s| s.replace('+', "%20")));
    let _ = write!(
        uri,
        "?secret={}&issuer={}&algorithm=SHA1&digits=6&period={STEP}",
        base32(key),
        form_urlencoded::byte_serialize(issuer.as_bytes()).collect::<String>()
    );
    uri
}

/// Ten new recovery codes, `xxxxx-xxxxx` in lower-case base32 (50 random bits each).
pub fn new_recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut bytes = [0u8; 7];
            rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
            let s = base32(&bytes).to_ascii_lowercase();
            format!("{}-{}", &s[..5], &s[5..10])
        })
        .collect()
}

/// A recovery code as typed, normalised for comparison: no spaces or dashes, lower case; `None` when
/// it cannot be one.
pub fn normalise_recovery_code(code: &str) -> Option<String> {
    let s: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (s.len() == 10 && s.bytes().all(|b| BASE32.contains(&b.to_ascii_uppercase()))).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B's SHA-1 key.
    const RFC_KEY: &[u8] = b"12345678901234567890";

    #[test]
    fn codes_match_rfc_6238_test_vectors() {
        // (time, 8-digit code); six digits are its last six.
        for (t, code) in [
            (59u64, 94287082u32),
            (1111111109, 7081804),
            (1111111111, 14050471),
            (1234567890, 89005924),
            (2000000000, 69279037),
            (20000000000, 65353130),
        ] {
            assert_eq!(hotp(RFC_KEY, step_at(t)), code % 1_000_000, "at {t}");
        }
    }

    #[test]
    fn rfc_4226_vectors() {
        let expected = [755224, 287082, 359152, 969429, 338314];
        for (counter, code) in expected.iter().enumerate() {
            assert_eq!(hotp(RFC_KEY, counter as u64), *code);
        }
    }

    #[test]
    fn base32_round_trips_and_matches_rfc_4648() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32(b"f"), "MY");
        assert_eq!(from_base32("mzxw6ytboi"), Some(b"foobar".to_vec()));
        assert_eq!(from_base32("MZXW6YTBOI======"), Some(b"foobar".to_vec()));
        assert_eq!(from_base32("not base32!"), None);
        let key = new_key();
        assert_eq!(from_base32(&base32(&key)), Some(key));
    }

    #[test]
    fn a_code_matches_within_the_window_once() {
        let now = step_at(1_800_000_000);
        let code = |step| format!("{:06}", hotp(RFC_KEY, step));
        assert_eq!(matching_step(RFC_KEY, &code(now), now, 0), Some(now));
        assert_eq!(
            matching_step(RFC_KEY, &code(now - 1), now, 0),
            Some(now - 1)
        );
        assert_eq!(
            matching_step(RFC_KEY, &code(now + 1), now, 0),
            Some(now + 1)
        );
        assert_eq!(matching_step(RFC_KEY, &code(now - 2), now, 0), None);
        assert_eq!(matching_step(RFC_KEY, &code(now + 2), now, 0), None);
        // Replayed, or older than the last accepted.
        assert_eq!(matching_step(RFC_KEY, &code(now), now, now), None);
        assert_eq!(matching_step(RFC_KEY, &code(now - 1), now, now), None);
        assert_eq!(matching_step(RFC_KEY, "12345", now, 0), None);
        assert_eq!(matching_step(RFC_KEY, "abcdef", now, 0), None);
    }

    #[test]
    fn the_uri_names_issuer_account_and_key() {
        let uri = otpauth_uri("Filmlog", "ana lima", b"foobar");
        assert_eq!(
            uri,
            "otpauth://totp/Filmlog%3Aana%20lima?secret=MZXW6YTBOI&issuer=Filmlog&algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn recovery_codes_are_distinct_and_normalise() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), 10);
        let distinct: std::collections::BTreeSet<_> = codes.iter().collect();
        assert_eq!(distinct.len(), 10);
        for c in &codes {
            assert_eq!(c.len(), 11);
            assert!(normalise_recovery_code(&c.to_uppercase()).is_some());
        }
        assert_eq!(
            normalise_recovery_code("abcde-fghij").as_deref(),
            Some("abcdefghij")
        );
        assert_eq!(normalise_recovery_code("abc"), None);
        assert_eq!(normalise_recovery_code("abcde-fghi1"), None);
    }
}
