//! The write transaction, the same for every backend: it buffers writes and hands
//! them to the backend at commit.

use std::collections::HashMap;

use crate::{Document, Promoted, Store, StoreError, StoreResult};

/// A write transaction: documents and the jobs their change starts commit together.
///
/// Writes are buffered and handed to the backend at `commit`, which applies them
/// atomically (SQLite: on the writer thread, grouped with concurrent commits;
/// PostgreSQL: one transaction). Reads go to the committed state overlaid with this
/// transaction's own writes; isolation comes from optimistic versions instead of locks:
/// every update and delete carries the version it was computed from, and the commit
/// fails with `VersionConflict`, changing nothing, if any of them moved meanwhile.
pub struct Tx {
    store: Store,
    ops: Vec<Op>,
    /// This transaction's view of what it wrote: (kind, id) → document or deletion.
    pending: HashMap<(String, String), Option<Document>>,
    /// Documents this transaction hands to the next writer of the same key before it
    /// commits (see `publish_on_submit`).
    publish: Vec<(String, String)>,
    /// What is released once the writes are submitted (in-process key locks).
    release: Vec<Box<dyn Send>>,
}

/// What a commit hands over: documents published to the next writer while the commit is
/// in flight, and what to release once it is submitted.
pub(crate) struct Submit {
    pub(crate) publish: Vec<((String, String), Document)>,
    pub(crate) release: Vec<Box<dyn Send>>,
}

/// One buffered write.
pub(crate) enum Op {
    Insert {
        kind: String,
        id: String,
        json: String,
        promoted: Promoted,
    },
    Update {
        kind: String,
        id: String,
        expected_version: i64,
        json: String,
        promoted: Promoted,
    },
    Delete {
        kind: String,
        id: String,
        expected_version: i64,
    },
    Enqueue {
        queue: String,
        payload: String,
        dedup_key: Option<String>,
        run_at: i64,
    },
    CancelJobs {
        queue: String,
        key_prefix: String,
    },
    /// A finished job leaves the queue (fenced by its claim's `attempts`); committed with
    /// whatever else is being committed at the time (SQLite's group commit).
    CompleteJob {
        id: i64,
        attempts: i64,
    },
}

impl Tx {
    pub(crate) fn new(store: Store) -> Tx {
        Tx {
            store,
            ops: Vec::new(),
            pending: HashMap::new(),
            publish: Vec::new(),
            release: Vec::new(),
        }
    }

    /// The latest version of a document this process knows: this transaction's own
    /// write, else one submitted by another transaction of this process and not yet
    /// committed (published by it, `publish_on_submit`), else the committed one. Only for
    /// a writer that holds the key's in-process lock and writes at the version it reads:
    /// if the submitted write then fails, so does this one (a version conflict), and the
    /// write is run again.
    pub async fn get_latest(&mut self, kind: &str, id: &str) -> StoreResult<Option<Document>> {
        if let Some(pending) = self.pending.get(&(kind.to_string(), id.to_string())) {
            return Ok(pending.clone());
        }
        if let Some(submitted) = self.store.submitted(kind, id) {
            return Ok(Some(submitted));
        }
        self.store.get(kind, id).await
    }

    /// Hands this transaction's write of `kind`/`id` to the next writer of the key as soon
    /// as it is submitted, and `release` (a lock guard) with it: the next writer builds on
    /// it (`get_latest`) while this commit is still in flight, so writers of one hot key
    /// share group commits instead of waiting for each other's.
    pub fn publish_on_submit(&mut self, kind: &str, id: &str) {
        self.publish.push((kind.to_string(), id.to_string()));
    }

    /// Releases `token` (a lock guard) once the writes are submitted, or when the
    /// transaction ends without committing.
    pub fn release_on_submit(&mut self, token: Box<dyn Send>) {
        self.release.push(token);
    }

    pub async fn get(&mut self, kind: &str, id: &str) -> StoreResult<Option<Document>> {
        if let Some(pending) = self.pending.get(&(kind.to_string(), id.to_string())) {
            return Ok(pending.clone());
        }
        self.store.get(kind, id).await
    }

    /// Every document of a small kind (hub subscriptions), served from memory while
    /// the kind is unchanged.
    pub async fn all(&mut self, kind: &str) -> StoreResult<Vec<Document>> {
        if self.pending.keys().any(|(pending, _)| pending == kind) {
            return Err(StoreError::Unavailable(
                "a transaction cannot list a kind it is writing".to_string(),
            ));
        }
        self.store.all_small(kind).await
    }

    /// Inserts a new document at version 1 (`Duplicate` at commit if the id is taken).
    pub async fn insert(
        &mut self,
        kind: &str,
        id: &str,
        json: &str,
        promoted: &Promoted,
    ) -> StoreResult<i64> {
        self.pending.insert(
            (kind.to_string(), id.to_string()),
            Some(Document {
                id: id.to_string(),
                version: 1,
                json: json.to_string(),
            }),
        );
        self.ops.push(Op::Insert {
            kind: kind.to_string(),
            id: id.to_string(),
            json: json.to_string(),
            promoted: promoted.clone(),
        });
        Ok(1)
    }

    /// Replaces a document that must still be at `expected_version` when the
    /// transaction commits; returns the version it will have.
    pub async fn update(
        &mut self,
        kind: &str,
        id: &str,
        expected_version: i64,
        json: &str,
        promoted: &Promoted,
    ) -> StoreResult<i64> {
        let version = expected_version + 1;
        self.pending.insert(
            (kind.to_string(), id.to_string()),
            Some(Document {
                id: id.to_string(),
                version,
                json: json.to_string(),
            }),
        );
        self.ops.push(Op::Update {
            kind: kind.to_string(),
            id: id.to_string(),
            expected_version,
            json: json.to_string(),
            promoted: promoted.clone(),
        });
        Ok(version)
    }

    /// Deletes a document as this transaction last saw it; false when it did not exist.
    pub async fn delete(&mut self, kind: &str, id: &str) -> StoreResult<bool> {
        let Some(current) = self.get(kind, id).await? else {
            return Ok(false);
        };
        self.pending
            .insert((kind.to_string(), id.to_string()), None);
        self.ops.push(Op::Delete {
            kind: kind.to_string(),
            id: id.to_string(),
            expected_version: current.version,
        });
        Ok(true)
    }

    /// Queues a job to run from `run_at` (ms since the epoch). With a `dedup_key`, a job
    /// already queued under that key is kept and this one dropped: steps stay idempotent.
    pub async fn enqueue(
        &mut self,
        queue: &str,
        payload: &str,
        dedup_key: Option<&str>,
        run_at: i64,
    ) -> StoreResult<()> {
        self.ops.push(Op::Enqueue {
            queue: queue.to_string(),
            payload: payload.to_string(),
            dedup_key: dedup_key.map(str::to_string),
            run_at,
        });
        Ok(())
    }

    /// Drops the unfinished jobs of `queue` whose dedup key starts with `key_prefix`:
    /// work whose reason is gone. A job already running ends, but is not run again;
    /// dead jobs stay for inspection.
    pub async fn cancel_jobs(&mut self, queue: &str, key_prefix: &str) -> StoreResult<()> {
        self.ops.push(Op::CancelJobs {
            queue: queue.to_string(),
            key_prefix: key_prefix.to_string(),
        });
        Ok(())
    }

    /// Applies every buffered write, atomically: all of them commit or none does.
    pub async fn commit(self) -> StoreResult<()> {
        if self.ops.is_empty() {
            return Ok(());
        }
        let publish = self
            .publish
            .iter()
            .filter_map(|key| match self.pending.get(key) {
                Some(Some(document)) => Some((key.clone(), document.clone())),
                _ => None,
            })
            .collect();
        let touched: Vec<(String, String)> = self.pending.into_keys().collect();
        let submit = Submit {
            publish,
            release: self.release,
        };
        self.store.commit(self.ops, touched, submit).await
    }
}
