//! Which database a URL names, and the checks made before opening it: an unknown form
//! or a file that cannot be written is refused before anything is created on disk.

use std::path::{Path, PathBuf};

/// The forms a database URL may take, for messages.
pub const ACCEPTED: &str =
    "use sqlite://FILE, a file path, or postgres://USER@HOST:PORT/DB (also postgresql://)";

/// Where a database URL points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// An SQLite file (created when missing).
    Sqlite(PathBuf),
    /// A PostgreSQL server (the URL as given).
    Postgres,
}

/// Reads `url`: `postgres://…` / `postgresql://…`, `sqlite://FILE` / `sqlite:FILE`, or a
/// plain file path. Anything else that starts like a URL (`mysql://…`, `mysql:x.db`) is
/// refused rather than taken for a file name, and so are an empty URL and SQLite's
/// in-memory databases (each connection would see a database of its own).
pub fn locate(url: &str) -> Result<Location, String> {
    if url.trim().is_empty() {
        return Err(format!("is empty; {ACCEPTED}"));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Location::Postgres);
    }
    let path = match url.strip_prefix("sqlite:") {
        Some(rest) => rest.strip_prefix("//").unwrap_or(rest),
        None => {
            if let Some(scheme) = scheme_of(url) {
                return Err(format!(
                    "'{scheme}:' is not a database this server opens; {ACCEPTED}"
                ));
            }
            url
        }
    };
    // sqlx reads `?mode=…&…` after the file name.
    let (file, options) = path.split_once('?').unwrap_or((path, ""));
    if file.is_empty() {
        return Err(format!("names no file; {ACCEPTED}"));
    }
    if file == ":memory:" || options.split('&').any(|option| option == "mode=memory") {
        return Err(format!(
            "an in-memory SQLite database is not kept between connections; name a file \
             ({ACCEPTED})"
        ));
    }
    Ok(Location::Sqlite(PathBuf::from(file)))
}

/// The scheme `url` starts with, if it starts like a URL (`letters:`); a drive letter
/// (`C:\…`, `C:/…`) is a path.
fn scheme_of(url: &str) -> Option<&str> {
    let (scheme, rest) = url.split_once(':')?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    let drive = scheme.len() == 1
        && (rest.starts_with('\\') || (rest.starts_with('/') && !rest.starts_with("//")));
    let is_scheme = first.is_ascii_alphabetic()
        && !drive
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    is_scheme.then_some(scheme)
}

/// Checks, creating nothing and connecting nowhere, what can be known of `url` before
/// opening it: its form and, for SQLite, its file (`check_sqlite_file`).
pub fn check_database_url(url: &str) -> Result<(), String> {
    match locate(url)? {
        Location::Sqlite(file) => check_sqlite_file(&file),
        Location::Postgres => Ok(()),
    }
}

/// Checks, creating nothing, that an SQLite database can live at `file`: its folder
/// exists and is writable (SQLite writes its journal beside the file), and the file, if
/// it exists, is a writable file.
pub fn check_sqlite_file(file: &Path) -> Result<(), String> {
    let folder = match file.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder,
        _ => Path::new("."),
    };
    let shown = folder.display();
    match std::fs::metadata(folder) {
        Ok(metadata) if !metadata.is_dir() => {
            return Err(format!("{shown} is not a folder"));
        }
        Ok(metadata) if metadata.permissions().readonly() => {
            return Err(format!(
                "the folder {shown} is not writable; make it writable or choose another"
            ));
        }
        Ok(_) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!(
                "the folder {shown} does not exist; create it first"
            ));
        }
        Err(error) => return Err(format!("the folder {shown} cannot be read: {error}")),
    }
    match std::fs::metadata(file) {
        Ok(metadata) if metadata.is_dir() => Err(format!(
            "{} is a folder, not a database file",
            file.display()
        )),
        Ok(metadata) if metadata.permissions().readonly() => Err(format!(
            "the file {} is read-only; make it writable or choose another",
            file.display()
        )),
        // Not opened to try: closing any descriptor of a file drops the POSIX locks this
        // process holds on it, SQLite's among them (another store of this process may
        // have the file open). What the permissions do not show, the opening reports.
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(format!(
            "the file {} cannot be read: {error}",
            file.display()
        )),
    }
}

/// Removes what opening a new SQLite database at `file` created, after the opening
/// failed: a refused start leaves nothing behind.
pub fn remove_sqlite_files(file: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut name = file.as_os_str().to_owned();
        name.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(name));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_forms_are_located() {
        assert_eq!(locate("postgres://u@h/db"), Ok(Location::Postgres));
        assert_eq!(locate("postgresql://u@h/db"), Ok(Location::Postgres));
        assert_eq!(
            locate("sqlite://data/x.db"),
            Ok(Location::Sqlite("data/x.db".into()))
        );
        assert_eq!(
            locate("sqlite:///tmp/x.db?mode=rwc"),
            Ok(Location::Sqlite("/tmp/x.db".into()))
        );
        assert_eq!(locate("sqlite:x.db"), Ok(Location::Sqlite("x.db".into())));
        assert_eq!(locate("./a:b.db"), Ok(Location::Sqlite("./a:b.db".into())));
        assert_eq!(locate("x.db"), Ok(Location::Sqlite("x.db".into())));
        assert_eq!(locate("C:\\x.db"), Ok(Location::Sqlite("C:\\x.db".into())));
        assert_eq!(locate("C:/x.db"), Ok(Location::Sqlite("C:/x.db".into())));
    }

    #[test]
    fn other_forms_are_refused_with_the_accepted_ones() {
        for url in [
            "",
            "  ",
            "mysql://u@h/db",
            "mysql:bar.db",
            "x://y",
            "ftp:/x.db",
            "sqlite://",
            "sqlite::memory:",
            "sqlite://x.db?mode=memory",
        ] {
            let error = locate(url).err().unwrap_or_default();
            assert!(error.contains("sqlite://FILE"), "{url}: {error}");
        }
    }
}
