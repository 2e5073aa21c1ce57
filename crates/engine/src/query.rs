//! TMF630 query strings: filters (`a.b=x,y`, `a.gt=…`, `a>=…`), `fields`, `sort`,
//! `offset` and `limit`; parsed into the store's `ListQuery`, and evaluated in memory
//! for hub subscriptions (the same syntax and meaning over an event).

use percent_encoding::percent_decode_str;
use serde_json::{Map, Value};
use switchboard_store::{Column, Condition, Op, Operand, SortKey, Target};

use crate::error::{Error, Result};

/// Longest regular expression a filter may carry, and the compiled size bound; the
/// `regex` crate runs in linear time, so with these bounds no filter can hang a worker.
const REGEX_MAX_LEN: usize = 256;
const REGEX_SIZE_LIMIT: usize = 1 << 20;
const MAX_REPETITION: u32 = 255;
const MAX_CONDITIONS: usize = 32;
const MAX_PATH_DEPTH: usize = 8;
/// Alternatives in one filter (`a=x,y,…`) and in all filters, and sort keys: each
/// becomes a term of one SQL expression. SQLite refuses an OR list of about 500 terms
/// (expression depth 1000) and an ORDER BY of 2000, and plans a WHERE clause in time
/// that grows with the square of its terms (8000 alternatives take seconds); these
/// bounds keep every accepted query valid and fast.
const MAX_VALUES: usize = 256;
const MAX_TOTAL_VALUES: usize = 1024;
const MAX_SORT_KEYS: usize = 16;

/// A parsed query string.
#[derive(Debug, Clone, Default)]
pub struct ParsedQuery {
    pub conditions: Vec<Condition>,
    pub sort: Vec<(Vec<String>, bool)>,
    pub fields: Option<Vec<Vec<String>>>,
    pub offset: Option<u64>,
    pub limit: Option<u64>,
}

/// Splits a raw query string into decoded (key, value) pairs, read as
/// `application/x-www-form-urlencoded` (WHATWG URL): `+` is a space and `%2B` a plus,
/// as Python's `urlencode`, Java's `URLEncoder`, HTML forms and curl `--data-urlencode`
/// send them. Percent-escapes that do not decode to UTF-8 are refused rather than read
/// as U+FFFD, which would match nothing and hide the client's mistake.
pub fn pairs(raw: &str) -> Result<Vec<(String, String)>> {
    let raw = raw.strip_prefix('?').unwrap_or(raw);
    // The separators are ASCII, so the whole text decodes to UTF-8 exactly when every
    // key and value does.
    if percent_decode_str(raw).decode_utf8().is_err() {
        return Err(Error::invalid_query("the query string is not valid UTF-8"));
    }
    Ok(form_urlencoded::parse(raw.as_bytes())
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect())
}

fn path_of(text: &str) -> Result<Vec<String>> {
    let segments: Vec<String> = text.split('.').map(str::to_string).collect();
    if segments.len() > MAX_PATH_DEPTH {
        return Err(Error::invalid_query(format!(
            "the attribute path '{text}' is deeper than {MAX_PATH_DEPTH} levels"
        )));
    }
    for segment in &segments {
        let valid = !segment.is_empty()
            && segment.len() <= 128
            && segment
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '@' | '_' | '-' | '$' | ':'));
        if !valid {
            return Err(Error::invalid_query(format!(
                "'{text}' is not a valid attribute path"
            )));
        }
    }
    Ok(segments)
}

fn operator(name: &str) -> Option<Op> {
    Some(match name {
        "eq" => Op::Eq,
        "ne" => Op::Ne,
        "gt" => Op::Gt,
        "gte" => Op::Gte,
        "lt" => Op::Lt,
        "lte" => Op::Lte,
        "regex" => Op::Regex,
        _ => return None,
    })
}

/// Reads an operand in every way it can be meant.
pub fn operand(raw: &str) -> Operand {
    let number = raw
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite() && !raw.trim().is_empty());
    let repaired = unescaped_offset(raw);
    let raw = repaired.as_deref().unwrap_or(raw);
    let instant = time::OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|at| at.unix_timestamp_nanos() as f64 / 1e9);
    let boolean = match raw {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    };
    Operand {
        raw: raw.to_string(),
        number,
        instant,
        boolean,
    }
}

/// A date-time whose `+HH:MM` offset came unescaped, and so decoded to a space
/// (`2024-01-01T10:00:00 02:00`), with its plus sign back: no RFC 3339 text has a space
/// there, so nothing else can be meant. `None` for anything else.
fn unescaped_offset(raw: &str) -> Option<String> {
    let split = raw.len().checked_sub(6)?;
    if raw.as_bytes().get(split) != Some(&b' ') {
        return None;
    }
    let candidate = format!("{}+{}", &raw[..split], &raw[split + 1..]);
    time::OffsetDateTime::parse(&candidate, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|_| candidate)
}

pub fn check_regex(pattern: &str) -> Result<regex::Regex> {
    if pattern.len() > REGEX_MAX_LEN {
        return Err(Error::invalid_query(format!(
            "a regular expression may be at most {REGEX_MAX_LEN} characters long"
        )));
    }
    // Counted repetitions above 255 are refused: PostgreSQL's engine stops there, and
    // both backends must accept the same filters.
    let mut escaped = false;
    let mut count = String::new();
    let mut in_braces = false;
    for c in pattern.chars() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '{' => {
                in_braces = true;
                count.clear();
            }
            '}' | ',' if in_braces => {
                if count.parse::<u32>().is_ok_and(|n| n > MAX_REPETITION) {
                    return Err(Error::invalid_query(format!(
                        "a counted repetition may be at most {{{MAX_REPETITION}}} in '{pattern}'"
                    )));
                }
                count.clear();
                in_braces = c == ',';
            }
            digit if in_braces && digit.is_ascii_digit() => count.push(digit),
            _ => in_braces = false,
        }
    }
    regex::RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|error| {
            let detail = error.to_string();
            let first = detail
                .lines()
                .last()
                .unwrap_or("invalid")
                .trim()
                .to_string();
            Error::invalid_query(format!("invalid regular expression '{pattern}': {first}"))
        })
}

/// Parses the filter part of a key: `a.b`, `a.b.gt`, `a>` (from `a>=v`), `a!` (from `a!=v`).
fn filter_key(key: &str, value: &str) -> Result<(Vec<String>, Op, String)> {
    // `a>=v` and `a<=v` arrive as key `a>` / `a<`; `a>v` and `a<v` arrive without '='.
    for (suffix, op) in [(">", Op::Gte), ("<", Op::Lte), ("!", Op::Ne)] {
        if let Some(stem) = key.strip_suffix(suffix) {
            return Ok((path_of(stem)?, op, value.to_string()));
        }
    }
    if value.is_empty() {
        for (mark, op) in [('>', Op::Gt), ('<', Op::Lt)] {
            if let Some(index) = key.find(mark) {
                return Ok((path_of(&key[..index])?, op, key[index + 1..].to_string()));
            }
        }
    }
    // The operator is no level of the path: `a.….h.gt` is as deep as `a.….h`.
    if let Some((stem, last)) = key.rsplit_once('.') {
        if let Some(op) = operator(last) {
            return Ok((path_of(stem)?, op, value.to_string()));
        }
    }
    Ok((path_of(key)?, Op::Eq, value.to_string()))
}

impl ParsedQuery {
    /// Parses a raw query string; `reserved` keys are left to the caller (none today).
    pub fn parse(raw: &str) -> Result<ParsedQuery> {
        let mut parsed = ParsedQuery::default();
        for (key, value) in pairs(raw)? {
            match key.as_str() {
                "fields" => {
                    let mut fields = Vec::new();
                    for name in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                        fields.push(path_of(name)?);
                    }
                    parsed.fields = Some(fields);
                }
                "sort" => {
                    for name in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                        let (name, descending) = match name.strip_prefix('-') {
                            Some(rest) => (rest, true),
                            None => (name.strip_prefix('+').unwrap_or(name), false),
                        };
                        parsed.sort.push((path_of(name)?, descending));
                    }
                    if parsed.sort.len() > MAX_SORT_KEYS {
                        return Err(Error::invalid_query(format!(
                            "at most {MAX_SORT_KEYS} sort keys are allowed"
                        )));
                    }
                }
                "offset" => parsed.offset = Some(number(&key, &value)?),
                "limit" => parsed.limit = Some(number(&key, &value)?),
                "depth" | "expand" => {}
                _ => {
                    if parsed.conditions.len() >= MAX_CONDITIONS {
                        return Err(Error::invalid_query(format!(
                            "at most {MAX_CONDITIONS} filter conditions are allowed"
                        )));
                    }
                    let (path, op, value) = filter_key(&key, &value)?;
                    let mut values = Vec::new();
                    let texts: Vec<&str> = if op == Op::Regex {
                        vec![value.as_str()]
                    } else {
                        value.split(',').collect()
                    };
                    if texts.len() > MAX_VALUES {
                        return Err(Error::invalid_query(format!(
                            "a filter may list at most {MAX_VALUES} values"
                        )));
                    }
                    let listed: usize = parsed.conditions.iter().map(|c| c.values.len()).sum();
                    if listed + texts.len() > MAX_TOTAL_VALUES {
                        return Err(Error::invalid_query(format!(
                            "the filters may list at most {MAX_TOTAL_VALUES} values in all"
                        )));
                    }
                    for text in texts {
                        if op == Op::Regex {
                            check_regex(text)?;
                        }
                        values.push(operand(text));
                    }
                    parsed.conditions.push(Condition {
                        target: Target::Json(path),
                        op,
                        values,
                    });
                }
            }
        }
        Ok(parsed)
    }
}

fn number(key: &str, value: &str) -> Result<u64> {
    value.trim().parse::<u64>().map_err(|_| {
        Error::invalid_query(format!(
            "'{key}' must be a non-negative integer, got '{value}'"
        ))
    })
}

/// Where the store keeps an attribute in a column of its own, the condition reads the
/// column (indexed) instead of the JSON.
pub struct ColumnMap<'a> {
    pub state: Option<&'a str>,
    pub last_update: Option<&'a str>,
    /// Top-level attributes the schema declares strings (validated on every write), which
    /// the store may read as plain text rather than walk as possible arrays.
    pub scalars: &'a std::collections::HashSet<String>,
}

impl ColumnMap<'_> {
    pub fn target(&self, path: &[String]) -> Target {
        if let [single] = path {
            let name = single.as_str();
            if name == "id" {
                return Target::Column(Column::Id);
            }
            if name == "name" {
                return Target::Column(Column::Name);
            }
            if name == "@type" {
                return Target::Column(Column::TypeName);
            }
            if Some(name) == self.state {
                return Target::Column(Column::State);
            }
            if Some(name) == self.last_update {
                return Target::Column(Column::Updated);
            }
            if self.scalars.contains(name) {
                return Target::Scalar(name.to_string());
            }
        }
        Target::Json(path.to_vec())
    }

    pub fn conditions(&self, conditions: Vec<Condition>) -> Vec<Condition> {
        conditions
            .into_iter()
            .map(|condition| match &condition.target {
                Target::Json(path) => Condition {
                    target: self.target(path),
                    ..condition
                },
                Target::Column(_) | Target::Scalar(_) => condition,
            })
            .collect()
    }

    pub fn sort(&self, sort: &[(Vec<String>, bool)]) -> Vec<SortKey> {
        sort.iter()
            .map(|(path, descending)| SortKey {
                target: self.target(path),
                descending: *descending,
            })
            .collect()
    }
}

/// Keeps only the requested attributes (and `id`, `href`, which are always returned).
pub fn project(doc: &Value, fields: &[Vec<String>]) -> Value {
    let mut out = Map::new();
    if let Value::Object(object) = doc {
        for key in ["id", "href"] {
            if let Some(value) = object.get(key) {
                out.insert(key.to_string(), value.clone());
            }
        }
        for path in fields {
            copy_path(doc, path, &mut out);
        }
    }
    Value::Object(out)
}

fn copy_path(source: &Value, path: &[String], out: &mut Map<String, Value>) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    let Some(value) = source.get(first.as_str()) else {
        return;
    };
    if rest.is_empty() {
        out.insert(first.clone(), value.clone());
        return;
    }
    match value {
        Value::Object(_) => {
            let entry = out
                .entry(first.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(inner) = entry {
                copy_path(value, rest, inner);
            }
        }
        // Arrays keep the chosen attribute of each element.
        Value::Array(items) => {
            let projected: Vec<Value> = items
                .iter()
                .map(|item| {
                    let mut inner = Map::new();
                    copy_path(item, rest, &mut inner);
                    Value::Object(inner)
                })
                .collect();
            out.insert(first.clone(), Value::Array(projected));
        }
        _ => {}
    }
}

/// Evaluates conditions against a document in memory, with the same meaning as the
/// SQL the store runs: paths descend into arrays, any value of a condition may match.
pub fn matches(conditions: &[Condition], doc: &Value) -> bool {
    conditions.iter().all(|condition| {
        let Target::Json(path) = &condition.target else {
            return false;
        };
        let mut leaves = Vec::new();
        collect(doc, path, &mut leaves);
        let (op, negate) = match condition.op {
            Op::Ne => (Op::Eq, true),
            other => (other, false),
        };
        let hit = leaves.iter().any(|leaf| {
            condition
                .values
                .iter()
                .any(|value| compare(leaf, op, value))
        });
        hit != negate
    })
}

fn collect<'a>(value: &'a Value, path: &[String], out: &mut Vec<&'a Value>) {
    let Some((first, rest)) = path.split_first() else {
        out.push(value);
        return;
    };
    let next = match value {
        Value::Object(object) => object.get(first.as_str()),
        _ => None,
    };
    match next {
        Some(Value::Array(items)) => {
            for item in items {
                collect(item, rest, out);
            }
        }
        Some(next) => collect(next, rest, out),
        None => {}
    }
}

fn ordering_holds(ordering: std::cmp::Ordering, op: Op) -> bool {
    use std::cmp::Ordering::*;
    match op {
        Op::Eq | Op::Ne => ordering == Equal,
        Op::Gt => ordering == Greater,
        Op::Gte => ordering != Less,
        Op::Lt => ordering == Less,
        Op::Lte => ordering != Greater,
        Op::Regex => false,
    }
}

fn compare(leaf: &Value, op: Op, operand: &Operand) -> bool {
    match leaf {
        Value::String(text) => {
            if op == Op::Regex {
                return check_regex(&operand.raw)
                    .map(|regex| regex.is_match(text))
                    .unwrap_or(false);
            }
            if let Some(instant) = operand.instant {
                if let Some(ordering) =
                    operand_instant(text).and_then(|value| value.partial_cmp(&instant))
                {
                    if ordering_holds(ordering, op) {
                        return true;
                    }
                    if op != Op::Eq {
                        return false;
                    }
                }
            }
            ordering_holds(text.as_str().cmp(operand.raw.as_str()), op)
        }
        Value::Number(number) => match (number.as_f64(), operand.number) {
            (Some(value), Some(wanted)) => value
                .partial_cmp(&wanted)
                .is_some_and(|ordering| ordering_holds(ordering, op)),
            _ => false,
        },
        Value::Bool(value) => matches!(op, Op::Eq) && operand.boolean == Some(*value),
        _ => false,
    }
}

fn operand_instant(text: &str) -> Option<f64> {
    operand(text).instant
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(query: &str, doc: Value, expected: bool) {
        let parsed = ParsedQuery::parse(query).unwrap_or_default();
        assert_eq!(
            matches(&parsed.conditions, &doc),
            expected,
            "{query} on {doc}"
        );
    }

    #[test]
    fn matcher_follows_tmf630() {
        let doc = json!({"eventType": "ACreateEvent", "event": {"a": {"lifecycleStatus": "Active",
            "relatedParty": [{"id": "1"}, {"id": "2"}], "price": 10, "lastUpdate": "2024-01-01T10:00:00Z"}}});
        check("eventType=ACreateEvent", doc.clone(), true);
        check("eventType=BCreateEvent,ACreateEvent", doc.clone(), true);
        check("eventType=BCreateEvent", doc.clone(), false);
        check("event.a.relatedParty.id=2", doc.clone(), true);
        check("event.a.relatedParty.id=3", doc.clone(), false);
        check("event.a.price.gt=9", doc.clone(), true);
        check("event.a.price.gt=10", doc.clone(), false);
        check(
            "event.a.lastUpdate.lt=2024-01-01T11:00:00%2B00:00",
            doc.clone(),
            true,
        );
        check("event.a.lifecycleStatus.regex=^Act", doc.clone(), true);
        check("event.a.lifecycleStatus.ne=Active", doc.clone(), false);
    }

    #[test]
    fn pairs_decode_as_forms() {
        let decoded = pairs("?a=Van+Dyke&b=A%2BB&c=x=y%26z&d&M%C3%BCller=%E2%82%AC");
        let decoded = decoded.unwrap_or_default();
        let expected = [
            ("a", "Van Dyke"),
            ("b", "A+B"),
            ("c", "x=y&z"),
            ("d", ""),
            ("Müller", "€"),
        ];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect();
        assert_eq!(decoded, expected);
        assert!(pairs("a=%FF").is_err());
        assert!(pairs("%E2%82=x").is_err());
    }

    #[test]
    fn an_offset_decoded_to_a_space_is_a_plus_again() {
        let read = operand("2024-01-01T01:00:00 02:00");
        assert_eq!(read.raw, "2024-01-01T01:00:00+02:00");
        assert_eq!(read.instant, operand("2023-12-31T23:00:00Z").instant);
        assert_eq!(operand("Van 02:00").raw, "Van 02:00");
        assert_eq!(operand(" 02:00").instant, None);
    }

    #[test]
    fn hostile_input_is_refused_not_run() {
        assert!(ParsedQuery::parse("name.regex=(a%2B)%2B$").is_ok());
        assert!(ParsedQuery::parse(&format!("name.regex={}", "a".repeat(300))).is_err());
        assert!(ParsedQuery::parse("a'b=1").is_err());
        assert!(ParsedQuery::parse("limit=-1").is_err());
    }
}
