//! Compilation of a `ListQuery` into PostgreSQL SQL, with the same meaning as the SQLite
//! dialect in `sql.rs`: paths descend into arrays at every level, operands compare as
//! numbers, instants or text by the JSON type they meet. Nothing a client sends can make
//! a statement fail: casts happen only inside `CASE` branches whose guard proves them
//! safe, and instants are computed with integer arithmetic (no timestamp cast that an
//! impossible date such as February 30 would break).

use crate::query::{Column, Condition, ListQuery, Op, Operand, SortKey, Target};
use crate::sql::{Bind, Builder};

fn column_sql(column: Column) -> &'static str {
    match column {
        Column::Name => "d.p_name",
        Column::State => "d.p_state",
        Column::TypeName => "d.p_type",
        Column::Updated => "d.p_updated",
        Column::Id => "d.id",
    }
}

/// RFC 3339 date-times as stored by clients: date, `T`, hours and minutes, optional
/// seconds and fraction, a zone (`Z` or an offset). Fixed positions up to the minutes.
const INSTANT_PATTERN: &str = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?([Zz]|[+-][0-9]{2}:?[0-9]{2})$";

/// Milliseconds since the epoch of `text`, a SQL text expression that matched
/// `INSTANT_PATTERN` (use only under that guard). Days come from the civil-calendar
/// formula, so every matching text yields a number and none an error.
fn instant_ms(text: &str) -> String {
    let int = |from: usize, len: usize| format!("substr({text}, {from}, {len})::bigint");
    let (year, month, day) = (int(1, 4), int(6, 2), int(9, 2));
    let (hour, minute) = (int(12, 2), int(15, 2));
    let second = format!(
        "(CASE WHEN substr({text}, 17, 1) = ':' THEN {} ELSE 0 END)",
        int(18, 2)
    );
    let fraction = format!(
        "(CASE WHEN substr({text}, 20, 1) = '.' THEN \
         rpad(substr(substring({text} from '\\.([0-9]+)'), 1, 3), 3, '0')::bigint ELSE 0 END)"
    );
    let zone = format!(
        "(CASE WHEN upper(right({text}, 1)) = 'Z' THEN 0 ELSE \
         (CASE WHEN substr(right(replace({text}, ':', ''), 5), 1, 1) = '-' THEN -1 ELSE 1 END) * \
         (substr(right(replace({text}, ':', ''), 4), 1, 2)::bigint * 60 + \
          substr(right(replace({text}, ':', ''), 2), 1, 2)::bigint) END)"
    );
    // days_from_civil (H. Hinnant): March-based years make leap days the year's last.
    let shifted = format!("({year} - (CASE WHEN {month} <= 2 THEN 1 ELSE 0 END))");
    let era = format!("({shifted} / 400)");
    let yoe = format!("({shifted} - {era} * 400)");
    let doy = format!(
        "((153 * ({month} + (CASE WHEN {month} > 2 THEN -3 ELSE 9 END)) + 2) / 5 + {day} - 1)"
    );
    let doe = format!("({yoe} * 365 + {yoe} / 4 - {yoe} / 100 + {doy})");
    let days = format!("({era} * 146097 + {doe} - 719468)");
    format!(
        "((({days} * 86400 + {hour} * 3600 + {minute} * 60 + {second}) * 1000 + {fraction}) \
         - {zone} * 60000)"
    )
}

fn millis(instant_seconds: f64) -> i64 {
    (instant_seconds * 1000.0).round() as i64
}

/// `{a,b,c}`: a path as a PostgreSQL text array literal, bound as a parameter. Path
/// segments are restricted by the engine to characters that need no quoting here.
fn path_array(segments: &[String]) -> String {
    format!("{{{}}}", segments.join(","))
}

pub(crate) fn where_clause(builder: &mut Builder, query: &ListQuery) {
    builder.push("d.kind = ");
    builder.bind(Bind::Text(query.kind.clone()));
    for condition in &query.conditions {
        builder.push(" AND ");
        condition_sql(builder, condition);
    }
}

pub(crate) fn order_clause(builder: &mut Builder, sort: &[SortKey]) {
    builder.push(" ORDER BY ");
    for key in sort {
        let value = match &key.target {
            Target::Column(column) => {
                builder.push(column_sql(*column));
                None
            }
            Target::Json(path) => {
                let path = builder.placeholder(Bind::Text(path_array(path)));
                Some(format!("(d.doc #> {path}::text[])"))
            }
            Target::Scalar(attribute) => {
                Some(text_of(attribute).map_or("(NULL::jsonb)".to_string(), |_| {
                    format!("(d.doc -> '{attribute}')")
                }))
            }
        };
        if let Some(value) = value {
            {
                // As SQLite orders JSON values: missing and null first, then numbers
                // (numerically) and booleans, then strings (bytewise), then the rest.
                let direction = if key.descending { " DESC, " } else { " ASC, " };
                let rank = &value;
                builder.push(&format!(
                    "(CASE coalesce(jsonb_typeof({rank}), 'null') WHEN 'null' THEN 0 \
                     WHEN 'number' THEN 1 WHEN 'boolean' THEN 1 WHEN 'string' THEN 2 ELSE 3 END)"
                ));
                builder.push(direction);
                let number = &value;
                builder.push(&format!(
                    "(CASE WHEN jsonb_typeof({number}) = 'number' THEN ({number})::float8 END)"
                ));
                builder.push(direction);
                let text = &value;
                builder.push(&format!("(({text} #>> '{{}}') COLLATE \"C\")"));
            }
        }
        builder.push(if key.descending {
            " DESC NULLS LAST, "
        } else {
            " ASC NULLS FIRST, "
        });
    }
    builder.push("d.seq ASC");
}

fn condition_sql(builder: &mut Builder, condition: &Condition) {
    let (op, negate) = match condition.op {
        Op::Ne => (Op::Eq, true),
        other => (other, false),
    };
    if negate {
        builder.push("NOT ");
    }
    match &condition.target {
        Target::Column(column) => {
            let column = column_sql(*column);
            builder.push(if negate { "coalesce((" } else { "(" });
            for (index, value) in condition.values.iter().enumerate() {
                if index > 0 {
                    builder.push(" OR ");
                }
                text_predicate(builder, column, op, value);
            }
            builder.push(if negate { "), false)" } else { ")" });
        }
        Target::Json(path) => json_exists(builder, path, op, &condition.values),
        Target::Scalar(attribute) => {
            builder.push(if negate { "coalesce((" } else { "(" });
            for (index, operand) in condition.values.iter().enumerate() {
                if index > 0 {
                    builder.push(" OR ");
                }
                scalar_predicate(builder, attribute, op, operand);
            }
            builder.push(if negate { "), false)" } else { ")" });
        }
    }
}

/// A string attribute compared as text (or as an instant): a plain predicate on
/// `(d.doc ->> 'attribute')`, which an expression index on that text can serve.
fn scalar_predicate(builder: &mut Builder, attribute: &str, op: Op, operand: &Operand) {
    match text_of(attribute) {
        Some(text) => text_predicate(builder, &text, op, operand),
        None => builder.push("false"),
    }
}

/// `(d.doc ->> 'attribute')`: the key is written into the statement, not bound, so that
/// the expression is the one an operator's expression index names (with a bound key the
/// generic plan cannot use it). The engine admits only `[A-Za-z0-9@_$:-]` in attribute
/// names, so the key needs no quoting; any other name reads as missing.
fn text_of(attribute: &str) -> Option<String> {
    let safe = !attribute.is_empty()
        && attribute
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '@' | '_' | '$' | ':' | '-'));
    safe.then(|| format!("(d.doc ->> '{attribute}')"))
}

fn comparison(op: Op) -> &'static str {
    match op {
        Op::Eq | Op::Ne => " = ",
        Op::Gt => " > ",
        Op::Gte => " >= ",
        Op::Lt => " < ",
        Op::Lte => " <= ",
        Op::Regex => " ~ ",
    }
}

/// Compares a SQL text expression (a column, or a JSON string's text) with an operand:
/// as an instant where both are date-times, as text otherwise (equality also as text).
fn text_predicate(builder: &mut Builder, text: &str, op: Op, value: &Operand) {
    let cmp = comparison(op);
    if value.raw.contains('\0') {
        // PostgreSQL text cannot hold NUL, and no stored text does (bodies with NUL
        // are refused): equality cannot hold; an ordering compares the rest.
        if matches!(op, Op::Eq | Op::Regex) {
            builder.push("false");
            return;
        }
        let cleaned = Operand {
            raw: value.raw.replace('\0', ""),
            ..value.clone()
        };
        return text_predicate(builder, text, op, &cleaned);
    }
    if op == Op::Regex {
        // The pattern means what it means to the engine (and to SQLite): translated
        // into PostgreSQL's dialect; one with no faithful translation matches nothing.
        let Some(pattern) = crate::pg_regex::translate(&value.raw) else {
            builder.push("false");
            return;
        };
        builder.push(&format!("({text}{cmp}"));
        builder.bind(Bind::Text(pattern));
        builder.push(")");
        return;
    }
    builder.push("(");
    if let Some(instant) = value.instant {
        builder.push(&format!("(CASE WHEN {text} ~ "));
        builder.bind(Bind::Text(INSTANT_PATTERN.to_string()));
        builder.push(&format!(" THEN {}{cmp}", instant_ms(text)));
        builder.bind(Bind::Int(millis(instant)));
        builder.push(" ELSE ");
        if op == Op::Eq {
            builder.push("false END) OR ");
        } else {
            // Text that is no date compares as text, as on SQLite.
            builder.push(&format!("{text} COLLATE \"C\"{cmp}"));
            builder.bind(Bind::Text(value.raw.clone()));
            builder.push(" END))");
            return;
        }
    }
    builder.push(&format!("{text} COLLATE \"C\"{cmp}"));
    builder.bind(Bind::Text(value.raw.clone()));
    builder.push(")");
}

/// `EXISTS` over the values reached by `path`, descending into arrays at every step.
fn json_exists(builder: &mut Builder, path: &[String], op: Op, values: &[Operand]) {
    builder.push("EXISTS (SELECT 1 FROM ");
    let mut source = String::from("d.doc");
    let mut leaf = String::new();
    for (index, segment) in path.iter().enumerate() {
        let alias = format!("j{}_{index}", builder.binds.len());
        if index > 0 {
            builder.push(", ");
        }
        builder.push(&format!(
            "jsonb_array_elements(CASE jsonb_typeof({source} -> "
        ));
        builder.bind(Bind::Text(segment.clone()));
        builder.push(&format!(") WHEN 'array' THEN {source} -> "));
        builder.bind(Bind::Text(segment.clone()));
        builder.push(&format!(" ELSE jsonb_build_array({source} -> "));
        builder.bind(Bind::Text(segment.clone()));
        builder.push(&format!(") END) AS {alias}(v)"));
        source = format!("(CASE WHEN jsonb_typeof({alias}.v) = 'object' THEN {alias}.v END)");
        leaf = format!("{alias}.v");
    }
    builder.push(" WHERE ");
    for (index, value) in values.iter().enumerate() {
        if index > 0 {
            builder.push(" OR ");
        }
        leaf_predicate(builder, &leaf, op, value);
    }
    builder.push(")");
}

fn leaf_predicate(builder: &mut Builder, leaf: &str, op: Op, value: &Operand) {
    let cmp = comparison(op);
    builder.push("(");
    if let (Some(number), false) = (value.number, op == Op::Regex) {
        builder.push(&format!(
            "(CASE WHEN jsonb_typeof({leaf}) = 'number' THEN ({leaf})::float8{cmp}"
        ));
        builder.bind(Bind::Real(number));
        builder.push(" ELSE false END) OR ");
    }
    if let (Some(boolean), true) = (value.boolean, op == Op::Eq) {
        builder.push(&format!(
            "({leaf} = '{}'::jsonb) OR ",
            if boolean { "true" } else { "false" }
        ));
    }
    builder.push(&format!("(CASE WHEN jsonb_typeof({leaf}) = 'string' THEN "));
    text_predicate(builder, &format!("({leaf} #>> '{{}}')"), op, value);
    builder.push(" ELSE false END))");
}

#[cfg(test)]
mod tests {
    use super::text_of;

    #[test]
    fn only_plain_attribute_names_are_written_into_statements() {
        assert_eq!(
            text_of("externalId").as_deref(),
            Some("(d.doc ->> 'externalId')")
        );
        for hostile in ["a'b", "a b", "x') OR ('1'='1", "", "a\\b", "é"] {
            assert_eq!(text_of(hostile), None, "{hostile}");
        }
    }
}
