//! Driver authentication: challenge and response with a shared secret.
//!
//! The daemon hands out a fresh random nonce (`Challenge`); the driver answers
//! with HMAC-SHA256(secret, nonce ‖ app_id ‖ exe_sha256) (`Prepare`). The
//! secret never crosses the network, a nonce is good for one answer within a
//! minute, and the answer binds the application and the binary it will run.

pub use ember_security::auth::{constant_time_eq, proof, random_hex};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a nonce can be answered.
pub const NONCE_TTL: Duration = Duration::from_secs(60);

/// The daemon's side: outstanding nonces and the secret (None = insecure).
pub struct Authenticator {
    secret: Option<Vec<u8>>,
    nonces: Mutex<HashMap<Vec<u8>, Instant>>,
}

impl Authenticator {
    pub fn new(secret: Option<Vec<u8>>) -> Self {
        Authenticator { secret, nonces: Mutex::new(HashMap::new()) }
    }

    pub fn challenge(&self) -> Vec<u8> {
        let nonce = random_hex(32).into_bytes();
        let mut nonces = self.nonces.lock().unwrap_or_else(|p| p.into_inner());
        nonces.retain(|_, issued| issued.elapsed() < NONCE_TTL);
        nonces.insert(nonce.clone(), Instant::now());
        nonce
    }

    /// Checks a driver's answer; each nonce can be used once.
    pub fn verify(&self, nonce: &[u8], answer: &[u8], app_id: &str, exe_sha256: &str) -> Result<(), String> {
        let Some(secret) = &self.secret else { return Ok(()) };
        let issued = self.nonces.lock().unwrap_or_else(|p| p.into_inner()).remove(nonce);
        match issued {
            Some(at) if at.elapsed() < NONCE_TTL => {}
            _ => return Err("unknown or expired challenge; ask for a new one".into()),
        }
        if answer.is_empty() {
            return Err("no secret: this daemon requires one; give the driver the daemons' shared secret in \
                        ember.auth.secretFile (else EMBER_AUTH_SECRET)"
                .into());
        }
        if constant_time_eq(&proof(secret, nonce, app_id, exe_sha256), answer) {
            Ok(())
        } else {
            Err("wrong secret: the driver's secret (its ember.auth.secretFile, else EMBER_AUTH_SECRET) does not \
                 match this daemon's"
                .into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_right_answer_passes_once_and_a_wrong_one_never() {
        let auth = Authenticator::new(Some(b"s3cret".to_vec()));
        let nonce = auth.challenge();
        let good = proof(b"s3cret", &nonce, "app", "abc");
        let wrong = auth.verify(&nonce, &proof(b"other", &nonce, "app", "abc"), "app", "abc").unwrap_err();
        assert!(wrong.contains("ember.auth.secretFile, else EMBER_AUTH_SECRET"), "{wrong}");
        // A driver without a secret answers nothing.
        let nonce = auth.challenge();
        let missing = auth.verify(&nonce, b"", "app", "abc").unwrap_err();
        assert!(missing.starts_with("no secret: this daemon requires one"), "{missing}");
        assert!(wrong.starts_with("wrong secret"), "{wrong}");
        // The failed attempt consumed the nonce.
        assert!(auth.verify(&nonce, &good, "app", "abc").is_err());
        let nonce = auth.challenge();
        let good = proof(b"s3cret", &nonce, "app", "abc");
        assert!(auth.verify(&nonce, &good, "app", "other-binary").is_err());
        let nonce = auth.challenge();
        let good = proof(b"s3cret", &nonce, "app", "abc");
        assert!(auth.verify(&nonce, &good, "app", "abc").is_ok());
        assert!(auth.verify(&nonce, &good, "app", "abc").is_err(), "replay");
        assert!(Authenticator::new(None).verify(b"x", b"", "app", "abc").is_ok());
    }
}
