//! The catalog specifications the chain reads, parsed once per stored version and shared
//! by every order: each order still reads the specification (that is how it learns the
//! current version, and on PostgreSQL the only copy is in the database), but the JSON
//! text of a version already seen is not parsed again.
//!
//! An entry is used only for the version it was parsed from, and only if the stored text
//! is still the text it was parsed from (a byte comparison, far cheaper than a parse): a
//! PATCH of a specification changes its version, so the next order parses the new one,
//! and two engines in one process (tests, an embedding) whose databases hold the same id
//! at the same version with different content never see each other's entries. So the
//! cache is a memo of `parse(text)`, right whatever it holds.
//!
//! Bounded by two generations (an approximate LRU, like the store's document cache):
//! entries go into the current one; when it holds half the capacity it becomes the
//! previous one and the one before is dropped; a hit in the previous generation moves
//! the entry back into the current one.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use serde_json::Value;
use switchboard_apis::catalog_rules::Entity;
use switchboard_engine::{Error, Result, Stored};

/// Entries the process-wide cache holds at most: every specification of a large catalog,
/// at a few kilobytes each.
pub const CAPACITY: usize = 4096;

type Key = (Entity, String);

/// One parsed version of a specification.
struct Entry {
    version: i64,
    /// The text `value` was parsed from.
    json: Box<str>,
    value: Arc<Value>,
}

impl Entry {
    fn is(&self, stored: &Stored) -> bool {
        self.version == stored.version && *self.json == *stored.json
    }
}

#[derive(Default)]
struct Generations {
    current: HashMap<Key, Entry>,
    previous: HashMap<Key, Entry>,
}

/// Parsed catalog specifications by (entity, id, version).
pub struct SpecCache {
    generations: Mutex<Generations>,
    /// Entries per generation (half the capacity, at least one).
    generation: usize,
    parses: AtomicU64,
}

impl SpecCache {
    /// A cache of at most `capacity` entries.
    pub fn new(capacity: usize) -> Self {
        SpecCache {
            generations: Mutex::new(Generations::default()),
            generation: (capacity / 2).max(1),
            parses: AtomicU64::new(0),
        }
    }

    /// The cache every `Catalog::new` reads through. Process-wide because the chain
    /// makes its catalog readers from the engine alone, in many places; the entries are
    /// right for any engine (see the module's comment), so sharing them is safe.
    pub fn shared() -> &'static SpecCache {
        static SHARED: OnceLock<SpecCache> = OnceLock::new();
        SHARED.get_or_init(|| SpecCache::new(CAPACITY))
    }

    /// `stored`, a version of the `entity` it names, parsed: from the cache when this
    /// version's text was parsed before, else parsed now and kept.
    pub fn parsed(&self, entity: Entity, stored: Stored) -> Result<Arc<Value>> {
        let key = (entity, stored.id.clone());
        if let Some(value) = self.hit(&key, &stored) {
            return Ok(value);
        }
        // Parsed outside the lock: orders reading other specifications do not wait.
        let value: Value = serde_json::from_str(&stored.json)
            .map_err(|error| Error::internal(format!("stored JSON unreadable: {error}")))?;
        self.parses.fetch_add(1, Ordering::Relaxed);
        let value = Arc::new(value);
        let entry = Entry {
            version: stored.version,
            json: stored.json.into_boxed_str(),
            value: value.clone(),
        };
        self.lock().insert(key, entry, self.generation);
        Ok(value)
    }

    /// How many texts this cache has parsed (its misses).
    pub fn parses(&self) -> u64 {
        self.parses.load(Ordering::Relaxed)
    }

    fn hit(&self, key: &Key, stored: &Stored) -> Option<Arc<Value>> {
        let mut generations = self.lock();
        if let Some(entry) = generations.current.get(key) {
            return entry.is(stored).then(|| entry.value.clone());
        }
        let entry = generations.previous.remove(key)?;
        if !entry.is(stored) {
            return None;
        }
        let value = entry.value.clone();
        generations.insert(key.clone(), entry, self.generation);
        Some(value)
    }

    /// The entries; a panic while they were held left them whole (every change is one
    /// map operation), so a poisoned lock is used as it is.
    fn lock(&self) -> MutexGuard<'_, Generations> {
        self.generations
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Generations {
    fn insert(&mut self, key: Key, entry: Entry, generation: usize) {
        if self.current.len() >= generation && !self.current.contains_key(&key) {
            self.previous = std::mem::take(&mut self.current);
        }
        self.previous.remove(&key);
        self.current.insert(key, entry);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn stored(id: &str, version: i64, json: &str) -> Stored {
        Stored {
            id: id.into(),
            version,
            json: json.into(),
        }
    }

    const SPEC: Entity = Entity::ServiceSpecification;

    #[test]
    fn a_version_is_parsed_once_and_a_new_version_again() {
        let cache = SpecCache::new(16);
        let first = cache.parsed(SPEC, stored("s", 1, r#"{"n":1}"#)).unwrap();
        let again = cache.parsed(SPEC, stored("s", 1, r#"{"n":1}"#)).unwrap();
        assert_eq!(cache.parses(), 1);
        assert!(Arc::ptr_eq(&first, &again));
        let changed = cache.parsed(SPEC, stored("s", 2, r#"{"n":2}"#)).unwrap();
        assert_eq!(cache.parses(), 2);
        assert_eq!(changed["n"], 2);
        let changed_again = cache.parsed(SPEC, stored("s", 2, r#"{"n":2}"#)).unwrap();
        assert_eq!(cache.parses(), 2);
        assert_eq!(changed_again["n"], 2);
    }

    #[test]
    fn the_same_version_with_other_text_is_parsed_again() {
        // Another database (another engine in this process) holding the same id at the
        // same version.
        let cache = SpecCache::new(16);
        cache.parsed(SPEC, stored("s", 1, r#"{"n":1}"#)).unwrap();
        let other = cache.parsed(SPEC, stored("s", 1, r#"{"n":9}"#)).unwrap();
        assert_eq!(other["n"], 9);
        assert_eq!(cache.parses(), 2);
    }

    #[test]
    fn entities_do_not_share_entries() {
        let cache = SpecCache::new(16);
        cache.parsed(SPEC, stored("s", 1, "{}")).unwrap();
        cache
            .parsed(Entity::ResourceSpecification, stored("s", 1, "{}"))
            .unwrap();
        assert_eq!(cache.parses(), 2);
    }

    #[test]
    fn the_cache_stays_bounded_and_keeps_what_is_read_again() {
        let cache = SpecCache::new(4);
        cache.parsed(SPEC, stored("hot", 1, "{}")).unwrap();
        for n in 0..100 {
            cache.parsed(SPEC, stored(&n.to_string(), 1, "{}")).unwrap();
            cache.parsed(SPEC, stored("hot", 1, "{}")).unwrap();
        }
        assert_eq!(cache.parses(), 101, "the hot entry was parsed once");
        let generations = cache.lock();
        assert!(generations.current.len() + generations.previous.len() <= 4);
    }

    #[test]
    fn unreadable_text_is_an_error_and_not_kept() {
        let cache = SpecCache::new(16);
        assert!(cache.parsed(SPEC, stored("s", 1, "{")).is_err());
        assert!(cache.lock().current.is_empty());
    }
}
