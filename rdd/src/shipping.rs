//! Shipping code: the same binary on both ends, entry points by offset.
//!
//! Rust cannot serialize a closure, so Ember ships *the binary, not the
//! closure*. The driver and every executor backend run the same executable
//! (checked by SHA-256 at registration). A stage is sent as a [`StagePlan`]: the
//! stage's RDD nodes, parents first, each as the *entry point* of a decoder
//! function monomorphized for that node's concrete type (so it knows the record
//! and closure types) plus the node's serialized fields; and the stage's root
//! (a result function or a shuffle writer) in the same form.
//!
//! An entry point is the offset of the decoder from [`ember_code_anchor`], a
//! `#[no_mangle]` function in the same executable. Under ASLR the executable
//! is loaded at a different base in each process, but offsets within it are
//! the same, so `anchor + offset` in the backend is the same function as in the
//! driver.
//!
//! Invariants:
//! - Only an executable whose SHA-256 equals the driver's may decode a plan
//!   (enforced by the backend at registration); a plan from any other binary
//!   would make `resolve` jump to an arbitrary address.
//! - Lineage is walked with an explicit stack and nodes are decoded in a loop,
//!   so a 10,000-deep lineage neither overflows the stack on the driver nor in
//!   the backend.

use crate::Data;
use crate::code_objects::{self, CodeObject, Located};
use crate::error::{EmberError, TaskError};
use crate::ids::RddId;
use crate::rdd::{Dependency, RddBase, RddMeta, RddNode, RddRef, StageRoot};
use crate::storage::StorageLevel;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use std::any::Any;
use std::collections::HashMap;
use std::sync::Arc;

/// The fixed point from which entry points are measured.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "C" fn ember_code_anchor() -> u64 {
    // A distinctive body, so that identical-code folding cannot merge the
    // anchor with another function.
    0x454D_4245_525F_4143
}

fn anchor_address() -> usize {
    ember_code_anchor as *const () as usize
}

/// A function of the application: an offset from [`ember_code_anchor`] in
/// the main executable, or from the load bias of a code object (a REPL
/// cell's shared object, see [`crate::code_objects`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryPoint {
    /// `None`: the main executable.
    object: Option<CodeObject>,
    offset: i64,
}

impl EntryPoint {
    fn of(addr: usize) -> Result<Self, EmberError> {
        match code_objects::locate(addr).map_err(|e| EmberError::Executor(format!("cannot ship code: {e}")))? {
            Located::Main => Ok(EntryPoint { object: None, offset: addr as i64 - anchor_address() as i64 }),
            Located::Object { object, offset } => {
                Ok(EntryPoint { object: Some((*object).clone()), offset: offset as i64 })
            }
        }
    }

    fn address(&self, objects: &ObjectFiles) -> Result<usize, TaskError> {
        match &self.object {
            None => Ok((anchor_address() as i64 + self.offset) as usize),
            Some(object) => {
                let bias = code_objects::bias_of(object, &objects.candidates(object))?;
                Ok((bias as i64 + self.offset) as usize)
            }
        }
    }

    /// The code object this entry point is in (`None`: the main executable).
    pub fn object(&self) -> Option<&CodeObject> {
        self.object.as_ref()
    }
}

/// Where a backend finds the code objects that entry points name: the
/// driver's path on this host (a `local-cluster` backend), or a copy the
/// driver shipped (`<dir>/<sha256>.so`). A backend whose driver ships its
/// objects (a daemon's) uses only the shipped copies.
#[derive(Default, Clone)]
pub struct ObjectFiles {
    dir: Option<std::path::PathBuf>,
    shipped_only: bool,
}

impl ObjectFiles {
    /// Copies in `dir`, besides the driver's paths.
    pub fn in_dir(dir: std::path::PathBuf) -> Self {
        ObjectFiles { dir: Some(dir), shipped_only: false }
    }

    /// Only the copies in `dir` (the driver is on another host, or may be).
    pub fn shipped_to(dir: std::path::PathBuf) -> Self {
        ObjectFiles { dir: Some(dir), shipped_only: true }
    }

    /// Where the shipped copy of the object with this hash is, or would be.
    pub fn shipped_copy(&self, sha256: &str) -> Option<std::path::PathBuf> {
        self.dir.as_ref().map(|d| d.join(format!("{sha256}.so")))
    }

    /// The files that may hold `object`, in the order to try them.
    pub fn candidates(&self, object: &CodeObject) -> Vec<std::path::PathBuf> {
        let driver_path = (!self.shipped_only).then(|| object.path.clone());
        driver_path.into_iter().chain(self.shipped_copy(&object.sha256).filter(|p| p.is_file())).collect()
    }
}

/// A decoded RDD node, erased: a `RddRef<T>` in a box.
pub type ErasedNode = Box<dyn Any + Send + Sync>;

type DecodeNodeFn = fn(&NodeSpec, &[&ErasedNode]) -> Result<ErasedNode, TaskError>;
type DecodeRootFn = fn(&[u8], &ErasedNode) -> Result<Arc<dyn StageRoot>, TaskError>;

/// One RDD node of a plan.
#[derive(Serialize, Deserialize)]
pub struct NodeSpec {
    pub rdd: RddId,
    pub storage: StorageLevel,
    decode: EntryPoint,
    payload: Vec<u8>,
    /// Indices of the narrow parents in `StagePlan::nodes`, in dependency order.
    parents: Vec<u32>,
}

/// Everything a backend needs to run the tasks of one stage.
#[derive(Serialize, Deserialize)]
pub struct StagePlan {
    /// Parents before children.
    nodes: Vec<NodeSpec>,
    root_decode: EntryPoint,
    root_payload: Vec<u8>,
    /// Index of the root's RDD in `nodes`.
    root_node: u32,
}

/// A node type that can be rebuilt in another process from its fields.
pub trait ShippedNode: RddNode<Self::Item> + Sized {
    type Item: Data;
    /// Serializes this node's own fields (not its parents).
    fn write_fields(&self) -> Result<Vec<u8>, EmberError>;
    /// Rebuilds the node from its fields and its narrow parents.
    fn rebuild(meta: RddMeta, fields: &[u8], parents: &Parents<'_>) -> Result<Self, TaskError>;
}

/// A stage root type that can be rebuilt in another process.
pub trait ShippedRoot: StageRoot + Sized {
    type Input: Data;
    fn write_fields(&self) -> Result<Vec<u8>, EmberError>;
    fn rebuild(fields: &[u8], input: RddRef<Self::Input>) -> Result<Self, TaskError>;
}

/// The decoded parents handed to [`ShippedNode::rebuild`].
pub struct Parents<'a>(&'a [&'a ErasedNode]);

impl Parents<'_> {
    /// The `i`-th narrow parent, which must have records of type `T`.
    pub fn get<T: Data>(&self, i: usize) -> Result<RddRef<T>, TaskError> {
        self.0
            .get(i)
            .and_then(|p| p.downcast_ref::<RddRef<T>>())
            .cloned()
            .ok_or_else(|| TaskError::engine(format!("stage plan: parent {i} missing or of the wrong type")))
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Encodes a node: its decoder's entry point and its fields.
pub fn encode_node<N: ShippedNode>(node: &N) -> Result<(EntryPoint, Vec<u8>), EmberError> {
    let decode: DecodeNodeFn = decode_node::<N>;
    Ok((EntryPoint::of(decode as *const () as usize)?, node.write_fields()?))
}

/// Encodes a stage root.
pub fn encode_root<R: ShippedRoot>(root: &R) -> Result<(EntryPoint, Vec<u8>), EmberError> {
    let decode: DecodeRootFn = decode_root::<R>;
    Ok((EntryPoint::of(decode as *const () as usize)?, root.write_fields()?))
}

fn decode_node<N: ShippedNode>(spec: &NodeSpec, parents: &[&ErasedNode]) -> Result<ErasedNode, TaskError> {
    let meta = RddMeta::with_level(spec.rdd, spec.storage);
    let node = N::rebuild(meta, &spec.payload, &Parents(parents))?;
    let node: Arc<dyn RddNode<N::Item>> = Arc::new(node);
    Ok(Box::new(RddRef::new(node)))
}

fn decode_root<R: ShippedRoot>(fields: &[u8], input: &ErasedNode) -> Result<Arc<dyn StageRoot>, TaskError> {
    let input = input
        .downcast_ref::<RddRef<R::Input>>()
        .cloned()
        .ok_or_else(|| TaskError::engine("stage plan: root input of the wrong type"))?;
    Ok(Arc::new(R::rebuild(fields, input)?))
}

/// Serializes a value into a node's fields.
pub fn to_fields<T: Serialize>(value: &T) -> Result<Vec<u8>, EmberError> {
    Ok(postcard::to_allocvec(value)?)
}

/// Deserializes a node's fields.
pub fn from_fields<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, TaskError> {
    postcard::from_bytes(bytes).map_err(|e| TaskError::engine(format!("stage plan: bad node fields: {e}")))
}

impl StagePlan {
    /// Builds the plan of the stage ending in `root`: its RDD and every RDD
    /// reachable from it through narrow dependencies.
    pub fn build(root: &dyn StageRoot) -> Result<StagePlan, EmberError> {
        let nodes_in_order = narrow_lineage_post_order(root.rdd());
        let index_of: HashMap<RddId, u32> =
            nodes_in_order.iter().enumerate().map(|(i, n)| (n.id(), i as u32)).collect();
        let mut nodes = Vec::with_capacity(nodes_in_order.len());
        for node in &nodes_in_order {
            let (decode, payload) = node.encode()?;
            let parents = node
                .dependencies()
                .iter()
                .filter_map(|d| match d {
                    Dependency::Narrow { rdd, .. } => Some(index_of[&rdd.id()]),
                    Dependency::Shuffle(_) => None,
                })
                .collect();
            nodes.push(NodeSpec { rdd: node.id(), storage: node.meta().storage_level(), decode, payload, parents });
        }
        let (root_decode, root_payload) = root.encode()?;
        let root_node = index_of[&root.rdd().id()];
        Ok(StagePlan { nodes, root_decode, root_payload, root_node })
    }

    /// The code objects (other than the main executable) this plan's entry
    /// points are in, each once.
    pub fn code_objects(&self) -> Vec<CodeObject> {
        let mut seen = std::collections::HashSet::new();
        self.nodes
            .iter()
            .map(|n| &n.decode)
            .chain(std::iter::once(&self.root_decode))
            .filter_map(EntryPoint::object)
            .filter(|o| seen.insert(o.sha256.clone()))
            .cloned()
            .collect()
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>, EmberError> {
        Ok(postcard::to_allocvec(self)?)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<StagePlan, TaskError> {
        postcard::from_bytes(bytes).map_err(|e| TaskError::engine(format!("stage plan is corrupt: {e}")))
    }

    /// Rebuilds the stage's root, and through it the stage's RDD nodes.
    ///
    /// # Safety
    /// The plan must have been built by a process running the very same
    /// executable as this one; its entry points are then offsets of decoder
    /// functions of this executable with exactly the signatures called here.
    pub unsafe fn decode(&self, objects: &ObjectFiles) -> Result<Arc<dyn StageRoot>, TaskError> {
        let mut decoded: Vec<ErasedNode> = Vec::with_capacity(self.nodes.len());
        for (i, spec) in self.nodes.iter().enumerate() {
            let parents: Vec<&ErasedNode> = spec
                .parents
                .iter()
                .map(|&p| decoded.get(p as usize).filter(|_| (p as usize) < i))
                .collect::<Option<_>>()
                .ok_or_else(|| TaskError::engine("stage plan: a node precedes its parent"))?;
            // SAFETY: per this function's contract, `spec.decode` was made by
            // `encode_node` in the same executable, so its address is that of
            // a `decode_node::<N>` with signature `DecodeNodeFn`.
            let decode: DecodeNodeFn =
                unsafe { std::mem::transmute::<usize, DecodeNodeFn>(spec.decode.address(objects)?) };
            let node = decode(spec, &parents)?;
            decoded.push(node);
        }
        let input = decoded
            .get(self.root_node as usize)
            .ok_or_else(|| TaskError::engine("stage plan: root node out of range"))?;
        // SAFETY: as above, made by `encode_root` in the same executable.
        let decode: DecodeRootFn =
            unsafe { std::mem::transmute::<usize, DecodeRootFn>(self.root_decode.address(objects)?) };
        decode(&self.root_payload, input)
    }
}

/// Every RDD reachable from `start` through narrow dependencies, parents
/// before children, each once. Walks with an explicit stack (never recursion)
/// so that a 10,000-step lineage cannot overflow the thread's stack.
pub fn narrow_lineage_post_order(start: Arc<dyn RddBase>) -> Vec<Arc<dyn RddBase>> {
    let mut order = Vec::new();
    let mut done = std::collections::HashSet::new();
    // (node, whether its parents have been pushed already)
    let mut stack: Vec<(Arc<dyn RddBase>, bool)> = vec![(start, false)];
    while let Some((node, expanded)) = stack.pop() {
        if done.contains(&node.id()) {
            continue;
        }
        if expanded {
            done.insert(node.id());
            order.push(node);
            continue;
        }
        let parents: Vec<Arc<dyn RddBase>> = node
            .dependencies()
            .into_iter()
            .filter_map(|d| match d {
                Dependency::Narrow { rdd, .. } => Some(rdd),
                Dependency::Shuffle(_) => None,
            })
            .collect();
        stack.push((node, true));
        for p in parents.into_iter().rev() {
            if !done.contains(&p.id()) {
                stack.push((p, false));
            }
        }
    }
    order
}
