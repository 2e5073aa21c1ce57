//! The engine's one error type: a kind that the HTTP layer maps to a status, a short
//! reason and a precise message for the client.

use switchboard_store::StoreError;

/// What went wrong, in terms a TMF client understands. The HTTP layer owns the
/// mapping to status codes (see `server::http::status_of`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Malformed JSON, a body that fails its schema, a bad query, a refused attribute.
    BadRequest,
    /// No resource with that id (or no such path).
    NotFound,
    /// The operation is not offered on this resource.
    MethodNotAllowed,
    /// The request contradicts stored state (invalid state transition, duplicate id,
    /// concurrent change without If-Match).
    Conflict,
    /// `If-Match` named a version that is no longer current.
    PreconditionFailed,
    /// The body exceeds the configured limit.
    PayloadTooLarge,
    /// The Content-Type is not one this operation accepts.
    UnsupportedMediaType,
    /// The database is unreachable; retrying later may work.
    Unavailable,
    /// A real fault on our side; details are logged, not returned.
    Internal,
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{reason}: {message}")]
pub struct Error {
    pub kind: ErrorKind,
    pub reason: String,
    pub message: String,
    /// A concurrent write moved what this one read: the write may be run again.
    pub concurrent: bool,
}

impl Error {
    pub fn new(kind: ErrorKind, reason: impl Into<String>, message: impl Into<String>) -> Self {
        Error {
            kind,
            reason: reason.into(),
            message: message.into(),
            concurrent: false,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::BadRequest, "Bad request", message)
    }

    pub fn invalid_body(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::BadRequest, "Invalid body", message)
    }

    pub fn invalid_query(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::BadRequest, "Invalid query", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::NotFound, "Not found", message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Conflict, "Conflict", message)
    }

    pub fn invalid_transition(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Conflict, "Invalid state transition", message)
    }

    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::MethodNotAllowed, "Method not allowed", message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Internal, "Internal error", message)
    }
}

impl From<StoreError> for Error {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::VersionConflict => Error {
                concurrent: true,
                ..Error::conflict("the resource was changed concurrently; read it again and retry")
            },
            StoreError::Duplicate => Error::conflict("a resource with this id already exists"),
            StoreError::InvalidQuery(detail) => {
                Error::invalid_query(format!("the database cannot run this filter: {detail}"))
            }
            StoreError::Unavailable(detail) => {
                tracing::warn!(%detail, "database unavailable");
                Error::new(
                    ErrorKind::Unavailable,
                    "Service unavailable",
                    "the database is not reachable; retry later",
                )
            }
            StoreError::Database(detail) => {
                tracing::error!(%detail, "database error");
                Error::internal("database error")
            }
            StoreError::Failed(detail) | StoreError::Settings(detail) => {
                tracing::error!(%detail, "database error");
                Error::internal("database error")
            }
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
