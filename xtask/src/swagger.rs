//! What `convert` and `paths` both read in a Swagger 2.0 document: its local references.

/// Prefix of every local reference in a Swagger 2.0 document.
const DEFINITIONS_PREFIX: &str = "#/definitions/";

/// The definition a local reference (`#/definitions/Name`) names.
pub fn definition_name(reference: &str) -> Option<&str> {
    reference.strip_prefix(DEFINITIONS_PREFIX)
}
