//! Fetching shuffle blocks from other backends over `FetchShuffle`.
//!
//! Called from task threads (plain OS threads, not tokio workers), which
//! block on the backend's runtime for each message. One call per remote
//! backend asks for all the blocks a reduce partition needs from it; they
//! stream back in pieces, in the order asked, so a reducer holds at most a
//! few messages per backend however large its input (HTTP/2 flow control
//! holds the sender back). When the cluster serves TLS, fetches go over TLS
//! too, checked by [`PeerTls`].

use ember_proto::v1 as pb;
use ember_proto::v1::executor_backend_client::ExecutorBackendClient;
use ember_rdd::ids::ShuffleId;
use ember_security::tls::{PeerTls, scheme};
use prost::Message;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tonic::transport::{Channel, Endpoint};

pub use ember_proto::MAX_MESSAGE_BYTES;

/// HTTP/2 flow-control windows for shuffle traffic: what a peer may send
/// ahead of a reducer's reading. Data in flight is memory nobody accounts
/// for, so they are kept small (1 MiB still moves a GB/s at 1 ms RTT).
pub const STREAM_WINDOW_BYTES: u32 = 1 << 20;
pub const CONNECTION_WINDOW_BYTES: u32 = 4 << 20;

/// How long a fetch waits for the next message before the peer counts as gone.
pub const FETCH_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a fetch failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The peer answered that it does not hold these map outputs.
    #[error("{address} does not hold map outputs {maps:?}")]
    Missing { address: String, maps: Vec<u32> },
    /// The peer could not be reached, or the stream broke or misbehaved.
    #[error("fetch from {address} failed: {message}")]
    Failed { address: String, message: String },
}

pub struct ShuffleFetcher {
    rt: tokio::runtime::Handle,
    clients: Mutex<HashMap<String, ExecutorBackendClient<Channel>>>,
    connect_timeout: Duration,
    tls: Option<PeerTls>,
    /// The application's shuffle token, which peers ask of every fetch.
    token: String,
}

impl ShuffleFetcher {
    pub fn new(rt: tokio::runtime::Handle, connect_timeout: Duration, tls: Option<PeerTls>, token: String) -> Self {
        ShuffleFetcher { rt, clients: Mutex::new(HashMap::new()), connect_timeout, tls, token }
    }

    fn failed(address: &str, message: impl Into<String>) -> FetchError {
        FetchError::Failed { address: address.to_string(), message: message.into() }
    }

    fn client(&self, address: &str) -> Result<ExecutorBackendClient<Channel>, FetchError> {
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = clients.get(address) {
            return Ok(c.clone());
        }
        let endpoint = Endpoint::from_shared(format!("{}://{address}", scheme(self.tls.is_some())))
            .map_err(|e| Self::failed(address, format!("bad address: {e}")))?
            .connect_timeout(self.connect_timeout)
            .initial_stream_window_size(STREAM_WINDOW_BYTES)
            .initial_connection_window_size(CONNECTION_WINDOW_BYTES)
            .tcp_nodelay(true);
        let endpoint = match &self.tls {
            Some(tls) => {
                tls.configure(endpoint, self.connect_timeout).map_err(|e| Self::failed(address, format!("TLS: {e}")))?
            }
            None => endpoint,
        };
        let _guard = self.rt.enter();
        let client = ExecutorBackendClient::new(endpoint.connect_lazy())
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES);
        clients.insert(address.to_string(), client.clone());
        Ok(client)
    }

    /// Forgets the channel to `address`: the backend may be gone for good.
    fn forget(&self, address: &str) {
        self.clients.lock().unwrap_or_else(|p| p.into_inner()).remove(address);
    }

    /// Asks the backend at `address` for block `reduce` of each of `maps`
    /// (ascending); the pieces are then read with [`RemoteBlocks::next_piece`].
    pub fn open(
        self: &Arc<Self>,
        address: &str,
        shuffle: ShuffleId,
        reduce: usize,
        maps: Vec<u32>,
    ) -> Result<RemoteBlocks, FetchError> {
        let mut client = self.client(address)?;
        let request = pb::FetchShuffleRequest {
            shuffle_id: shuffle.0,
            reduce_index: reduce as u32,
            map_indices: maps,
            token: self.token.clone(),
        };
        let opened = self
            .rt
            .block_on(async move { tokio::time::timeout(FETCH_IDLE_TIMEOUT, client.fetch_shuffle(request)).await });
        match opened {
            Ok(Ok(response)) => Ok(RemoteBlocks {
                fetcher: self.clone(),
                address: address.to_string(),
                stream: response.into_inner(),
                chunks: VecDeque::new(),
            }),
            Ok(Err(status)) if status.code() == tonic::Code::NotFound => {
                let maps = pb::MissingMapOutputs::decode(status.details()).map(|m| m.map_indices).unwrap_or_default();
                Err(FetchError::Missing { address: address.to_string(), maps })
            }
            Ok(Err(status)) => {
                self.forget(address);
                Err(Self::failed(address, status.message()))
            }
            Err(_) => {
                self.forget(address);
                Err(Self::failed(address, format!("no answer within {FETCH_IDLE_TIMEOUT:?}")))
            }
        }
    }
}

/// The pieces of the blocks one backend streams back.
pub struct RemoteBlocks {
    fetcher: Arc<ShuffleFetcher>,
    address: String,
    stream: tonic::Streaming<pb::ShuffleChunks>,
    /// Pieces received and not yet handed out.
    chunks: VecDeque<pb::ShuffleChunk>,
}

impl RemoteBlocks {
    /// The next piece, which must belong to block `map`.
    pub fn next_piece(&mut self, map: u32) -> Result<pb::ShuffleChunk, FetchError> {
        while self.chunks.is_empty() {
            let stream = &mut self.stream;
            // The timer is made inside the runtime (a task thread has none).
            let next =
                self.fetcher.rt.block_on(async { tokio::time::timeout(FETCH_IDLE_TIMEOUT, stream.message()).await });
            let message = match next {
                Ok(Ok(Some(m))) => m,
                Ok(Ok(None)) => return Err(self.broken(format!("the stream ended before block of map {map}"))),
                Ok(Err(status)) => return Err(self.broken(status.message().to_string())),
                Err(_) => return Err(self.broken(format!("no data within {FETCH_IDLE_TIMEOUT:?}"))),
            };
            self.chunks.extend(message.chunks);
        }
        let chunk = self.chunks.pop_front().ok_or_else(|| self.broken("no piece".into()))?;
        if chunk.map_index != map {
            return Err(self.broken(format!("a piece of map {} came where map {map} was expected", chunk.map_index)));
        }
        Ok(chunk)
    }

    fn broken(&self, message: String) -> FetchError {
        self.fetcher.forget(&self.address);
        ShuffleFetcher::failed(&self.address, message)
    }
}
