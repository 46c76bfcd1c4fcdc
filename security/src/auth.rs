//! The shared secret's proof and the random tokens of the cluster protocol.
//!
//! A daemon hands a driver a fresh nonce; the driver answers with
//! HMAC-SHA256(secret, nonce ‖ app_id ‖ exe_sha256) ([`proof`]), so the
//! secret never crosses the network and the answer binds the application
//! and the binary it will run. Tokens (tickets, backend and shuffle tokens)
//! are random hex ([`random_hex`]) and compared in constant time.

use hmac::{Hmac, Mac};
use rand::RngExt;
use sha2::Sha256;

/// The answer a driver gives to `nonce`.
pub fn proof(secret: &[u8], nonce: &[u8], app_id: &str, exe_sha256: &str) -> Vec<u8> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret).unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(nonce);
    mac.update(app_id.as_bytes());
    mac.update(exe_sha256.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// Compares without leaking, through timing, how much of `a` matches `b`.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Random bytes, hex-encoded (nonces, tickets, backend tokens).
pub fn random_hex(bytes: usize) -> String {
    let mut rng = rand::rng();
    let buf: Vec<u8> = (0..bytes).map(|_| rng.random()).collect();
    hex::encode(buf)
}
