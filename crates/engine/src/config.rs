//! What the operator sets: the public URL, paging, delivery retries, leases, polling and
//! where callbacks may go.

/// Settings the engine needs from the operator.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Base of every `href`, e.g. `http://127.0.0.1:8080` (no trailing slash).
    pub public_url: String,
    /// Page size when a list names no `limit`.
    pub default_limit: u64,
    /// Largest `limit` honoured; larger requests get this many and a 206.
    pub max_limit: u64,
    /// Delivery attempts before an event is dead-lettered.
    pub max_attempts: i64,
    /// First retry delay; doubled on every further failure up to `backoff_max_ms`.
    pub backoff_base_ms: i64,
    pub backoff_max_ms: i64,
    /// Time allowed for one callback request.
    pub delivery_timeout_ms: u64,
    /// Lease on a claimed job; a worker that dies loses its jobs after this long.
    pub lease_ms: i64,
    /// Longest sleep of an idle worker; polling is the guarantee, wake-ups the speed.
    pub poll_interval_ms: u64,
    /// Where event callbacks may go.
    pub callbacks: crate::callbacks::CallbackPolicy,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            public_url: "http://127.0.0.1:8080".to_string(),
            default_limit: 100,
            max_limit: 1000,
            max_attempts: 8,
            backoff_base_ms: 1000,
            backoff_max_ms: 300_000,
            delivery_timeout_ms: 5000,
            lease_ms: 30_000,
            poll_interval_ms: 1000,
            callbacks: crate::callbacks::CallbackPolicy::Anywhere,
        }
    }
}
