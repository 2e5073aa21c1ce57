//! The HTTP face of the engine: request bodies and content types in, TMF JSON and
//! status codes out. The only place that knows status codes.

use axum::body::{Body, HttpBody};
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use switchboard_engine::{
    ApiRuntime, Engine, Error, ErrorField, ErrorKind, ErrorShape, ListResult, PatchKind,
    ResourceRef, Stored,
};

/// Shared by every handler: the engine and the body limit.
#[derive(Clone)]
pub struct AppState {
    pub engine: Engine,
    pub max_body_bytes: usize,
}

const JSON: &str = "application/json;charset=utf-8";

/// The status each error kind answers with.
pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
        ErrorKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorKind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// An engine error on its way out as a TMF error body.
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        ApiError(error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = status_of(self.0.kind);
        if status.is_server_error() {
            tracing::error!(reason = %self.0.reason, message = %self.0.message, "request failed");
        }
        error_response(status, &self.0.reason, &self.0.message)
    }
}

/// What an error body says, kept on the response so that the layer of the API it
/// answers for can write it in that API's shape (`shape_error`).
#[derive(Debug, Clone)]
struct ErrorParts {
    reason: String,
    message: String,
}

/// `{code, reason, message, status, @type: "Error"}` (TMF630 error representation), with
/// `code` and `status` the HTTP status as strings; `shape_error` rewrites it for an API
/// whose `Error` types them otherwise.
pub fn error_response(status: StatusCode, reason: &str, message: &str) -> Response {
    let mut response = shaped_error(ErrorShape::default(), status, reason, message);
    response.extensions_mut().insert(ErrorParts {
        reason: reason.to_string(),
        message: message.to_string(),
    });
    response
}

/// The error body as `shape` types its fields (TMF630 strings; TMF685 v1 integers).
/// Where `reason` is an integer it carries the status too, and the text reason leads
/// the message.
fn shaped_error(shape: ErrorShape, status: StatusCode, reason: &str, message: &str) -> Response {
    let number = status.as_u16();
    let typed = |field: ErrorField| match field {
        ErrorField::Text => json!(number.to_string()),
        ErrorField::Integer => json!(number),
    };
    let (reason, message) = match shape.reason {
        ErrorField::Text => (json!(reason), message.to_string()),
        ErrorField::Integer => (json!(number), format!("{reason}: {message}")),
    };
    let body = json!({
        "code": typed(shape.code),
        "reason": reason,
        "message": message,
        "status": typed(shape.status),
        "@type": "Error",
    });
    json_response(status, body.to_string())
}

/// Writes an error answered under one API in the shape of that API's `Error`
/// definition; every other response passes untouched.
pub async fn shape_error(State(shape): State<ErrorShape>, response: Response) -> Response {
    if shape == ErrorShape::default() {
        return response;
    }
    match response.extensions().get::<ErrorParts>() {
        Some(parts) => shaped_error(shape, response.status(), &parts.reason, &parts.message),
        None => response,
    }
}

fn json_response(status: StatusCode, body: String) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON));
    response
}

fn resource_response(status: StatusCode, stored: Stored) -> Response {
    let etag = stored.etag();
    let mut response = json_response(status, stored.json);
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

type Handled = Result<Response, ApiError>;

/// 204, as DELETE answers.
fn no_content() -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    response
}

/// The `{id}` segment of an item path. A segment that does not decode to UTF-8 is
/// refused with a TMF error body rather than axum's plain-text rejection.
pub struct ItemId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ItemId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(id)| ItemId(id))
            .map_err(|rejection| ApiError(Error::bad_request(rejection.body_text())))
    }
}

/// What the client said its body is.
enum BodyType {
    Json,
    MergePatch,
    JsonPatch,
}

fn body_type(headers: &HeaderMap) -> Result<BodyType, Error> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        // No Content-Type: read the body as JSON, the only type TMF speaks.
        return Ok(BodyType::Json);
    };
    let text = value.to_str().unwrap_or_default().to_ascii_lowercase();
    let essence = text.split(';').next().unwrap_or_default().trim();
    match essence {
        "application/json" => Ok(BodyType::Json),
        "application/merge-patch+json" => Ok(BodyType::MergePatch),
        "application/json-patch+json" => Ok(BodyType::JsonPatch),
        other => Err(Error::new(
            ErrorKind::UnsupportedMediaType,
            "Unsupported media type",
            format!(
                "Content-Type '{other}' is not accepted; use application/json \
                 (or, for PATCH, application/merge-patch+json or application/json-patch+json)"
            ),
        )),
    }
}

/// Reads the whole body within the limit and parses it as JSON.
async fn read_json(state: &AppState, request: Request) -> Result<(BodyType, Value), Error> {
    let kind = body_type(request.headers())?;
    let too_large = || {
        Error::new(
            ErrorKind::PayloadTooLarge,
            "Payload too large",
            format!(
                "the body exceeds the limit of {} bytes",
                state.max_body_bytes
            ),
        )
    };
    if let Some(length) = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok())
    {
        if length > state.max_body_bytes {
            return Err(too_large());
        }
    }
    // Read frame by frame rather than with `to_bytes`, whose one error cannot tell a
    // body over the limit from one cut short (a client that closed early gets a 400).
    let mut body = request.into_body();
    let mut bytes = Vec::new();
    while let Some(frame) =
        std::future::poll_fn(|context| std::pin::Pin::new(&mut body).poll_frame(context)).await
    {
        let frame = frame
            .map_err(|error| Error::bad_request(format!("the body could not be read: {error}")))?;
        if let Ok(data) = frame.into_data() {
            if bytes.len() + data.len() > state.max_body_bytes {
                return Err(too_large());
            }
            bytes.extend_from_slice(&data);
        }
    }
    if bytes.is_empty() {
        return Err(Error::bad_request(
            "the request has no body; a JSON document is expected",
        ));
    }
    let value = serde_json::from_slice(&bytes)
        .map_err(|error| Error::bad_request(format!("the body is not valid JSON: {error}")))?;
    Ok((kind, value))
}

fn if_match(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::IF_MATCH)
        .and_then(|value| value.to_str().ok())
        .map(str::to_string)
}

fn raw_query(request: &Request) -> String {
    request.uri().query().unwrap_or_default().to_string()
}

pub async fn list(State(state): State<AppState>, at: ResourceRef, request: Request) -> Handled {
    let result: ListResult = state.engine.list(at, &raw_query(&request)).await?;
    let status = if result.count < result.total {
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    };
    let mut response = json_response(status, result.json);
    let headers = response.headers_mut();
    headers.insert("X-Total-Count", HeaderValue::from(result.total));
    headers.insert("X-Result-Count", HeaderValue::from(result.count));
    Ok(response)
}

pub async fn create(State(state): State<AppState>, at: ResourceRef, request: Request) -> Handled {
    let (kind, body) = read_json(&state, request).await?;
    if !matches!(kind, BodyType::Json) {
        return Err(Error::new(
            ErrorKind::UnsupportedMediaType,
            "Unsupported media type",
            "POST takes application/json",
        )
        .into());
    }
    let stored = state.engine.create(at, body).await?;
    let location = state.engine.location(at, &stored.id).ok();
    let mut response = resource_response(StatusCode::CREATED, stored);
    if let Some(location) = location.and_then(|href| HeaderValue::from_str(&href).ok()) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

pub async fn retrieve(
    State(state): State<AppState>,
    at: ResourceRef,
    ItemId(id): ItemId,
    request: Request,
) -> Handled {
    let stored = state.engine.retrieve(at, &id, &raw_query(&request)).await?;
    Ok(resource_response(StatusCode::OK, stored))
}

/// A declared read-only view of one resource (decomposition tree, impact walk).
pub async fn view(
    State(state): State<AppState>,
    at: ResourceRef,
    ItemId(id): ItemId,
    name: &'static str,
    request: Request,
) -> Handled {
    let value = state
        .engine
        .view(at, &id, name, &raw_query(&request))
        .await?;
    Ok(json_response(StatusCode::OK, value.to_string()))
}

pub async fn patch(
    State(state): State<AppState>,
    at: ResourceRef,
    ItemId(id): ItemId,
    request: Request,
) -> Handled {
    let condition = if_match(request.headers());
    let (kind, body) = read_json(&state, request).await?;
    let kind = match kind {
        BodyType::Json | BodyType::MergePatch => PatchKind::Merge,
        BodyType::JsonPatch => PatchKind::JsonPatch,
    };
    let stored = state
        .engine
        .patch(at, &id, kind, body, condition.as_deref())
        .await?;
    Ok(resource_response(StatusCode::OK, stored))
}

pub async fn delete(
    State(state): State<AppState>,
    at: ResourceRef,
    ItemId(id): ItemId,
    request: Request,
) -> Handled {
    let condition = if_match(request.headers());
    state.engine.delete(at, &id, condition.as_deref()).await?;
    Ok(no_content())
}

pub async fn hub_create(State(state): State<AppState>, api: usize, request: Request) -> Handled {
    let (_, body) = read_json(&state, request).await?;
    let stored = state.engine.hub_create(api, body).await?;
    Ok(resource_response(StatusCode::CREATED, stored))
}

pub async fn hub_get(State(state): State<AppState>, api: usize, ItemId(id): ItemId) -> Handled {
    let stored = state.engine.hub_get(api, &id).await?;
    Ok(resource_response(StatusCode::OK, stored))
}

pub async fn hub_delete(State(state): State<AppState>, api: usize, ItemId(id): ItemId) -> Handled {
    state.engine.hub_delete(api, &id).await?;
    Ok(no_content())
}

pub async fn health() -> Response {
    json_response(StatusCode::OK, json!({"status": "ok"}).to_string())
}

/// Longest wait for the database's answer to `/ready`: a probe must not hang on a
/// database that accepts connections but never answers.
const READY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

pub async fn ready(State(state): State<AppState>) -> Response {
    let ping = tokio::time::timeout(READY_TIMEOUT, state.engine.store().ping()).await;
    if ping.unwrap_or(false) {
        json_response(StatusCode::OK, json!({"status": "ready"}).to_string())
    } else {
        error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            "Service unavailable",
            "the database is not reachable",
        )
    }
}

pub async fn metrics() -> Response {
    let body = crate::telemetry::prometheus()
        .map(|handle| handle.render())
        .unwrap_or_default();
    let mut response = Response::new(Body::from(body));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    response
}

/// 404 for a path no route serves, in the shape of the API whose base path it is under.
pub async fn not_found(State(state): State<AppState>, request: Request) -> Response {
    let path = request.uri().path();
    let response = error_response(
        StatusCode::NOT_FOUND,
        "Not found",
        &format!("no resource at {path}"),
    );
    match api_at(&state.engine, path) {
        Some(api) => shape_error(State(api.error_shape), response).await,
        None => response,
    }
}

/// The API whose base path `path` is, or is under.
pub fn api_at<'a>(engine: &'a Engine, path: &str) -> Option<&'a ApiRuntime> {
    engine.apis().iter().find(|api| {
        path.strip_prefix(api.decl.base_path)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

pub async fn method_not_allowed(request: Request) -> Response {
    error_response(
        StatusCode::METHOD_NOT_ALLOWED,
        "Method not allowed",
        &format!(
            "{} is not offered on {}",
            request.method(),
            request.uri().path()
        ),
    )
}

/// A panic inside a handler becomes a TMF 500 instead of a dropped connection.
pub fn panic_response(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    error_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Internal error",
        "the server failed to handle the request",
    )
}
