//! The writer's checkpoint thread: it copies the WAL back into the database while the
//! writer goes on, and tells the writer when it caught up, so that the WAL starts over.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc as std_mpsc;

use rusqlite::Connection;

/// Write groups between two checkpoints of the checkpoint thread.
pub(super) const GROUPS_PER_CHECKPOINT: u32 = 64;
/// WAL pages at which the writer checkpoints itself.
pub(super) const BACKSTOP_PAGES: i64 = 16_000;

/// The checkpoint thread: copies the WAL back into the database while the writer goes on
/// (a passive checkpoint blocks no writer). Done by the writer at commit, as SQLite does
/// by default, a checkpoint of a few thousand pages stopped every write for 25-50 ms.
/// It runs again at once while it did not catch up with the end of the WAL; when it
/// did, it tells the writer (`caught_up`), which copies the few pages committed since
/// before its next group: SQLite starts the WAL over from its beginning only at a write
/// transaction that began with the WAL wholly copied, which the writer, going on with
/// its next group while this thread copies, never found by itself. (The WAL then grew
/// to the writer's backstop, 64 MB, each time, every frame a new page of the file, and
/// every page lookup searched a longer WAL index; the CPU this saves per order was
/// within the noise of the order bench.)
pub(super) fn checkpoint(
    connection: Connection,
    wrote: std_mpsc::Receiver<()>,
    caught_up: &AtomicBool,
) {
    while wrote.recv().is_ok() {
        for _ in 0..4 {
            match passive_checkpoint(&connection) {
                Ok((log, copied)) if copied < log => continue,
                Ok(_) => {
                    caught_up.store(true, Ordering::Release);
                    break;
                }
                Err(error) => {
                    tracing::warn!(%error, "checkpointing the WAL failed");
                    break;
                }
            }
        }
    }
}

/// Copies what it can of the WAL into the database: (frames in the WAL, frames copied).
pub(super) fn passive_checkpoint(connection: &Connection) -> rusqlite::Result<(i64, i64)> {
    connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
        Ok((row.get::<_, i64>(1)?, row.get::<_, i64>(2)?))
    })
}
