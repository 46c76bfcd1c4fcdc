//! Code objects: where the functions a stage plan names live.
//!
//! A compiled driver program is one executable, and an entry point is an
//! offset from [`crate::shipping::ember_code_anchor`] in it. In a REPL or a
//! notebook (evcxr) there is no such executable: each cell is compiled into
//! a shared object (`code_<n>.so`) that the runner process loads, and the
//! closures of a cell — with the decoders monomorphized for them — live in
//! that cell's object. So an entry point also names its *code object*: the
//! main executable, or a loaded shared object identified by the SHA-256 of
//! its file, and the address is then an offset from that object's load bias
//! (the value the dynamic loader added to its virtual addresses; under ASLR it
//! differs per process, the offsets within the object do not). See ADR 0009.
//!
//! Both sides use `dl_iterate_phdr`, which lists the program and every
//! loaded object with its address ranges: the driver finds which object
//! holds a decoder, the backend finds (or `dlopen`s) the object with the
//! named hash and adds the offset to its bias.
//!
//! Invariants:
//! - An object is identified by the SHA-256 of its file, computed once per
//!   loaded object; the backend loads a file only after hashing it, so a
//!   changed or different file is refused, never jumped into.
//! - Objects are never unloaded (evcxr never unloads a cell either): an
//!   address resolved once stays valid for the life of the process.

use crate::error::TaskError;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::ffi::{CStr, CString, c_void};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// A loaded shared object that holds code of the application.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CodeObject {
    /// SHA-256 of the file, hex.
    pub sha256: String,
    /// Where the driver loaded it from (a backend on the same host loads
    /// the same file after checking its hash).
    pub path: PathBuf,
}

/// One loaded object as the dynamic loader reports it.
#[derive(Clone, Debug)]
struct Mapping {
    /// Empty for the main program.
    name: PathBuf,
    bias: usize,
    /// Address ranges of its loadable segments.
    ranges: Vec<(usize, usize)>,
    is_main: bool,
}

fn loaded_mappings() -> Vec<Mapping> {
    unsafe extern "C" fn visit(info: *mut libc::dl_phdr_info, _size: libc::size_t, data: *mut c_void) -> libc::c_int {
        // SAFETY: `data` is the `&mut Vec<Mapping>` passed below, alive for the
        // whole iteration; `info` and its program headers are valid during
        // this callback (dl_iterate_phdr's contract).
        unsafe {
            let out = &mut *(data as *mut Vec<Mapping>);
            let info = &*info;
            let name = if info.dlpi_name.is_null() {
                PathBuf::new()
            } else {
                PathBuf::from(CStr::from_ptr(info.dlpi_name).to_string_lossy().into_owned())
            };
            let bias = info.dlpi_addr as usize;
            let headers = std::slice::from_raw_parts(info.dlpi_phdr, info.dlpi_phnum as usize);
            let ranges = headers
                .iter()
                .filter(|h| h.p_type == libc::PT_LOAD)
                .map(|h| (bias + h.p_vaddr as usize, bias + (h.p_vaddr + h.p_memsz) as usize))
                .collect();
            let is_main = out.is_empty();
            out.push(Mapping { name, bias, ranges, is_main });
        }
        0
    }
    let mut out: Vec<Mapping> = Vec::new();
    // SAFETY: `visit` matches the callback type and only writes to `out`.
    unsafe {
        libc::dl_iterate_phdr(Some(visit), &mut out as *mut Vec<Mapping> as *mut c_void);
    }
    out
}

/// What this process knows of its objects: by path (for the driver's side)
/// and by hash (for the backend's side).
#[derive(Default)]
struct Registry {
    by_path: HashMap<PathBuf, (Arc<CodeObject>, usize)>,
    bias_by_hash: HashMap<String, usize>,
}

fn registry() -> &'static Mutex<Registry> {
    static REGISTRY: OnceLock<Mutex<Registry>> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

/// Where an address is: in the main program, or at `offset` from the bias of
/// a loaded object.
pub enum Located {
    Main,
    Object { object: Arc<CodeObject>, offset: usize },
}

/// Finds the object that holds `addr` (a function of this process).
pub fn locate(addr: usize) -> Result<Located, std::io::Error> {
    let mapping = loaded_mappings()
        .into_iter()
        .find(|m| m.ranges.iter().any(|&(lo, hi)| (lo..hi).contains(&addr)))
        .ok_or_else(|| std::io::Error::other(format!("no loaded object holds address {addr:#x}")))?;
    if mapping.is_main {
        return Ok(Located::Main);
    }
    let mut reg = registry().lock().unwrap_or_else(|p| p.into_inner());
    if let Some((object, bias)) = reg.by_path.get(&mapping.name)
        && *bias == mapping.bias
    {
        return Ok(Located::Object { object: object.clone(), offset: addr - bias });
    }
    let sha256 = file_sha256(&mapping.name)?;
    let object = Arc::new(CodeObject { sha256: sha256.clone(), path: mapping.name.clone() });
    reg.by_path.insert(mapping.name.clone(), (object.clone(), mapping.bias));
    reg.bias_by_hash.insert(sha256, mapping.bias);
    Ok(Located::Object { object, offset: addr - mapping.bias })
}

/// The object that holds this copy of Ember's code: `None` when it is the
/// main executable (a compiled driver program), the cell object otherwise.
pub fn own_object() -> Result<Option<Arc<CodeObject>>, std::io::Error> {
    let addr = own_object as *const () as usize;
    Ok(match locate(addr)? {
        Located::Main => None,
        Located::Object { object, .. } => Some(object),
    })
}

/// The address of `symbol` in the *primary* copy of Ember in this process,
/// when this copy is not it; `None` when it is (always, in a compiled
/// program).
///
/// In a REPL each cell's object holds its own copy of Ember (ADR 0009), and
/// a thread-local of one copy is invisible to the others: the task a backend
/// runs is installed by the copy that runs the backend, but read by the
/// closures of whichever cell defined them. So such per-thread state lives
/// in one copy — the earliest-loaded object that exports `symbol` — and the
/// others reach it through that exported function.
pub fn primary_symbol(symbol: &CStr) -> Option<usize> {
    let own = own_object().ok().flatten()?;
    for mapping in loaded_mappings().into_iter().filter(|m| !m.is_main) {
        let Ok(name) = CString::new(mapping.name.as_os_str().as_encoded_bytes()) else { continue };
        // SAFETY: RTLD_NOLOAD only returns a handle to an object already
        // loaded (no constructor runs); the handle is closed right after
        // the lookup, which leaves the object loaded as it was.
        let addr = unsafe {
            let handle = libc::dlopen(name.as_ptr(), libc::RTLD_LAZY | libc::RTLD_NOLOAD);
            if handle.is_null() {
                continue;
            }
            let addr = libc::dlsym(handle, symbol.as_ptr());
            libc::dlclose(handle);
            addr as usize
        };
        if addr == 0 {
            continue;
        }
        return (mapping.name != own.path).then_some(addr);
    }
    None
}

/// Runs `f` on this thread's value of `local` in the primary copy of Ember
/// (see [`primary_symbol`]): this copy's own in a compiled program.
///
/// `exported` names a `#[no_mangle] extern "C" fn() -> *const T` that every
/// copy defines beside `local`, returning `local`'s address for the calling
/// thread; `primary` caches where the primary copy's one is.
pub fn with_shared_thread_local<T: 'static, R>(
    local: &'static std::thread::LocalKey<T>,
    exported: &CStr,
    primary: &OnceLock<Option<usize>>,
    f: impl FnOnce(&T) -> R,
) -> R {
    match *primary.get_or_init(|| primary_symbol(exported)) {
        None => local.with(f),
        Some(addr) => {
            // SAFETY: `addr` is the `exported` function of another copy of
            // this crate, compiled from the same source by the same compiler
            // (ADR 0009), so it has the signature `extern "C" fn() -> *const
            // T` and returns that copy's value of the calling thread, which
            // lives as long as the thread.
            let value = unsafe {
                let get = std::mem::transmute::<usize, extern "C" fn() -> *const T>(addr);
                &*get()
            };
            f(value)
        }
    }
}

/// SHA-256 (hex) of a file.
pub fn file_sha256(path: &Path) -> Result<String, std::io::Error> {
    use sha2::{Digest, Sha256};
    let mut file =
        std::fs::File::open(path).map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher)
        .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    Ok(format!("{:x}", hasher.finalize()))
}

/// The load bias of the object with `object.sha256` in this process, loading
/// it first if needed from the first of `candidates` whose hash is right
/// (the driver's path on this host, a shipped copy); an error names each
/// candidate and why it was refused.
pub fn bias_of(object: &CodeObject, candidates: &[PathBuf]) -> Result<usize, TaskError> {
    if let Some(&bias) = registry().lock().unwrap_or_else(|p| p.into_inner()).bias_by_hash.get(&object.sha256) {
        return Ok(bias);
    }
    // Already loaded from one of the candidates (by someone else)?
    for mapping in loaded_mappings().into_iter().filter(|m| !m.is_main && candidates.contains(&m.name)) {
        if file_sha256(&mapping.name).ok().as_deref() == Some(object.sha256.as_str()) {
            return Ok(remember(object, mapping.bias));
        }
    }
    let mut refused = Vec::new();
    for path in candidates {
        match file_sha256(path) {
            Ok(sha) if sha == object.sha256 => return load(path).map(|bias| remember(object, bias)),
            Ok(sha) => refused.push(format!("{} has SHA-256 {sha}", path.display())),
            Err(e) => refused.push(e.to_string()),
        }
    }
    if candidates.is_empty() {
        refused.push("no copy was shipped to this executor".to_string());
    }
    Err(TaskError::engine(format!(
        "code object {} (SHA-256 {}) is not available here: {}",
        object.path.display(),
        object.sha256,
        refused.join("; ")
    )))
}

/// The Rust runtime library (`libstd-<hash>.so`) loaded in this process, if
/// any: what a cell object built with `-C prefer-dynamic` needs besides the
/// system's libraries, and what a remote host of it must be given.
pub fn runtime_library() -> Option<PathBuf> {
    loaded_mappings().into_iter().map(|m| m.name).find(|name| {
        name.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("libstd-") && n.ends_with(".so"))
    })
}

fn remember(object: &CodeObject, bias: usize) -> usize {
    registry().lock().unwrap_or_else(|p| p.into_inner()).bias_by_hash.insert(object.sha256.clone(), bias);
    bias
}

/// `dlopen`s a shared object (never closed) and returns its load bias.
fn load(path: &Path) -> Result<usize, TaskError> {
    let c_path = CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| TaskError::engine(format!("code object path {} holds a NUL byte", path.display())))?;
    // SAFETY: `c_path` is a valid C string. Loading runs the object's
    // constructors: a cell object's only one is Ember's backend hook, which
    // returns at once in a hosted backend (EMBER_BACKEND_OBJECT is set).
    let handle = unsafe { libc::dlopen(c_path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    if handle.is_null() {
        // SAFETY: dlerror returns a thread-local C string or null.
        let why = unsafe {
            let e = libc::dlerror();
            if e.is_null() { "unknown error".to_string() } else { CStr::from_ptr(e).to_string_lossy().into_owned() }
        };
        return Err(TaskError::engine(format!("cannot load code object {}: {why}", path.display())));
    }
    let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    loaded_mappings()
        .into_iter()
        .find(|m| !m.is_main && (m.name == path || std::fs::canonicalize(&m.name).ok().as_ref() == Some(&canonical)))
        .map(|m| m.bias)
        .ok_or_else(|| TaskError::engine(format!("code object {} loaded but not listed", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions_of_a_program_are_in_the_main_executable() {
        // A test binary links Ember statically: its own functions are in the
        // main program, so entry points keep the executable's anchor.
        assert!(matches!(locate(file_sha256 as *const () as usize).unwrap(), Located::Main));
        assert!(own_object().unwrap().is_none());
    }

    #[test]
    fn a_function_of_a_shared_library_is_located_in_it_by_hash() {
        // libc's `getpid` is in libc.so (or the program itself when linked
        // statically, in which case there is nothing to check).
        let addr = libc::getpid as *const () as usize;
        if let Located::Object { object, offset } = locate(addr).unwrap() {
            assert_eq!(object.sha256, file_sha256(&object.path).unwrap());
            assert_eq!(bias_of(&object, std::slice::from_ref(&object.path)).unwrap() + offset, addr);
        }
    }

    #[test]
    fn a_file_with_another_hash_is_refused_and_named() {
        let object = CodeObject { sha256: "0".repeat(64), path: std::env::current_exe().unwrap() };
        let err = bias_of(&object, std::slice::from_ref(&object.path)).unwrap_err().to_string();
        assert!(err.contains("is not available here") && err.contains("has SHA-256"), "{err}");
    }

    #[test]
    fn a_backend_given_shipped_objects_never_loads_the_drivers_path() {
        use crate::shipping::ObjectFiles;
        let dir = tempfile::tempdir().unwrap();
        let object = CodeObject { sha256: "ab".repeat(32), path: std::env::current_exe().unwrap() };
        let same_host = ObjectFiles::in_dir(dir.path().to_path_buf());
        let shipped = ObjectFiles::shipped_to(dir.path().to_path_buf());
        assert_eq!(same_host.candidates(&object), vec![object.path.clone()]);
        assert!(shipped.candidates(&object).is_empty(), "nothing shipped yet");
        let err = bias_of(&object, &shipped.candidates(&object)).unwrap_err().to_string();
        assert!(err.contains("no copy was shipped to this executor"), "{err}");
        // A shipped copy with the wrong content is refused, not loaded.
        let copy = shipped.shipped_copy(&object.sha256).unwrap();
        std::fs::write(&copy, b"not the object").unwrap();
        assert_eq!(shipped.candidates(&object), vec![copy.clone()]);
        let err = bias_of(&object, &shipped.candidates(&object)).unwrap_err().to_string();
        assert!(err.contains(&format!("{} has SHA-256", copy.display())), "{err}");
    }
}
