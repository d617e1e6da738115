//! Credentials: argon2id password hashing off the async workers, short-lived JWT access tokens and
//! opaque single-use refresh tokens. The HTTP layer's extractors call these; nothing here knows HTTP.

use std::sync::Arc;
use std::time::Duration;

use argon2::{Algorithm, Argon2, Params, PasswordVerifier, Version};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use chrono::Utc;
use hmac::{Hmac, KeyInit, Mac};
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use filmlog_domain::oauth::Scopes;
use filmlog_domain::{AppId, MemberId, Password, SessionId};

use crate::ops::{OpError, OpResult};

/// The only algorithm accepted for access tokens.
const ALGORITHM: jsonwebtoken::Algorithm = jsonwebtoken::Algorithm::HS256;
/// The `typ` claim of access tokens, so no other kind of token can stand in for one.
pub const ACCESS_TOKEN_TYPE: &str = "access";
/// The least signing key length accepted, in bytes.
pub const MIN_KEY_BYTES: usize = 32;

#[derive(Debug, Clone)]
pub struct AuthSettings {
    pub jwt_secret: SecretString,
    pub issuer: String,
    pub audience: String,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    /// How long after a refresh token is spent a retry with it still gets the same successor (for
    /// clients whose response was lost).
    pub refresh_grace: Duration,
    /// How many argon2 hashes may run at once (each takes 19 MiB).
    pub hash_concurrency: usize,
}

impl AuthSettings {
    pub fn new(jwt_secret: SecretString) -> Self {
        Self {
            jwt_secret,
            issuer: "filmlog".to_owned(),
            audience: "filmlog-api".to_owned(),
            access_ttl: Duration::from_secs(15 * 60),
            refresh_ttl: Duration::from_secs(30 * 24 * 3600),
            refresh_grace: Duration::from_secs(10),
            hash_concurrency: 2,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("the JWT signing key must be at least {MIN_KEY_BYTES} bytes (got {0})")]
    TooShort(usize),
    #[error("the JWT signing key is not random: it repeats too few distinct bytes")]
    LowEntropy,
}

/// Refuses keys that are short or obviously not random.
pub fn check_signing_key(key: &[u8]) -> Result<(), KeyError> {
    if key.len() < MIN_KEY_BYTES {
        return Err(KeyError::TooShort(key.len()));
    }
    let mut seen = [false; 256];
    for b in key {
        seen[usize::from(*b)] = true;
    }
    if seen.iter().filter(|s| **s).count() < 8 {
        return Err(KeyError::LowEntropy);
    }
    Ok(())
}

/// The claims of an access token. Every one is required on decode.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    pub typ: String,
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub iat: i64,
    /// Not before: the moment of issue.
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
    pub sid: String,
    /// A third-party app's token: the scopes granted (space-separated). Absent on first-party
    /// tokens, which may do everything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// A third-party app's token: the app (its id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<i64>,
}

/// What an app was granted: its tokens carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    pub app: AppId,
    pub scopes: Scopes,
}

/// A decoded access token: who, which session, and, for an app's token, its grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    pub member: MemberId,
    pub session: SessionId,
    pub grant: Option<Grant>,
}

/// A freshly minted access token and refresh token.
#[derive(Debug, Clone)]
pub struct TokenPair {
    pub access_token: String,
    pub access_expires_in: u64,
    pub refresh_token: String,
    pub refresh_expires_in: u64,
}

/// How far apart the clocks of the instances that issue and check a token may be.
pub const CLOCK_LEEWAY_SECS: u64 = 5;

pub struct TokenService {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    rotation_key: Vec<u8>,
    /// Signs read-your-writes positions (the HTTP layer's replication routing).
    position_key: Vec<u8>,
    settings: AuthSettings,
    verified: VerifiedTokens,
}

/// Access tokens that passed every check of [`TokenService::decode_access`], by their exact text,
/// so a client's next requests with the same token skip decoding and the signature check (about a
/// tenth of a feed request's CPU). Only the expiry can change a verified token's answer, and it is
/// checked on every hit; the session is still checked against the database on every request.
/// Bounded: when full, it starts over.
struct VerifiedTokens {
    entries: std::sync::Mutex<std::collections::HashMap<Box<str>, VerifiedToken>>,
}

#[derive(Debug, Clone, Copy)]
struct VerifiedToken {
    access: Access,
    exp: i64,
}

impl VerifiedTokens {
    const CAPACITY: usize = 8192;

    fn new() -> Self {
        Self {
            entries: std::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }

    fn get(&self, token: &str, now: i64) -> Option<VerifiedToken> {
        let entries = self.entries.lock().ok()?;
        entries.get(token).copied().filter(|t| !expired(t.exp, now))
    }

    fn put(&self, token: &str, verified: VerifiedToken) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= Self::CAPACITY {
                entries.clear();
            }
            entries.insert(token.into(), verified);
        }
    }
}

/// [`CLOCK_LEEWAY_SECS`] for arithmetic on claims.
const LEEWAY: i64 = CLOCK_LEEWAY_SECS as i64;

/// The expiry rule of the token validation: expired once `exp` is more than the clock leeway ago.
fn expired(exp: i64, now: i64) -> bool {
    exp < now - LEEWAY
}

type HmacSha256 = Hmac<Sha256>;

impl TokenService {
    pub fn new(settings: AuthSettings) -> Result<Self, KeyError> {
        let key = settings.jwt_secret.expose_secret().as_bytes();
        check_signing_key(key)?;
        let mut validation = Validation::new(ALGORITHM);
        validation.set_issuer(&[settings.issuer.as_str()]);
        validation.set_audience(&[settings.audience.as_str()]);
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
        validation.leeway = CLOCK_LEEWAY_SECS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        // A separate key for deriving refresh-token successors, so the signing key is never used
        // for two purposes.
        let rotation_key = hmac_sha256(key, b"filmlog refresh-token rotation").to_vec();
        let position_key = hmac_sha256(key, b"filmlog consistency positions").to_vec();
        Ok(Self {
            encoding: EncodingKey::from_secret(key),
            decoding: DecodingKey::from_secret(key),
            validation,
            rotation_key,
            position_key,
            settings,
            verified: VerifiedTokens::new(),
        })
    }

    pub fn settings(&self) -> &AuthSettings {
        &self.settings
    }

    /// The signature of a read-your-writes position token's text.
    pub fn sign_position(&self, text: &str) -> String {
        hex::encode(&hmac_sha256(&self.position_key, text.as_bytes())[..16])
    }

    pub fn issue_access(
        &self,
        member: MemberId,
        session: SessionId,
        grant: Option<Grant>,
    ) -> OpResult<String> {
        let now = Utc::now().timestamp();
        let claims = AccessClaims {
            typ: ACCESS_TOKEN_TYPE.to_owned(),
            iss: self.settings.issuer.clone(),
            aud: self.settings.audience.clone(),
            sub: member.to_string(),
            iat: now,
            nbf: now,
            exp: now + i64::try_from(self.settings.access_ttl.as_secs()).unwrap_or(900),
            jti: random_token(16),
            sid: session.to_string(),
            scope: grant.map(|g| g.scopes.to_string()),
            app: grant.map(|g| g.app.get()),
        };
        jsonwebtoken::encode(&Header::new(ALGORITHM), &claims, &self.encoding)
            .map_err(OpError::internal)
    }

    /// Checks signature, algorithm, `exp`, `nbf`, `iat` (not in the future), `iss`, `aud`, presence of
    /// all claims and the token type; clocks may differ by [`CLOCK_LEEWAY_SECS`].
    pub fn decode_access(&self, token: &str) -> Result<Access, InvalidToken> {
        let now = Utc::now().timestamp();
        if let Some(t) = self.verified.get(token, now) {
            return Ok(t.access);
        }
        let invalid = || InvalidToken;
        let data = jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &self.validation)
            .map_err(|_| invalid())?;
        let claims = data.claims;
        let issued_in_the_future = claims.iat > now + LEEWAY;
        if claims.typ != ACCESS_TOKEN_TYPE || claims.jti.is_empty() || issued_in_the_future {
            return Err(invalid());
        }
        let member = claims.sub.parse::<MemberId>().map_err(|_| invalid())?;
        let session = claims.sid.parse::<SessionId>().map_err(|_| invalid())?;
        let grant = match (claims.app, claims.scope.as_deref()) {
            (None, None) => None,
            (Some(app), Some(scope)) if app > 0 => Some(Grant {
                app: AppId::new(app),
                scopes: Scopes::parse(scope).map_err(|_| invalid())?,
            }),
            _ => return Err(invalid()),
        };
        let access = Access {
            member,
            session,
            grant,
        };
        self.verified.put(
            token,
            VerifiedToken {
                access,
                exp: claims.exp,
            },
        );
        Ok(access)
    }

    /// The successor of a refresh token: derived from it with a server key, so a retry of the same
    /// refresh inside the grace window gets the same successor without it ever being stored in
    /// plaintext.
    pub fn successor_of(&self, refresh_token: &str) -> String {
        URL_SAFE_NO_PAD.encode(hmac_sha256(&self.rotation_key, refresh_token.as_bytes()))
    }

    pub fn refresh_expiry(&self) -> chrono::DateTime<Utc> {
        Utc::now()
            + chrono::Duration::seconds(
                i64::try_from(self.settings.refresh_ttl.as_secs()).unwrap_or(0),
            )
    }

    pub fn pair(
        &self,
        member: MemberId,
        session: SessionId,
        grant: Option<Grant>,
        refresh_token: String,
    ) -> OpResult<TokenPair> {
        Ok(TokenPair {
            access_token: self.issue_access(member, session, grant)?,
            access_expires_in: self.settings.access_ttl.as_secs(),
            refresh_token,
            refresh_expires_in: self.settings.refresh_ttl.as_secs(),
        })
    }
}

pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// Seals secrets the server must read back (webhook signing secrets, two-factor keys) at rest:
/// AES-256-GCM under a key derived from the server's secret and a purpose, a random nonce each time,
/// stored as `sealed1:` and the base64 of nonce and ciphertext; the purpose is the associated data,
/// so a value sealed for one purpose does not open for another. A database dump alone reveals none.
pub struct Sealer {
    key: aws_lc_rs::aead::LessSafeKey,
    purpose: &'static [u8],
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

/// The prefix of a sealed value.
pub const SEALED: &str = "sealed1:";

impl Sealer {
    /// The sealer whose key is HMAC-SHA256(`server_secret`, `key_label`).
    pub fn new(server_secret: &[u8], key_label: &[u8], purpose: &'static [u8]) -> Self {
        let key = hmac_sha256(server_secret, key_label);
        let unbound = aws_lc_rs::aead::UnboundKey::new(&aws_lc_rs::aead::AES_256_GCM, &key)
            .unwrap_or_else(|_| unreachable!("a 32-byte key is an AES-256 key"));
        Sealer {
            key: aws_lc_rs::aead::LessSafeKey::new(unbound),
            purpose,
        }
    }

    /// `secret` as stored.
    pub fn seal(&self, secret: &str) -> Option<String> {
        let mut nonce = [0u8; aws_lc_rs::aead::NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let mut sealed = secret.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                aws_lc_rs::aead::Nonce::assume_unique_for_key(nonce),
                aws_lc_rs::aead::Aad::from(self.purpose),
                &mut sealed,
            )
            .ok()?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Some(format!(
            "{SEALED}{}",
            base64::engine::general_purpose::STANDARD.encode(out)
        ))
    }

    /// The secret a sealed value holds; `None` for anything else, or a value tampered with.
    pub fn open(&self, stored: &str) -> Option<String> {
        let sealed = stored.strip_prefix(SEALED)?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(sealed)
            .ok()?;
        if bytes.len() < aws_lc_rs::aead::NONCE_LEN {
            return None;
        }
        let (nonce, rest) = bytes.split_at(aws_lc_rs::aead::NONCE_LEN);
        let nonce = aws_lc_rs::aead::Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut rest = rest.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, aws_lc_rs::aead::Aad::from(self.purpose), &mut rest)
            .ok()?;
        String::from_utf8(plain.to_vec()).ok()
    }
}

/// `bytes` random bytes from the OS generator, URL-safe base64.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// A new refresh token: 256 random bits.
pub fn new_refresh_token() -> String {
    random_token(32)
}

/// What the database stores of a refresh token.
pub fn refresh_token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// argon2id with OWASP's parameters (m = 19456 KiB, t = 2, p = 1), on a fixed set of dedicated
/// threads, never on the async workers. Each thread owns one 19 MiB block buffer for its whole life,
/// so memory is exactly `concurrency × 19 MiB` however many logins arrive: they queue. (Letting argon2
/// allocate per hash made the allocator keep about 77 MiB per hashing thread, measured.)
pub struct PasswordService {
    jobs: std::sync::mpsc::SyncSender<Job>,
    /// A hash to verify against when the username is unknown, so both failures take as long.
    dummy_hash: String,
}

type Job = Box<dyn FnOnce(&mut Hasher) + Send>;

const M_COST: u32 = 19_456;
const T_COST: u32 = 2;
const P_COST: u32 = 1;
const SALT_LEN: usize = 16;
const HASH_LEN: usize = 32;
/// The PHC prefix of every hash this service writes.
const PHC_PREFIX: &str = "$argon2id$v=19$m=19456,t=2,p=1$";

/// One hashing thread's argon2 instance and its reusable memory.
struct Hasher {
    argon: Argon2<'static>,
    blocks: Vec<argon2::Block>,
}

impl Hasher {
    fn new() -> OpResult<Self> {
        let params =
            Params::new(M_COST, T_COST, P_COST, Some(HASH_LEN)).map_err(OpError::internal)?;
        let blocks = vec![argon2::Block::default(); M_COST as usize];
        Ok(Self {
            argon: Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
            blocks,
        })
    }

    fn raw(&mut self, password: &[u8], salt: &[u8]) -> OpResult<[u8; HASH_LEN]> {
        let mut out = [0u8; HASH_LEN];
        self.argon
            .hash_password_into_with_memory(password, salt, &mut out, &mut self.blocks)
            .map_err(OpError::internal)?;
        Ok(out)
    }

    fn hash(&mut self, password: &[u8]) -> OpResult<String> {
        let mut salt = [0u8; SALT_LEN];
        rand::rng().fill_bytes(&mut salt);
        let out = self.raw(password, &salt)?;
        Ok(format!(
            "{PHC_PREFIX}{}${}",
            STANDARD_NO_PAD.encode(salt),
            STANDARD_NO_PAD.encode(out)
        ))
    }

    fn verify(&mut self, password: &[u8], phc: &str) -> bool {
        let ours = phc
            .strip_prefix(PHC_PREFIX)
            .and_then(|rest| rest.split_once('$'))
            .and_then(|(salt, hash)| {
                Some((
                    STANDARD_NO_PAD.decode(salt).ok()?,
                    STANDARD_NO_PAD.decode(hash).ok()?,
                ))
            });
        match ours {
            Some((salt, expected)) if expected.len() == HASH_LEN => match self.raw(password, &salt)
            {
                Ok(actual) => constant_time_eq(&actual, &expected),
                Err(_) => false,
            },
            // A hash with other parameters (older or imported) is checked the general way.
            _ => self.argon.verify_password(password, phc).is_ok(),
        }
    }
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl PasswordService {
    /// Starts `concurrency` hashing threads.
    pub fn new(concurrency: usize) -> OpResult<Self> {
        // Jobs are small closures; the bound only stops unbounded growth under abuse.
        let (jobs, queue) = std::sync::mpsc::sync_channel::<Job>(4096);
        let queue = Arc::new(std::sync::Mutex::new(queue));
        let mut first = None;
        for i in 0..concurrency.max(1) {
            let queue = Arc::clone(&queue);
            let mut hasher = Hasher::new()?;
            if first.is_none() {
                first = Some(hasher.hash(random_token(24).as_bytes())?);
            }
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    loop {
                        let job = match queue.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(&mut hasher),
                            Err(_) => return, // the service was dropped
                        }
                    }
                })
                .map_err(OpError::internal)?;
        }
        let dummy_hash = first.ok_or_else(|| OpError::internal("no hashing thread"))?;
        Ok(Self { jobs, dummy_hash })
    }

    pub async fn hash(&self, password: &Password) -> OpResult<String> {
        let password = password.expose().to_owned();
        self.run(move |h| h.hash(password.as_bytes())).await?
    }

    /// Whether `password` matches `hash`; with `None`, verifies against a dummy hash and answers false.
    pub async fn verify(&self, password: &str, hash: Option<String>) -> OpResult<bool> {
        let password = password.to_owned();
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.dummy_hash.clone());
        let ok = self
            .run(move |h| h.verify(password.as_bytes(), &hash))
            .await?;
        Ok(ok && known)
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Hasher) -> T + Send + 'static,
    ) -> OpResult<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |hasher| {
            let _ = tx.send(work(hasher));
        });
        let jobs = self.jobs.clone();
        // `send` blocks only when 4096 hashes are already queued, so it runs off the async worker.
        tokio::task::spawn_blocking(move || jobs.send(job))
            .await
            .map_err(OpError::internal)?
            .map_err(OpError::internal)?;
        rx.await
            .map_err(|_| OpError::internal("a password hashing thread stopped"))
    }
}

impl std::fmt::Debug for PasswordService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordService")
    }
}

/// An access token that fails a check of [`TokenService::decode_access`]: bad signature, wrong
/// claims, expired, or not an access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the access token is invalid or has expired")]
pub struct InvalidToken;

#[cfg(test)]
mod tests {
    use super::*;

    fn service() -> TokenService {
        let settings = AuthSettings::new(SecretString::from(
            "0123456789abcdefghijklmnopqrstuvwxyz".to_owned(),
        ));
        match TokenService::new(settings) {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn an_access_token_encodes_and_decodes_once() {
        let tokens = service();
        let token = tokens
            .issue_access(MemberId::new(7), SessionId::new(9), None)
            .map_err(|e| e.to_string());
        let decoded = token.and_then(|t| tokens.decode_access(&t).map_err(|e| e.to_string()));
        assert_eq!(
            decoded,
            Ok(Access {
                member: MemberId::new(7),
                session: SessionId::new(9),
                grant: None
            })
        );
        let grant = Grant {
            app: AppId::new(3),
            scopes: Scopes::parse("read diary").unwrap_or_default(),
        };
        let app_token = tokens
            .issue_access(MemberId::new(7), SessionId::new(9), Some(grant))
            .unwrap_or_default();
        assert_eq!(
            tokens.decode_access(&app_token).map(|a| a.grant),
            Ok(Some(grant))
        );
    }

    #[test]
    fn a_verified_token_is_remembered_only_by_its_exact_text_and_until_it_expires() {
        let tokens = service();
        let token = tokens
            .issue_access(MemberId::new(7), SessionId::new(9), None)
            .unwrap_or_default();
        assert!(tokens.decode_access(&token).is_ok());
        let now = Utc::now().timestamp();
        assert!(tokens.verified.get(&token, now).is_some());
        // One character changed is another text: decoded again, and refused.
        let mut tampered = token.clone();
        let last = if tampered.ends_with('A') { "B" } else { "A" };
        tampered.replace_range(tampered.len() - 1.., last);
        assert!(tokens.decode_access(&tampered).is_err());
        assert!(tokens.verified.get(&tampered, now).is_none());
        // Past its expiry (and the leeway) the remembered token no longer answers.
        let exp = tokens.verified.get(&token, now).map(|t| t.exp).unwrap_or(0);
        let later = exp + LEEWAY + 1;
        assert!(tokens.verified.get(&token, later).is_none());
        assert!(tokens.verified.get(&token, later - 1).is_some());
    }

    #[test]
    fn the_verified_token_memory_is_bounded() {
        let memory = VerifiedTokens::new();
        let t = VerifiedToken {
            access: Access {
                member: MemberId::new(1),
                session: SessionId::new(1),
                grant: None,
            },
            exp: i64::MAX,
        };
        for i in 0..=VerifiedTokens::CAPACITY {
            memory.put(&format!("token-{i}"), t);
        }
        let len = memory.entries.lock().map(|e| e.len()).unwrap_or(usize::MAX);
        assert!(len <= VerifiedTokens::CAPACITY, "{len}");
    }

    #[test]
    fn short_or_repetitive_keys_are_refused() {
        assert_eq!(check_signing_key(&[7u8; 31]), Err(KeyError::TooShort(31)));
        assert_eq!(check_signing_key(&[b'a'; 64]), Err(KeyError::LowEntropy));
        assert!(check_signing_key(b"0123456789abcdefghijklmnopqrstuvwxyz").is_ok());
    }

    #[test]
    fn hashes_are_standard_phc_strings_that_verify() {
        let mut hasher = match Hasher::new() {
            Ok(h) => h,
            Err(e) => panic!("{e}"),
        };
        let phc = hasher.hash(b"correct horse battery").unwrap_or_default();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(hasher.verify(b"correct horse battery", &phc));
        assert!(!hasher.verify(b"correct horse batterx", &phc));
        // The general argon2 verifier agrees, so the strings are standard.
        assert!(
            hasher
                .argon
                .verify_password(b"correct horse battery", phc.as_str())
                .is_ok()
        );
        assert!(!hasher.verify(b"x", "$argon2id$v=19$m=19456,t=2,p=1$bad"));
        assert!(!hasher.verify(b"x", "not a hash"));
    }

    #[test]
    fn successors_are_deterministic_and_distinct() {
        let tokens = service();
        let a = new_refresh_token();
        let b = new_refresh_token();
        assert_ne!(a, b);
        assert_eq!(tokens.successor_of(&a), tokens.successor_of(&a));
        assert_ne!(tokens.successor_of(&a), tokens.successor_of(&b));
        assert_eq!(URL_SAFE_NO_PAD.decode(&a).map(|v| v.len()), Ok(32));
    }
}
