//! Serving this backend's map outputs to reducers elsewhere (`FetchShuffle`).
//!
//! Every asked map output must be here, or the call fails at once with
//! NOT_FOUND and the missing map indices in a `MissingMapOutputs` detail,
//! which the reducer turns into a typed fetch failure. Blocks are then read
//! from their files on a blocking thread, in pieces of at most
//! [`PIECE_BYTES`], small pieces sharing a message, and sent through a
//! channel of two messages: a slow reducer holds the reading back instead
//! of this backend buffering its blocks.

use crate::shuffle_store::{LocalBlock, ShuffleStore, StoredMapOutput};
use ember_proto::v1 as pb;
use ember_rdd::ids::ShuffleId;
use prost::Message;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Code, Status};

/// The most bytes of one piece, and about the most of one message.
pub const PIECE_BYTES: usize = 256 << 10;

pub type ChunkStream = ReceiverStream<Result<pb::ShuffleChunks, Status>>;

/// Streams block `reduce` of each of `maps` (in that order) from `store`.
pub fn serve_blocks(
    store: &ShuffleStore,
    shuffle: ShuffleId,
    reduce: u32,
    maps: Vec<u32>,
) -> Result<ChunkStream, Status> {
    let mut outputs = Vec::with_capacity(maps.len());
    let mut missing = Vec::new();
    for map in maps {
        match store.get(shuffle, map as usize) {
            Some(output) => outputs.push((map, output)),
            None => missing.push(map),
        }
    }
    if !missing.is_empty() {
        let message = format!("{shuffle} map outputs {missing:?} are not on this backend");
        let details = pb::MissingMapOutputs { map_indices: missing }.encode_to_vec();
        return Err(Status::with_details(Code::NotFound, message, details.into()));
    }
    let (tx, rx) = mpsc::channel(2);
    tokio::task::spawn_blocking(move || send_blocks(outputs, reduce, tx));
    Ok(ReceiverStream::new(rx))
}

/// Reads the blocks and sends them, until done or the reducer goes away.
fn send_blocks(
    outputs: Vec<(u32, Arc<StoredMapOutput>)>,
    reduce: u32,
    tx: mpsc::Sender<Result<pb::ShuffleChunks, Status>>,
) {
    let mut message = pb::ShuffleChunks::default();
    let mut message_bytes = 0;
    for (map, output) in outputs {
        let unreadable = |e: std::io::Error, output: &StoredMapOutput| {
            Status::internal(format!("cannot read {}: {e}", output.path().display()))
        };
        let mut block = match LocalBlock::new(output.clone(), reduce) {
            Ok(b) => b,
            Err(e) => {
                let _ = tx.blocking_send(Err(unreadable(e, &output)));
                return;
            }
        };
        loop {
            let mut data = Vec::new();
            if let Err(e) = block.read_piece(&mut data, PIECE_BYTES) {
                let _ = tx.blocking_send(Err(unreadable(e, &output)));
                return;
            }
            let last = block.remaining() == 0;
            message_bytes += data.len();
            message.chunks.push(pb::ShuffleChunk { map_index: map, data, last });
            if message_bytes >= PIECE_BYTES {
                if tx.blocking_send(Ok(std::mem::take(&mut message))).is_err() {
                    return; // the reducer went away
                }
                message_bytes = 0;
            }
            if last {
                break;
            }
        }
    }
    if !message.chunks.is_empty() {
        let _ = tx.blocking_send(Ok(message));
    }
}
