//! Every endpoint, mounted in one place. Per API: `{base}/{collection}` (GET list, POST),
//! `{base}/{collection}/{id}` (GET, PATCH, DELETE) for each declared resource, and
//! `{base}/{collection}/{id}/{view}` (GET) for each view a resource declares,
//! `{base}/hub`, `{base}/hub/{id}`. Plus `/health`, `/ready`, `/metrics`, which are all
//! a worker-only process (`--role worker`) serves.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use switchboard_engine::{Engine, ErrorShape, ResourceRef};
use tower_http::catch_panic::CatchPanicLayer;

use crate::http::{self, AppState, ItemId};
use crate::telemetry::{self, ApiOfPath};

pub fn router(engine: Engine, max_body_bytes: usize) -> Router {
    let state = AppState {
        engine: engine.clone(),
        max_body_bytes,
    };
    let mut router = operations();
    let mut bases: Vec<(String, &'static str)> = Vec::new();
    for (api_index, api) in engine.apis().iter().enumerate() {
        let base = api.decl.base_path;
        bases.push((base.to_string(), api.decl.code));
        // Each API's routes answer errors in the shape of its own `Error` definition
        // (a layer only where that is not TMF630's).
        let mut api_router = Router::new();
        for (resource_index, resource) in api.resources().enumerate() {
            let at = ResourceRef {
                api: api_index,
                resource: resource_index,
            };
            let collection = format!("{base}/{}", resource.collection);
            api_router = api_router
                .route(&collection, collection_routes(at))
                .route(&format!("{collection}/{{id}}"), item_routes(at));
            for (name, _) in &resource.views {
                let name: &'static str = name;
                api_router = api_router.route(
                    &format!("{collection}/{{id}}/{name}"),
                    get(
                        move |state: State<AppState>, id: ItemId, request: Request| {
                            http::view(state, at, id, name, request)
                        },
                    )
                    .fallback(http::method_not_allowed),
                );
            }
        }
        api_router = api_router
            .route(
                &format!("{base}/hub"),
                post(move |state: State<AppState>, request: Request| {
                    http::hub_create(state, api_index, request)
                })
                .fallback(http::method_not_allowed),
            )
            .route(
                &format!("{base}/hub/{{id}}"),
                get(move |state: State<AppState>, id: ItemId| http::hub_get(state, api_index, id))
                    .delete(move |state: State<AppState>, id: ItemId| {
                        http::hub_delete(state, api_index, id)
                    })
                    .fallback(http::method_not_allowed),
            );
        if api.error_shape != ErrorShape::default() {
            api_router = api_router.layer(axum::middleware::map_response_with_state(
                api.error_shape,
                http::shape_error,
            ));
        }
        router = router.merge(api_router);
    }
    let bases = Arc::new(bases);
    let api_of: ApiOfPath = Arc::new(move |path: &str| {
        bases
            .iter()
            .find(|(base, _)| path.starts_with(base.as_str()))
            .map(|(_, code)| *code)
            .unwrap_or("other")
    });
    finish(router, state, api_of)
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

fn collection_routes(at: ResourceRef) -> MethodRouter<AppState> {
    get(move |state: State<AppState>, request: Request| http::list(state, at, request))
        .post(move |state: State<AppState>, request: Request| http::create(state, at, request))
        .fallback(http::method_not_allowed)
}

fn item_routes(at: ResourceRef) -> MethodRouter<AppState> {
    get(
        move |state: State<AppState>, id: ItemId, request: Request| {
            http::retrieve(state, at, id, request)
        },
    )
    .patch(
        move |state: State<AppState>, id: ItemId, request: Request| {
            http::patch(state, at, id, request)
        },
    )
    .delete(
        move |state: State<AppState>, id: ItemId, request: Request| {
            http::delete(state, at, id, request)
        },
    )
    .fallback(http::method_not_allowed)
}
