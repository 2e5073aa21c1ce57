//! In-process caches of the embedded backend: documents by id, list counts and pages, small
//! whole-kind reads (hub subscriptions). They are sound because an embedded SQLite file
//! has one writing process, and every write of that process goes through `Tx`.
//!
//! Coherence rule: a reader notes the epoch before it reads the database and fills the
//! cache only if the epoch is unchanged afterwards; a writer bumps the epochs (and drops
//! the entries) both before and after its commit. So a value read before a commit can
//! never be cached after it, and a write transaction never sees a stale entry. The
//! writer thread, the one writer, then stores what it committed (write-through).

use std::collections::HashMap;
use std::sync::Mutex;

use crate::{Document, Page};

const SHARDS: usize = 64;
const MAX_COUNTS_PER_KIND: usize = 256;
const MAX_PAGES_PER_KIND: usize = 256;
/// Larger pages are not worth the memory: their cost is in sending them anyway.
const MAX_CACHED_PAGE_BYTES: usize = 64 * 1024;

/// One shard of the document cache, two generations deep: entries go to `young`; when
/// it holds half the shard's share, it becomes `old` and the previous `old` is dropped.
/// An entry read from `old` moves back to `young`, so what is read often stays and a
/// burst of writes only pushes out what nobody read since (an LRU, approximately, at
/// O(1) a step). An entry is a document or the knowledge that there is none (`None`):
/// the chain asks for ids it is about to create.
#[derive(Default)]
struct Shard {
    epoch: u64,
    young: HashMap<String, Option<Document>>,
    old: HashMap<String, Option<Document>>,
}

impl Shard {
    fn get(&mut self, key: &str, half: usize) -> Option<Option<Document>> {
        if let Some(document) = self.young.get(key) {
            return Some(document.clone());
        }
        let document = self.old.remove(key)?;
        self.put(key.to_string(), document.clone(), half);
        Some(document)
    }

    fn put(&mut self, key: String, document: Option<Document>, half: usize) {
        if self.young.len() >= half {
            self.old = std::mem::take(&mut self.young);
        }
        self.young.insert(key, document);
    }

    fn remove(&mut self, key: &str) {
        self.young.remove(key);
        self.old.remove(key);
    }
}

#[derive(Default)]
struct KindEntry {
    epoch: u64,
    counts: HashMap<String, u64>,
    pages: HashMap<String, Page>,
    all: Option<Vec<Document>>,
}

pub(crate) struct Caches {
    shards: Vec<Mutex<Shard>>,
    per_shard: usize,
    kinds: Mutex<HashMap<String, KindEntry>>,
}

/// Where a document's entry lives and the epoch a reader saw.
pub(crate) struct Ticket {
    shard: usize,
    epoch: u64,
    key: String,
}

fn key(kind: &str, id: &str) -> String {
    let mut key = String::with_capacity(kind.len() + id.len() + 1);
    key.push_str(kind);
    key.push('\u{0}');
    key.push_str(id);
    key
}

fn shard_of(key: &str) -> usize {
    // FNV-1a: cheap and good enough to spread ids over the shards.
    let mut hash: u64 = 0xcbf29ce484222325;
    for byte in key.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x100000001b3);
    }
    (hash % SHARDS as u64) as usize
}

impl Caches {
    pub(crate) fn new(capacity: usize) -> Self {
        Caches {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            per_shard: capacity / SHARDS,
            kinds: Mutex::new(HashMap::new()),
        }
    }

    /// The cached document (`None`: known not to exist), or a ticket to fill the entry
    /// after reading the database.
    pub(crate) fn document(&self, kind: &str, id: &str) -> Result<Option<Document>, Ticket> {
        let key = key(kind, id);
        let shard = shard_of(&key);
        let Ok(mut guard) = self.shards[shard].lock() else {
            return Err(Ticket {
                shard,
                epoch: u64::MAX,
                key,
            });
        };
        if let Some(document) = guard.get(&key, self.half()) {
            return Ok(document);
        }
        let epoch = guard.epoch;
        drop(guard);
        Err(Ticket { shard, epoch, key })
    }

    /// Entries a shard's young generation holds before it turns old.
    fn half(&self) -> usize {
        (self.per_shard / 2).max(1)
    }

    pub(crate) fn fill_document(&self, ticket: Ticket, document: Option<&Document>) {
        if self.per_shard == 0 {
            return;
        }
        let Ok(mut guard) = self.shards[ticket.shard].lock() else {
            return;
        };
        if guard.epoch != ticket.epoch {
            return;
        }
        let half = self.half();
        guard.put(ticket.key, document.cloned(), half);
    }

    /// Caches a document the one writer has just committed (after its invalidation):
    /// no reader can have a newer one, and a reader holding an older one finds the
    /// epoch moved and does not fill.
    pub(crate) fn store(&self, kind: &str, document: &Document) {
        // Found already: filled meanwhile by a reader of this very version.
        if let Err(ticket) = self.document(kind, &document.id) {
            self.fill_document(ticket, Some(document));
        }
    }

    pub(crate) fn kind_epoch(&self, kind: &str) -> u64 {
        self.kinds
            .lock()
            .map(|kinds| kinds.get(kind).map_or(0, |entry| entry.epoch))
            .unwrap_or(u64::MAX)
    }

    pub(crate) fn count(&self, kind: &str, query: &str) -> Option<u64> {
        let kinds = self.kinds.lock().ok()?;
        kinds.get(kind)?.counts.get(query).copied()
    }

    pub(crate) fn fill_count(&self, kind: &str, epoch: u64, query: String, count: u64) {
        let Ok(mut kinds) = self.kinds.lock() else {
            return;
        };
        let entry = kinds.entry(kind.to_string()).or_default();
        if entry.epoch != epoch {
            return;
        }
        if entry.counts.len() >= MAX_COUNTS_PER_KIND {
            entry.counts.clear();
        }
        entry.counts.insert(query, count);
    }

    pub(crate) fn page(&self, kind: &str, query: &str) -> Option<Page> {
        let kinds = self.kinds.lock().ok()?;
        kinds.get(kind)?.pages.get(query).cloned()
    }

    pub(crate) fn fill_page(&self, kind: &str, epoch: u64, query: String, page: &Page) {
        if page.items.len() > MAX_CACHED_PAGE_BYTES {
            return;
        }
        let Ok(mut kinds) = self.kinds.lock() else {
            return;
        };
        let entry = kinds.entry(kind.to_string()).or_default();
        if entry.epoch != epoch {
            return;
        }
        if entry.pages.len() >= MAX_PAGES_PER_KIND {
            entry.pages.clear();
        }
        entry.pages.insert(query, page.clone());
    }

    pub(crate) fn all(&self, kind: &str) -> Option<Vec<Document>> {
        let kinds = self.kinds.lock().ok()?;
        kinds.get(kind)?.all.clone()
    }

    pub(crate) fn fill_all(&self, kind: &str, epoch: u64, documents: &[Document]) {
        let Ok(mut kinds) = self.kinds.lock() else {
            return;
        };
        let entry = kinds.entry(kind.to_string()).or_default();
        if entry.epoch == epoch {
            entry.all = Some(documents.to_vec());
        }
    }

    /// Forgets everything a write touched (called before and after its commit).
    pub(crate) fn invalidate(&self, touched: &[(String, String)]) {
        for (kind, id) in touched {
            let key = key(kind, id);
            if let Ok(mut shard) = self.shards[shard_of(&key)].lock() {
                shard.epoch += 1;
                shard.remove(&key);
            }
        }
        if let Ok(mut kinds) = self.kinds.lock() {
            for (kind, _) in touched {
                let entry = kinds.entry(kind.clone()).or_default();
                entry.epoch += 1;
                entry.counts.clear();
                entry.pages.clear();
                entry.all = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(id: &str) -> Document {
        Document {
            id: id.to_string(),
            version: 1,
            json: format!("{{\"id\":\"{id}\"}}"),
        }
    }

    fn fill(caches: &Caches, id: &str) {
        if let Err(ticket) = caches.document("k", id) {
            caches.fill_document(ticket, Some(&doc(id)));
        }
    }

    #[test]
    fn an_entry_read_now_and_then_outlives_a_burst_of_new_ones() {
        // 64 shards of 16: each shard's young generation holds 8.
        let caches = Caches::new(64 * 16);
        fill(&caches, "hot");
        for n in 0..20_000 {
            fill(&caches, &format!("cold-{n}"));
            if n % 100 == 0 {
                assert!(caches.document("k", "hot").is_ok(), "evicted after {n}");
            }
        }
        // What nobody read again is gone.
        assert!(caches.document("k", "cold-0").is_err());
        assert!(caches.document("k", "cold-19999").is_ok());
    }

    #[test]
    fn a_write_drops_the_entry_from_both_generations() {
        let caches = Caches::new(64 * 16);
        fill(&caches, "a");
        for n in 0..200 {
            fill(&caches, &format!("other-{n}"));
        }
        caches.invalidate(&[("k".to_string(), "a".to_string())]);
        assert!(caches.document("k", "a").is_err());
    }

    #[test]
    fn an_absent_document_is_remembered_until_a_write_names_it() {
        let caches = Caches::new(64 * 16);
        let Err(ticket) = caches.document("k", "new") else {
            panic!("an empty cache answered");
        };
        caches.fill_document(ticket, None);
        assert!(matches!(caches.document("k", "new"), Ok(None)));
        caches.invalidate(&[("k".to_string(), "new".to_string())]);
        assert!(caches.document("k", "new").is_err());
        caches.store("k", &doc("new"));
        assert!(matches!(caches.document("k", "new"), Ok(Some(found)) if found.id == "new"));
    }

    #[test]
    fn an_absence_read_before_a_write_is_not_remembered() {
        let caches = Caches::new(64 * 16);
        let Err(ticket) = caches.document("k", "raced") else {
            panic!("an empty cache answered");
        };
        // The writer commits the document while the reader's query is under way.
        caches.invalidate(&[("k".to_string(), "raced".to_string())]);
        caches.fill_document(ticket, None);
        assert!(caches.document("k", "raced").is_err());
    }
}
