//! The host of an interactive application's backend.
//!
//! A compiled driver program is started again as its own backend. A REPL's
//! driver cannot be: its process is the REPL's runner (evcxr), and Ember's
//! code is in the shared object of the cell that created the context (see
//! `ember_rdd::code_objects` and ADR 0009). Its backends are therefore this
//! host — the `ember-executor` binary started with
//! [`ENV_BACKEND_OBJECT`] set — which checks the object's SHA-256, loads it,
//! and calls its exported `ember_hosted_backend_main`: from then on the
//! backend runs the object's own copy of Ember, exactly the code the driver
//! runs, and loads the objects of later cells as their stages arrive.

use crate::backend::{ENV_BACKEND_OBJECT, ENV_BACKEND_OBJECT_SHA256};
use std::ffi::{CStr, CString};
use std::path::Path;

/// The function every object holding Ember exports for a host to call.
pub const HOSTED_ENTRY: &str = "ember_hosted_backend_main";

/// Runs the hosted backend, and never returns, if this process was started
/// as one; returns at once otherwise.
pub fn run_if_requested() {
    let Some(object) = std::env::var_os(ENV_BACKEND_OBJECT) else { return };
    let expected = std::env::var(ENV_BACKEND_OBJECT_SHA256).unwrap_or_default();
    let why = match host(Path::new(&object), &expected) {
        Ok(never) => match never {},
        Err(why) => why,
    };
    eprintln!("ember executor backend host: {why}");
    std::process::exit(1);
}

enum Never {}

fn host(object: &Path, expected_sha256: &str) -> Result<Never, String> {
    let actual = ember_rdd::code_objects::file_sha256(object).map_err(|e| e.to_string())?;
    if actual != expected_sha256 {
        return Err(format!(
            "{} has SHA-256 {actual}, not the driver's {expected_sha256}: it changed since the driver loaded it",
            object.display()
        ));
    }
    let c_path = CString::new(object.as_os_str().as_encoded_bytes())
        .map_err(|_| format!("{} holds a NUL byte", object.display()))?;
    // SAFETY: `c_path` is a valid C string; the object's load-time hook sees
    // EMBER_BACKEND_OBJECT and returns without starting anything.
    let handle = unsafe { libc::dlopen(c_path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    if handle.is_null() {
        return Err(format!("cannot load {}: {}", object.display(), last_dl_error()));
    }
    let name = CString::new(HOSTED_ENTRY).map_err(|e| e.to_string())?;
    // SAFETY: `handle` is a live handle from dlopen and `name` a C string.
    let entry = unsafe { libc::dlsym(handle, name.as_ptr()) };
    if entry.is_null() {
        return Err(format!("{} does not export {HOSTED_ENTRY}: it holds no Ember driver", object.display()));
    }
    // SAFETY: every object holding the `ember` crate exports
    // `ember_hosted_backend_main` as `extern "C" fn() -> !`; the hash check
    // above makes this the very object the driver runs.
    let entry: extern "C" fn() -> ! = unsafe { std::mem::transmute::<*mut libc::c_void, extern "C" fn() -> !>(entry) };
    entry()
}

fn last_dl_error() -> String {
    // SAFETY: dlerror returns null or a C string valid until the next dl call.
    unsafe {
        let e = libc::dlerror();
        if e.is_null() { "unknown error".into() } else { CStr::from_ptr(e).to_string_lossy().into_owned() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_object_whose_hash_changed_is_refused_before_loading() {
        let exe = std::env::current_exe().unwrap();
        let Err(why) = host(&exe, &"0".repeat(64));
        assert!(why.contains("not the driver's") && why.contains(&exe.display().to_string()), "{why}");
    }

    #[test]
    fn a_missing_object_is_named() {
        let Err(why) = host(Path::new("/nonexistent/libcode_9.so"), "x");
        assert!(why.contains("/nonexistent/libcode_9.so"), "{why}");
    }

    #[test]
    fn an_object_without_ember_is_named() {
        // libc is loaded and its hash is real, but it exports no hosted entry.
        let addr = libc::getpid as *const () as usize;
        if let Ok(ember_rdd::code_objects::Located::Object { object, .. }) = ember_rdd::code_objects::locate(addr) {
            let Err(why) = host(&object.path, &object.sha256);
            assert!(why.contains(HOSTED_ENTRY), "{why}");
        }
    }
}
