//! Every endpoint, mounted in one place. Per API: `{base}/{collection}` (GET list, POST),
//! `{base}/{collection}/{id}` (GET, PATCH, DELETE) as each declared resource's
//! `Operations` allow, and `{base}/{collection}/{id}/{view}` (GET) for each view a
//! resource declares, `{base}/hub` (POST), `{base}/hub/{id}` (GET, DELETE), and
//! `{base}/openapi.json`, the API's document. Any other method on a mounted path answers
//! 405. Plus `/` (the index), `/openapi.json`, `/docs` with its files, and `/health`,
//! `/ready`, `/metrics`, which are all a worker-only process (`--role worker`) serves.
//!
//! Each route is recorded (method, path template) as it is mounted, so a test can hold
//! the list against the API documents.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::handler::Handler;
use axum::http::HeaderMap;
use axum::routing::{get, MethodFilter, MethodRouter};
use axum::Router;
use switchboard_engine::{Engine, ErrorShape, Operations, ResourceRef};
use tower_http::catch_panic::CatchPanicLayer;

use crate::docs::{self, Documents};
use crate::http::{self, AppState, ItemId};
use crate::telemetry::{self, ApiOfPath};

/// A mounted route: method ("GET") and path template ("/tmf-api/…/productOffering/{id}").
pub type MountedRoute = (&'static str, String);

#[derive(Clone, Copy)]
enum Verb {
    Get,
    Post,
    Patch,
    Delete,
}

impl Verb {
    fn filter(self) -> MethodFilter {
        match self {
            Verb::Get => MethodFilter::GET,
            Verb::Post => MethodFilter::POST,
            Verb::Patch => MethodFilter::PATCH,
            Verb::Delete => MethodFilter::DELETE,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::Post => "POST",
            Verb::Patch => "PATCH",
            Verb::Delete => "DELETE",
        }
    }
}

/// One method's handler, to mount with others on a path.
fn on<H, T>(verb: Verb, handler: H) -> (Verb, MethodRouter<AppState>)
where
    H: Handler<T, AppState>,
    T: 'static,
{
    (verb, axum::routing::on(verb.filter(), handler))
}

/// The router being built, with the list of what it mounted.
struct Mount {
    router: Router<AppState>,
    routes: Vec<MountedRoute>,
}

impl Mount {
    /// Mounts `path` with these handlers; any other method answers 405.
    fn route(mut self, path: &str, handlers: Vec<(Verb, MethodRouter<AppState>)>) -> Self {
        let mut methods = MethodRouter::new();
        for (verb, handler) in handlers {
            self.routes.push((verb.name(), path.to_string()));
            methods = methods.merge(handler);
        }
        self.router = self
            .router
            .route(path, methods.fallback(http::method_not_allowed));
        self
    }
}

/// The router of a process that serves the APIs, and the routes it mounted.
pub fn router(
    engine: Engine,
    max_body_bytes: usize,
) -> Result<(Router, Vec<MountedRoute>), String> {
    let state = AppState {
        engine: engine.clone(),
        max_body_bytes,
    };
    let documents = Arc::new(Documents::new(crate::openapi::documents(engine.apis())?));
    let mut mount = Mount {
        router: operations(),
        routes: Vec::new(),
    };
    for (api_index, api) in engine.apis().iter().enumerate() {
        let base = api.decl.base_path;
        // Each API's routes answer errors in the shape of its own `Error` definition
        // (a layer only where that is not TMF630's).
        let mut mount_api = Mount {
            router: Router::new(),
            routes: Vec::new(),
        };
        for (resource_index, resource) in api.resources().enumerate() {
            let at = ResourceRef {
                api: api_index,
                resource: resource_index,
            };
            let ops = resource.operations;
            let collection = format!("{base}/{}", resource.collection);
            let mut handlers = Vec::new();
            if ops.list {
                handlers.push(on(
                    Verb::Get,
                    move |state: State<AppState>, request: Request| http::list(state, at, request),
                ));
            }
            if ops.create {
                handlers.push(on(
                    Verb::Post,
                    move |state: State<AppState>, request: Request| {
                        http::create(state, at, request)
                    },
                ));
            }
            mount_api = mount_api.route(&collection, handlers);
            mount_api = mount_api.route(&format!("{collection}/{{id}}"), item_handlers(at, ops));
            for (name, _) in &resource.views {
                let name: &'static str = name;
                mount_api = mount_api.route(
                    &format!("{collection}/{{id}}/{name}"),
                    vec![on(
                        Verb::Get,
                        move |state: State<AppState>, id: ItemId, request: Request| {
                            http::view(state, at, id, name, request)
                        },
                    )],
                );
            }
        }
        mount_api = mount_api
            .route(
                &format!("{base}/hub"),
                vec![on(
                    Verb::Post,
                    move |state: State<AppState>, request: Request| {
                        http::hub_create(state, api_index, request)
                    },
                )],
            )
            .route(
                &format!("{base}/hub/{{id}}"),
                vec![
                    on(Verb::Get, move |state: State<AppState>, id: ItemId| {
                        http::hub_get(state, api_index, id)
                    }),
                    on(Verb::Delete, move |state: State<AppState>, id: ItemId| {
                        http::hub_delete(state, api_index, id)
                    }),
                ],
            );
        let shared = documents.clone();
        mount_api = mount_api.route(
            &format!("{base}/openapi.json"),
            vec![on(Verb::Get, move || {
                let shared = shared.clone();
                async move { docs::api_document(&shared, api_index) }
            })],
        );
        let mut api_router = mount_api.router;
        if api.error_shape != ErrorShape::default() {
            api_router = api_router.layer(axum::middleware::map_response_with_state(
                api.error_shape,
                http::shape_error,
            ));
        }
        mount.router = mount.router.merge(api_router);
        mount.routes.extend(mount_api.routes);
    }
    mount = documentation(mount, documents);
    let api_of: ApiOfPath = Arc::new(move |path: &str| {
        http::api_at(&engine, path)
            .map(|api| api.decl.code)
            .unwrap_or("other")
    });
    Ok((finish(mount.router, state, api_of), mount.routes))
}

/// `/`, `/openapi.json`, `/docs` and the page's files.
fn documentation(mut mount: Mount, documents: Arc<Documents>) -> Mount {
    let shared = documents.clone();
    mount = mount.route(
        "/",
        vec![on(Verb::Get, move |headers: HeaderMap| {
            let shared = shared.clone();
            async move { docs::index(&shared, &headers) }
        })],
    );
    let shared = documents.clone();
    mount = mount.route(
        "/openapi.json",
        vec![on(Verb::Get, move || {
            let shared = shared.clone();
            async move { docs::list(&shared) }
        })],
    );
    mount = mount.route("/docs", vec![on(Verb::Get, || async { docs::page() })]);
    mount = mount.route(
        "/docs/init.js",
        vec![on(Verb::Get, move || {
            let shared = documents.clone();
            async move { docs::init_script(&shared) }
        })],
    );
    for asset in docs::assets() {
        let path = asset.path.clone();
        let asset = Arc::new(asset);
        mount = mount.route(
            &path,
            vec![on(Verb::Get, move || {
                let asset = asset.clone();
                async move { docs::asset(&asset) }
            })],
        );
    }
    mount
}

/// The endpoints of a process without APIs: every other path answers 404.
pub fn operations_router(engine: Engine, max_body_bytes: usize) -> Router {
    let state = AppState {
        engine,
        max_body_bytes,
    };
    finish(operations(), state, Arc::new(|_: &str| "other"))
}

fn operations() -> Router<AppState> {
    Router::new()
        .route("/health", get(http::health))
        .route("/ready", get(http::ready))
        .route("/metrics", get(http::metrics))
}

/// The fallback, the state, and the layers every request goes through.
fn finish(router: Router<AppState>, state: AppState, api_of: ApiOfPath) -> Router {
    router
        .fallback(http::not_found)
        .with_state(state)
        .layer(axum::middleware::from_fn_with_state(
            api_of,
            telemetry::record,
        ))
        .layer(CatchPanicLayer::custom(http::panic_response))
}

fn item_handlers(at: ResourceRef, ops: Operations) -> Vec<(Verb, MethodRouter<AppState>)> {
    let mut handlers = Vec::new();
    if ops.retrieve {
        handlers.push(on(
            Verb::Get,
            move |state: State<AppState>, id: ItemId, request: Request| {
                http::retrieve(state, at, id, request)
            },
        ));
    }
    if ops.patch {
        handlers.push(on(
            Verb::Patch,
            move |state: State<AppState>, id: ItemId, request: Request| {
                http::patch(state, at, id, request)
            },
        ));
    }
    if ops.delete {
        handlers.push(on(
            Verb::Delete,
            move |state: State<AppState>, id: ItemId, request: Request| {
                http::delete(state, at, id, request)
            },
        ));
    }
    handlers
}
