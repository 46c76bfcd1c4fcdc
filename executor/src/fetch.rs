//! Fetching shuffle blocks from other backends over `FetchShuffle`.
//!
//! Called from task threads (plain OS threads, not tokio workers), which
//! block on the backend's runtime for the duration of the fetch. One request
//! per remote backend asks for all the map outputs it holds for a reduce
//! partition; the blocks stream back in batches. When the cluster serves
//! TLS, fetches go over TLS too, checked by [`PeerTls`].

use crate::tls::{PeerTls, scheme};
use ember_proto::v1::FetchShuffleRequest;
use ember_proto::v1::executor_backend_client::ExecutorBackendClient;
use ember_rdd::ids::ShuffleId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tonic::transport::{Channel, Endpoint};

/// The largest gRPC message Ember sends or accepts.
pub const MAX_MESSAGE_BYTES: usize = 1 << 30;

pub struct ShuffleFetcher {
    rt: tokio::runtime::Handle,
    clients: Mutex<HashMap<String, ExecutorBackendClient<Channel>>>,
    connect_timeout: Duration,
    tls: Option<PeerTls>,
    /// The application's shuffle token, which peers ask of every fetch.
    token: String,
}

/// A failed fetch: the map index it concerns when known, and why.
pub type FetchError = (Option<usize>, String);

impl ShuffleFetcher {
    pub fn new(rt: tokio::runtime::Handle, connect_timeout: Duration, tls: Option<PeerTls>, token: String) -> Self {
        ShuffleFetcher { rt, clients: Mutex::new(HashMap::new()), connect_timeout, tls, token }
    }

    fn client(&self, address: &str) -> Result<ExecutorBackendClient<Channel>, FetchError> {
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = clients.get(address) {
            return Ok(c.clone());
        }
        let endpoint = Endpoint::from_shared(format!("{}://{address}", scheme(self.tls.is_some())))
            .map_err(|e| (None, format!("bad address {address}: {e}")))?
            .connect_timeout(self.connect_timeout)
            .tcp_nodelay(true);
        let endpoint = match &self.tls {
            Some(tls) => {
                tls.configure(endpoint, self.connect_timeout).map_err(|e| (None, format!("TLS to {address}: {e}")))?
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

    /// Fetches the blocks of `reduce` written by `maps` on the backend at `address`.
    pub fn fetch(
        &self,
        address: &str,
        shuffle: ShuffleId,
        reduce: usize,
        maps: &[usize],
    ) -> Result<Vec<(usize, Arc<[u8]>)>, FetchError> {
        let mut client = self.client(address)?;
        let request = FetchShuffleRequest {
            shuffle_id: shuffle.0,
            reduce_index: reduce as u32,
            map_indices: maps.iter().map(|&m| m as u32).collect(),
            token: self.token.clone(),
        };
        let result = self.rt.block_on(async move {
            let mut stream = client.fetch_shuffle(request).await.map_err(|s| s.message().to_string())?.into_inner();
            let mut out = Vec::with_capacity(maps.len());
            while let Some(batch) = stream.message().await.map_err(|s| s.message().to_string())? {
                for block in batch.blocks {
                    out.push((block.map_index as usize, Arc::<[u8]>::from(block.data)));
                }
            }
            Ok::<_, String>(out)
        });
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        match result {
            Ok(blocks) => Ok(blocks),
            Err(why) => {
                // Forget the channel: the backend may be gone for good.
                clients.remove(address);
                Err((None, format!("fetch from {address} failed: {why}")))
            }
        }
    }
}
