//! The backend-neutral list query: what to match, how to order, which page.
//!
//! The engine builds these from TMF630 query strings; `sql` compiles them. User text
//! only ever travels as an `Operand` or a path segment, both bound as parameters.

/// A column the store keeps beside the document, indexed per kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Name,
    State,
    TypeName,
    Updated,
    Id,
}

/// What a condition or a sort key reads: a promoted column or a path into the JSON.
/// A JSON path walks into arrays transparently: `relatedParty.id` matches when any
/// element of `relatedParty` has that id.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Column(Column),
    Json(Vec<String>),
    /// A top-level attribute the API's schema declares a string (never an array, object
    /// or number): it compiles to a plain text expression on the document, which a
    /// database expression index can serve (see the README's operations section).
    Scalar(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Gt,
    Gte,
    Lt,
    Lte,
    Regex,
}

/// One value from a filter, with the readings it admits: the raw text always, a number
/// when it parses as one, an instant (seconds since the epoch) when it parses as an
/// RFC 3339 date-time, a boolean for `true`/`false`.
#[derive(Debug, Clone, PartialEq)]
pub struct Operand {
    pub raw: String,
    pub number: Option<f64>,
    pub instant: Option<f64>,
    pub boolean: Option<bool>,
}

/// `target op value1 OR target op value2 …`.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub target: Target,
    pub op: Op,
    pub values: Vec<Operand>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SortKey {
    pub target: Target,
    pub descending: bool,
}

/// A list request: every condition must hold (AND); within one condition any value
/// may match (OR).
#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    pub kind: String,
    pub conditions: Vec<Condition>,
    pub sort: Vec<SortKey>,
    pub offset: u64,
    pub limit: u64,
}
