//! The paths and operations of one API's document, one per route `routes.rs` mounts for
//! it: per resource the collection (list, create), the item (retrieve, patch, delete) as
//! its `Operations` allow, its views; then the hub. Request bodies are the definitions
//! the engine validates with (`create_schema`, `update_schema`), responses the resource
//! definition, errors the API's own `Error` definition.

use openapiv3::{
    ArrayType, Header, IntegerType, Link, LinkOperation, MediaType, Operation, Parameter,
    ParameterData, ParameterSchemaOrContent, PathItem, Paths, ReferenceOr, RequestBody, Response,
    Responses, Schema, SchemaKind, StatusCode, Type,
};
use serde_json::{Map, Value};
use switchboard_engine::{ApiRuntime, ResourceDecl};

use super::{COMPONENTS, JSON_PATCH, VIEW};

pub(crate) const HUB_TAG: &str = "Notification listeners (hub)";
const JSON: &str = "application/json";
/// The TMF630 query parameters of a list; an attribute filter may not take these names.
const RESERVED: &[&str] = &["fields", "offset", "limit", "sort", "depth", "expand"];

pub(crate) fn paths(api: &ApiRuntime, definitions: &Map<String, Value>) -> Result<Paths, String> {
    let mut paths = Paths::default();
    let mut add = |path: String, item: PathItem| {
        paths.paths.insert(path, ReferenceOr::Item(item));
    };
    for resource in api.resources() {
        let ops = resource.operations;
        let type_name = resource.resource_type;
        let collection = format!("/{}", resource.collection);
        let item = format!("{collection}/{{id}}");
        add(
            collection,
            PathItem {
                get: ops.list.then(|| list(resource, definitions)).transpose()?,
                post: ops.create.then(|| create(resource)),
                ..PathItem::default()
            },
        );
        add(
            item.clone(),
            PathItem {
                get: ops.retrieve.then(|| retrieve(resource)),
                patch: ops.patch.then(|| patch(resource)),
                delete: ops.delete.then(|| delete(resource)),
                parameters: vec![id_parameter()],
                ..PathItem::default()
            },
        );
        for (name, _) in &resource.views {
            let mut operation = operation(
                type_name,
                format!("{name}{type_name}"),
                format!("The '{name}' view of a {type_name} (a Switchboard extension)"),
                (200, "The view", Some(schema_ref(VIEW))),
                &[400, 404, 409],
            );
            operation
                .extensions
                .insert(super::EXTENSION.to_string(), Value::Bool(true));
            add(
                format!("{item}/{name}"),
                PathItem {
                    get: Some(operation),
                    parameters: vec![id_parameter()],
                    ..PathItem::default()
                },
            );
        }
    }
    let mut register = operation(
        HUB_TAG,
        "registerListener".to_string(),
        "Registers a listener of this API's events".to_string(),
        (
            201,
            "The subscription",
            Some(schema_ref("EventSubscription")),
        ),
        &[400, 413, 415],
    );
    register.request_body = Some(body(&[(JSON, schema_ref("EventSubscriptionInput"))]));
    link(
        &mut register,
        201,
        &[
            "retrieveListener".to_string(),
            "unregisterListener".to_string(),
        ],
    );
    add(
        "/hub".to_string(),
        PathItem {
            post: Some(register),
            ..PathItem::default()
        },
    );
    add(
        "/hub/{id}".to_string(),
        PathItem {
            get: Some(operation(
                HUB_TAG,
                "retrieveListener".to_string(),
                "Retrieves a listener".to_string(),
                (
                    200,
                    "The subscription",
                    Some(schema_ref("EventSubscription")),
                ),
                &[400, 404],
            )),
            delete: Some(operation(
                HUB_TAG,
                "unregisterListener".to_string(),
                "Removes a listener; events queued for it are dropped".to_string(),
                (204, "Removed", None),
                &[400, 404],
            )),
            parameters: vec![id_parameter()],
            ..PathItem::default()
        },
    );
    Ok(paths)
}

fn list(resource: &ResourceDecl, definitions: &Map<String, Value>) -> Result<Operation, String> {
    let type_name = resource.resource_type;
    let page = || {
        let mut response = response(
            "A page of the matches, as a bare array",
            Some(array_of(schema_ref(type_name))),
        );
        for name in ["X-Total-Count", "X-Result-Count"] {
            response.headers.insert(
                name.to_string(),
                ReferenceOr::Item(header(
                    match name {
                        "X-Total-Count" => "How many resources match",
                        _ => "How many are in this page",
                    },
                    integer(),
                )),
            );
        }
        response
    };
    let mut operation = operation(
        type_name,
        format!("list{type_name}"),
        format!("Lists or finds {type_name} objects"),
        (200, "", None),
        &[400],
    );
    operation
        .responses
        .responses
        .insert(StatusCode::Code(200), ReferenceOr::Item(page()));
    let mut partial = page();
    partial.description = "A strict part of the matches (offset and limit)".to_string();
    operation
        .responses
        .responses
        .insert(StatusCode::Code(206), ReferenceOr::Item(partial));
    operation.parameters = vec![
        fields_parameter(),
        query(
            "offset",
            "Index of the first match to answer (from 0)",
            integer(),
        ),
        query(
            "limit",
            "How many matches to answer at most (100 by default, at most 1000)",
            integer(),
        ),
        query(
            "sort",
            "Comma-separated attributes to sort by; '-' before one sorts it descending",
            string(),
        ),
    ];
    for name in filterable(definitions, type_name) {
        operation.parameters.push(query(
            &name,
            "Filter: equal to this value (a comma-separated list: any of them). The TMF630 \
             operators are also accepted as suffixes of the name (.gt, .gte, .lt, .lte, .ne, \
             .eq, .regex), as are nested paths (a.b=x)",
            string(),
        ));
    }
    Ok(operation)
}

fn create(resource: &ResourceDecl) -> Operation {
    let type_name = resource.resource_type;
    let mut operation = operation(
        type_name,
        format!("create{type_name}"),
        format!("Creates a {type_name}"),
        (201, "Created", Some(schema_ref(type_name))),
        &[400, 409, 413, 415],
    );
    if let Some(ReferenceOr::Item(created)) = operation
        .responses
        .responses
        .get_mut(&StatusCode::Code(201))
    {
        created.headers.insert(
            "Location".to_string(),
            ReferenceOr::Item(header("The new resource's href", string())),
        );
        created.headers.insert(
            "ETag".to_string(),
            ReferenceOr::Item(header("The version, for If-Match", string())),
        );
    }
    operation.request_body = Some(body(&[(JSON, input_schema(resource.create_schema))]));
    let ops = resource.operations;
    let mut targets: Vec<String> = [
        (ops.retrieve, "retrieve"),
        (ops.patch, "patch"),
        (ops.delete, "delete"),
    ]
    .into_iter()
    .filter(|(offered, _)| *offered)
    .map(|(_, verb)| format!("{verb}{type_name}"))
    .collect();
    targets.extend(
        resource
            .views
            .iter()
            .map(|(name, _)| format!("{name}{type_name}")),
    );
    link(&mut operation, 201, &targets);
    operation
}

/// Links from a create's answer to the operations on the new item (its `id`), so that a
/// client (or a fuzzer's stateful phase) can follow them.
fn link(operation: &mut Operation, status: u16, targets: &[String]) {
    let Some(ReferenceOr::Item(response)) = operation
        .responses
        .responses
        .get_mut(&StatusCode::Code(status))
    else {
        return;
    };
    for target in targets {
        let mut link = Link {
            description: None,
            operation: LinkOperation::OperationId(target.clone()),
            request_body: None,
            parameters: Default::default(),
            server: None,
            extensions: Default::default(),
        };
        link.parameters
            .insert("id".to_string(), Value::from("$response.body#/id"));
        response
            .links
            .insert(target.clone(), ReferenceOr::Item(link));
    }
}

fn retrieve(resource: &ResourceDecl) -> Operation {
    let type_name = resource.resource_type;
    let mut operation = operation(
        type_name,
        format!("retrieve{type_name}"),
        format!("Retrieves a {type_name} by id"),
        (200, "The resource", Some(schema_ref(type_name))),
        &[400, 404],
    );
    operation.parameters.push(fields_parameter());
    with_etag(&mut operation, 200);
    operation
}

fn patch(resource: &ResourceDecl) -> Operation {
    let type_name = resource.resource_type;
    let mut operation = operation(
        type_name,
        format!("patch{type_name}"),
        format!("Updates partially a {type_name}"),
        (200, "The resource as changed", Some(schema_ref(type_name))),
        &[400, 404, 409, 412, 413, 415],
    );
    let merge = input_schema(resource.update_schema.or(resource.create_schema));
    operation.request_body = Some(body(&[
        ("application/merge-patch+json", merge.clone()),
        (JSON, merge),
        ("application/json-patch+json", schema_ref(JSON_PATCH)),
    ]));
    operation.parameters.push(if_match());
    with_etag(&mut operation, 200);
    operation
}

fn delete(resource: &ResourceDecl) -> Operation {
    let type_name = resource.resource_type;
    let mut operation = operation(
        type_name,
        format!("delete{type_name}"),
        format!("Deletes a {type_name}"),
        (204, "Deleted", None),
        &[400, 404, 409, 412],
    );
    operation.parameters.push(if_match());
    operation
}

/// An operation with its success response, the error responses it may give (the API's
/// `Error` definition), and 503 for a database out of reach.
fn operation(
    tag: &str,
    id: String,
    summary: String,
    (status, description, schema): (u16, &str, Option<ReferenceOr<Schema>>),
    errors: &[u16],
) -> Operation {
    let mut responses = Responses::default();
    responses.responses.insert(
        StatusCode::Code(status),
        ReferenceOr::Item(response(description, schema)),
    );
    for &code in errors.iter().chain(&[503]) {
        responses.responses.insert(
            StatusCode::Code(code),
            ReferenceOr::Item(response(error_text(code), Some(schema_ref("Error")))),
        );
    }
    Operation {
        tags: vec![tag.to_string()],
        summary: Some(summary),
        operation_id: Some(id),
        responses,
        ..Operation::default()
    }
}

fn error_text(code: u16) -> &'static str {
    match code {
        400 => "Bad request: the body, the query or the id does not fit",
        404 => "No such resource",
        409 => "Conflict: a state move not allowed, a reference in service, a concurrent change",
        412 => "If-Match names another version",
        413 => "The body exceeds the limit",
        415 => "Content type not accepted",
        _ => "The database is out of reach",
    }
}

fn response(description: &str, schema: Option<ReferenceOr<Schema>>) -> Response {
    let mut response = Response {
        description: description.to_string(),
        ..Response::default()
    };
    if let Some(schema) = schema {
        response.content.insert(
            JSON.to_string(),
            MediaType {
                schema: Some(schema),
                ..MediaType::default()
            },
        );
    }
    response
}

fn with_etag(operation: &mut Operation, status: u16) {
    if let Some(ReferenceOr::Item(response)) = operation
        .responses
        .responses
        .get_mut(&StatusCode::Code(status))
    {
        response.headers.insert(
            "ETag".to_string(),
            ReferenceOr::Item(header("The version, for If-Match", string())),
        );
    }
}

fn body(types: &[(&str, ReferenceOr<Schema>)]) -> ReferenceOr<RequestBody> {
    let mut body = RequestBody {
        required: true,
        ..RequestBody::default()
    };
    for (media, schema) in types {
        body.content.insert(
            media.to_string(),
            MediaType {
                schema: Some(schema.clone()),
                ..MediaType::default()
            },
        );
    }
    ReferenceOr::Item(body)
}

/// The definition a body is validated with; a resource without one takes any object.
fn input_schema(definition: Option<&str>) -> ReferenceOr<Schema> {
    match definition {
        Some(name) => schema_ref(name),
        None => object(),
    }
}

fn data(
    name: &str,
    description: &str,
    required: bool,
    schema: ReferenceOr<Schema>,
) -> ParameterData {
    ParameterData {
        name: name.to_string(),
        description: Some(description.to_string()),
        required,
        deprecated: None,
        format: ParameterSchemaOrContent::Schema(schema),
        example: None,
        examples: Default::default(),
        explode: None,
        extensions: Default::default(),
    }
}

fn query(name: &str, description: &str, schema: ReferenceOr<Schema>) -> ReferenceOr<Parameter> {
    ReferenceOr::Item(Parameter::Query {
        parameter_data: data(name, description, false, schema),
        allow_reserved: false,
        style: Default::default(),
        allow_empty_value: None,
    })
}

fn fields_parameter() -> ReferenceOr<Parameter> {
    query(
        "fields",
        "Comma-separated attributes to answer (id and href always are)",
        string(),
    )
}

fn id_parameter() -> ReferenceOr<Parameter> {
    ReferenceOr::Item(Parameter::Path {
        parameter_data: data("id", "Identifier of the resource", true, string()),
        style: Default::default(),
    })
}

fn if_match() -> ReferenceOr<Parameter> {
    ReferenceOr::Item(Parameter::Header {
        parameter_data: data(
            "If-Match",
            "Apply only to this version (an ETag; a list, or *)",
            false,
            string(),
        ),
        style: Default::default(),
    })
}

fn header(description: &str, schema: ReferenceOr<Schema>) -> Header {
    Header {
        description: Some(description.to_string()),
        style: Default::default(),
        required: true,
        deprecated: None,
        format: ParameterSchemaOrContent::Schema(schema),
        example: None,
        examples: Default::default(),
        extensions: Default::default(),
    }
}

/// The top-level attributes of a definition that hold a scalar (directly or through a
/// `$ref`): those a list can filter on by name.
fn filterable(definitions: &Map<String, Value>, name: &str) -> Vec<String> {
    let scalar = |property: &Value| {
        let target = match property.get("$ref").and_then(Value::as_str) {
            Some(reference) => definitions
                .get(reference.trim_start_matches("#/definitions/"))
                .unwrap_or(&Value::Null),
            None => property,
        };
        matches!(
            target.get("type").and_then(Value::as_str),
            Some("string" | "number" | "integer" | "boolean")
        )
    };
    match definitions.get(name).and_then(|d| d.get("properties")) {
        Some(Value::Object(properties)) => properties
            .iter()
            .filter(|(name, property)| !RESERVED.contains(&name.as_str()) && scalar(property))
            .map(|(name, _)| name.clone())
            .collect(),
        _ => Vec::new(),
    }
}

fn schema_ref(name: &str) -> ReferenceOr<Schema> {
    ReferenceOr::Reference {
        reference: format!("{COMPONENTS}{name}"),
    }
}

fn typed(kind: Type) -> ReferenceOr<Schema> {
    ReferenceOr::Item(Schema {
        schema_data: Default::default(),
        schema_kind: SchemaKind::Type(kind),
    })
}

fn string() -> ReferenceOr<Schema> {
    typed(Type::String(Default::default()))
}

fn integer() -> ReferenceOr<Schema> {
    typed(Type::Integer(IntegerType {
        minimum: Some(0),
        ..IntegerType::default()
    }))
}

fn object() -> ReferenceOr<Schema> {
    typed(Type::Object(Default::default()))
}

fn array_of(items: ReferenceOr<Schema>) -> ReferenceOr<Schema> {
    let items = match items {
        ReferenceOr::Reference { reference } => ReferenceOr::Reference { reference },
        ReferenceOr::Item(schema) => ReferenceOr::Item(Box::new(schema)),
    };
    typed(Type::Array(ArrayType {
        items: Some(items),
        min_items: None,
        max_items: None,
        unique_items: false,
    }))
}
