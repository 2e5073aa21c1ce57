//! What tells a person or a tool what this server serves: `GET /` (the index of every
//! API, JSON or HTML by `Accept`), `{base}/openapi.json` (each API's document, see
//! `openapi`), `/openapi.json` (the list of them) and `/docs` (Swagger UI over those
//! documents). Swagger UI's built files are vendored in `crates/server/assets/swagger-ui`
//! and embedded in the binary: the page loads nothing from elsewhere.

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use serde_json::{json, Value};

use crate::openapi::{self, ApiDocument};

const SWAGGER_UI_VERSION: &str = "5.36.0";

/// The documents of the served APIs, serialized once at start-up.
pub struct Documents {
    pub apis: Vec<ApiDocument>,
    /// `/openapi.json`.
    list: Bytes,
    /// `GET /` as JSON and as HTML.
    index_json: Bytes,
    index_html: Bytes,
    /// The page's configuration script: every document, by name.
    init_js: Bytes,
}

impl Documents {
    pub fn new(apis: Vec<ApiDocument>) -> Documents {
        let list = Bytes::from(openapi::list(&apis).to_string());
        let index_json = json!({
            "name": "Switchboard",
            "version": env!("CARGO_PKG_VERSION"),
            "openapi": "/openapi.json",
            "docs": "/docs",
            "apis": apis.iter().map(ApiDocument::summary).collect::<Vec<_>>(),
        })
        .to_string()
        .into();
        let index_html = index_html(&apis).into();
        let init_js = init_js(&apis).into();
        Documents {
            apis,
            list,
            index_json,
            index_html,
            init_js,
        }
    }
}

/// A static file of the page: its path under `/docs`, content type and bytes.
pub struct Asset {
    pub path: String,
    content_type: &'static str,
    bytes: &'static [u8],
}

/// Swagger UI's files, at a path naming their version, so they can be cached for good.
pub fn assets() -> Vec<Asset> {
    let asset = |name: &str, content_type, bytes| Asset {
        path: format!("/docs/swagger-ui-{SWAGGER_UI_VERSION}/{name}"),
        content_type,
        bytes,
    };
    vec![
        asset(
            "swagger-ui-bundle.js",
            "text/javascript; charset=utf-8",
            include_bytes!("../assets/swagger-ui/swagger-ui-bundle.js"),
        ),
        asset(
            "swagger-ui-standalone-preset.js",
            "text/javascript; charset=utf-8",
            include_bytes!("../assets/swagger-ui/swagger-ui-standalone-preset.js"),
        ),
        asset(
            "swagger-ui.css",
            "text/css; charset=utf-8",
            include_bytes!("../assets/swagger-ui/swagger-ui.css"),
        ),
        asset(
            "favicon-32x32.png",
            "image/png",
            include_bytes!("../assets/swagger-ui/favicon-32x32.png"),
        ),
        asset(
            "LICENSE",
            "text/plain; charset=utf-8",
            include_bytes!("../assets/swagger-ui/LICENSE"),
        ),
    ]
}

fn respond(content_type: &'static str, cache: &'static str, body: Body) -> Response {
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

/// What may change with the next start (the APIs served): revalidate.
const FRESH: &str = "no-cache";
const JSON: &str = "application/json;charset=utf-8";

pub fn asset(asset: &Asset) -> Response {
    respond(
        asset.content_type,
        "public, max-age=31536000, immutable",
        Body::from(asset.bytes),
    )
}

pub fn api_document(documents: &Documents, index: usize) -> Response {
    let json = documents
        .apis
        .get(index)
        .map(|api| api.json.clone())
        .unwrap_or_default();
    respond(JSON, FRESH, Body::from(json))
}

pub fn list(documents: &Documents) -> Response {
    respond(JSON, FRESH, Body::from(documents.list.clone()))
}

pub fn init_script(documents: &Documents) -> Response {
    respond(
        "text/javascript; charset=utf-8",
        FRESH,
        Body::from(documents.init_js.clone()),
    )
}

/// `GET /`: HTML when the client prefers it to JSON (a browser), else JSON.
pub fn index(documents: &Documents, headers: &HeaderMap) -> Response {
    let mut response = if prefers_html(headers) {
        respond(
            "text/html; charset=utf-8",
            FRESH,
            Body::from(documents.index_html.clone()),
        )
    } else {
        respond(JSON, FRESH, Body::from(documents.index_json.clone()))
    };
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("accept"));
    *response.status_mut() = StatusCode::OK;
    response
}

pub fn page() -> Response {
    let html = format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Switchboard API documents</title>
<link rel="stylesheet" href="/docs/swagger-ui-{v}/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/swagger-ui-{v}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-{v}/swagger-ui-bundle.js"></script>
<script src="/docs/swagger-ui-{v}/swagger-ui-standalone-preset.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
"#,
        v = SWAGGER_UI_VERSION
    );
    respond("text/html; charset=utf-8", FRESH, Body::from(html))
}

/// The q-value of the best media range of `Accept` matching `media` (0 when none does).
fn quality(accept: &str, media: &str) -> f32 {
    let (kind, _) = media.split_once('/').unwrap_or((media, ""));
    accept
        .split(',')
        .filter_map(|range| {
            let mut parts = range.split(';').map(str::trim);
            let name = parts.next()?.to_ascii_lowercase();
            let q = parts
                .find_map(|p| p.strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            let matches = name == media || name == format!("{kind}/*") || name == "*/*";
            // A specific range outranks a wildcard of the same q.
            let specificity = if name == media { 0.0001 } else { 0.0 };
            matches.then_some(q + specificity)
        })
        .fold(0.0, f32::max)
}

fn prefers_html(headers: &HeaderMap) -> bool {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    let html = quality(accept, "text/html");
    html > 0.0 && html > quality(accept, "application/json")
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn index_html(apis: &[ApiDocument]) -> String {
    let rows: String = apis
        .iter()
        .map(|api| {
            format!(
                "<tr><td>{id}</td><td>{name}</td><td>{version}</td><td><code>{base}</code></td>\
                 <td><a href=\"{docs}\">docs</a></td><td><a href=\"{url}\">openapi.json</a></td></tr>\n",
                id = escape(api.id),
                name = escape(api.name),
                version = escape(&api.version),
                base = escape(api.base_path),
                docs = escape(&api.docs_url()),
                url = escape(&api.url()),
            )
        })
        .collect();
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Switchboard</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; }}
table {{ border-collapse: collapse; }}
td, th {{ padding: .3rem .8rem; border-bottom: 1px solid #ddd; text-align: left; }}
</style>
</head>
<body>
<h1>Switchboard</h1>
<p>TM Forum Open APIs served here. <a href="/docs">All API documents</a> ·
<a href="/openapi.json">/openapi.json</a></p>
<table>
<tr><th>API</th><th>Name</th><th>Version</th><th>Base path</th><th></th><th></th></tr>
{rows}</table>
</body>
</html>
"#
    )
}

fn init_js(apis: &[ApiDocument]) -> String {
    let urls: Vec<Value> = apis
        .iter()
        .map(|api| {
            json!({
                "id": api.id,
                "name": format!("{} {} {}", api.id, api.name, api.version),
                "url": api.url(),
            })
        })
        .collect();
    format!(
        r##"window.onload = function () {{
  var urls = {urls};
  var wanted = new URLSearchParams(window.location.search).get("api");
  var primary = urls.find(function (entry) {{ return entry.id === wanted; }}) || urls[0];
  window.ui = SwaggerUIBundle({{
    urls: urls,
    "urls.primaryName": primary ? primary.name : undefined,
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: "StandaloneLayout"
  }});
}};
"##,
        urls = Value::from(urls)
    )
}
