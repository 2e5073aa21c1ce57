//! Validation of bodies against the compact schemas that `cargo xtask import-specs`
//! derives from the official specifications (structure only: types, required, enums,
//! formats, checked as declared), and the shape of each API's `Error`, read from the same file.

use serde_json::{json, Value};

use crate::error::{Error, Result};

/// Errors reported per rejected body; more would only bury the first one.
const MAX_REPORTED: usize = 5;

pub struct BodyValidator {
    definition: String,
    validator: jsonschema::Validator,
}

impl BodyValidator {
    /// Compiles the validator for one definition of a compact schema file.
    pub fn compile(schema_file: &Value, definition: &str) -> std::result::Result<Self, String> {
        Self::compile_with(schema_file, definition, false)
    }

    /// The validator of a merge-patch body: it names only what changes, so the
    /// definition's top-level `required` is dropped (TMF622 v4's `ProductOrder_Update`
    /// requires `productOrderItem`); the patched result is still checked whole against
    /// the create definition.
    pub fn compile_partial(
        schema_file: &Value,
        definition: &str,
    ) -> std::result::Result<Self, String> {
        Self::compile_with(schema_file, definition, true)
    }

    fn compile_with(
        schema_file: &Value,
        definition: &str,
        partial: bool,
    ) -> std::result::Result<Self, String> {
        let definitions = schema_file
            .get("definitions")
            .ok_or_else(|| "schema file has no definitions".to_string())?;
        if definitions.get(definition).is_none() {
            return Err(format!("schema has no definition '{definition}'"));
        }
        // The server sets `id` and `href`; a definition that requires them from the client
        // (TMF639 v4's `Resource_Create` does) is read without that requirement.
        let mut definitions = definitions.clone();
        if let Some(Value::Object(target)) = definitions.get_mut(definition) {
            if let Some(Value::Array(required)) = target.get_mut("required") {
                required.retain(|name| !partial && !matches!(name.as_str(), Some("id" | "href")));
                // Draft 4 wants a non-empty `required`: drop it when nothing is left.
                if required.is_empty() {
                    target.remove("required");
                }
            }
        }
        bound_integers(&mut definitions);
        let root = json!({
            "$ref": format!("#/definitions/{definition}"),
            "definitions": definitions,
        });
        // Formats are checked as the specifications declare them: `date-time` is RFC
        // 3339, `uri` an RFC 3986 URI (with a scheme; see docs/wire-choices.md). The
        // others they use (`float`, `base64`) are not draft 4 formats and stay unchecked.
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft4)
            .should_validate_formats(true)
            .should_ignore_unknown_formats(true)
            .build(&root)
            .map_err(|error| format!("definition '{definition}': {error}"))?;
        Ok(BodyValidator {
            definition: definition.to_string(),
            validator,
        })
    }

    /// Checks a body; the error names each offending attribute by its JSON pointer and
    /// never echoes the offending value (it may be huge).
    pub fn check(&self, body: &Value) -> Result<()> {
        self.check_against(body, None)
    }

    /// Checks a changed document, leaving out what it kept as `previous` had it: a value
    /// stored before a check existed (a date written before formats were checked) does
    /// not block a change elsewhere, while every value the change wrote is checked.
    pub fn check_change(&self, doc: &Value, previous: &Value) -> Result<()> {
        self.check_against(doc, Some(previous))
    }

    fn check_against(&self, body: &Value, previous: Option<&Value>) -> Result<()> {
        // The common case first: `is_valid` stops at nothing and builds no error values.
        if self.validator.is_valid(body) {
            return Ok(());
        }
        let problems: Vec<String> = self
            .validator
            .iter_errors(body)
            .filter_map(|error| {
                let path = error.instance_path().to_string();
                let kept = previous.is_some_and(|previous| {
                    !path.is_empty() && previous.pointer(&path) == body.pointer(&path)
                });
                if kept {
                    return None;
                }
                let path = if path.is_empty() {
                    "/".to_string()
                } else {
                    path
                };
                Some(format!("{path}: {}", error.masked()))
            })
            .take(MAX_REPORTED)
            .collect();
        if problems.is_empty() {
            return Ok(());
        }
        Err(Error::invalid_body(format!(
            "the body does not match {}: {}",
            self.definition,
            problems.join("; ")
        )))
    }
}

/// Gives every `integer` the range of a 64-bit integer, what a client generated from the
/// specification reads it into: draft 4 counts any number without a fraction an integer,
/// so `-2.99e23` passed, and no such client could read it back.
fn bound_integers(schema: &mut Value) {
    match schema {
        Value::Object(object) => {
            if object.get("type").and_then(Value::as_str) == Some("integer") {
                object.entry("minimum").or_insert(json!(i64::MIN));
                object.entry("maximum").or_insert(json!(i64::MAX));
            }
            object.values_mut().for_each(bound_integers);
        }
        Value::Array(items) => items.iter_mut().for_each(bound_integers),
        _ => {}
    }
}

/// How a field of an API's `Error` definition is typed on the wire.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ErrorField {
    /// A string, as TMF630 has `code`, `reason` and `status`.
    #[default]
    Text,
    /// An integer, as TMF685 v1 has all three.
    Integer,
}

/// The types an API's own `Error` definition gives `code`, `reason` and `status`, so
/// that each API's error bodies read as its specification says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ErrorShape {
    pub code: ErrorField,
    pub reason: ErrorField,
    pub status: ErrorField,
}

impl ErrorShape {
    /// Read from the `Error` definition of a compact schema file; a file without one,
    /// or a field it does not type as an integer, keeps the TMF630 string.
    pub fn of(schema_file: &Value) -> ErrorShape {
        let field = |name: &str| {
            let kind = &schema_file["definitions"]["Error"]["properties"][name]["type"];
            match kind.as_str() {
                Some("integer") => ErrorField::Integer,
                _ => ErrorField::Text,
            }
        };
        ErrorShape {
            code: field("code"),
            reason: field("reason"),
            status: field("status"),
        }
    }
}
