//! Compilation of a `ListQuery` into SQL text and bind values (SQLite dialect).
//!
//! Every piece of user text becomes a bind value; the SQL text is built only from
//! fixed fragments and placeholder numbers, so no filter can change the statement.

use crate::query::{Column, Condition, ListQuery, Op, Operand, SortKey, Target};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Bind {
    Text(String),
    Real(f64),
    Int(i64),
}

/// SQL text under construction with its numbered placeholders.
#[derive(Default, Clone)]
pub(crate) struct Builder {
    pub sql: String,
    pub binds: Vec<Bind>,
    aliases: usize,
}

impl Builder {
    pub(crate) fn push(&mut self, text: &str) {
        self.sql.push_str(text);
    }

    /// Appends a placeholder for `bind` and returns nothing: the value travels apart.
    pub(crate) fn bind(&mut self, bind: Bind) {
        self.binds.push(bind);
        self.sql.push('$');
        self.sql.push_str(&self.binds.len().to_string());
    }

    /// Registers `bind` and returns its placeholder, for SQL text built apart.
    pub(crate) fn placeholder(&mut self, bind: Bind) -> String {
        self.binds.push(bind);
        format!("${}", self.binds.len())
    }

    fn alias(&mut self) -> String {
        self.aliases += 1;
        format!("e{}", self.aliases)
    }
}

fn column_sql(column: Column) -> &'static str {
    match column {
        Column::Name => "d.p_name",
        Column::State => "d.p_state",
        Column::TypeName => "d.p_type",
        Column::Updated => "d.p_updated",
        Column::Id => "d.id",
    }
}

/// A JSON path for SQLite's JSON functions, every key quoted. Keys holding a double
/// quote or a backslash cannot be expressed and are refused by the engine before here.
pub(crate) fn json_path(segments: &[String]) -> String {
    let mut path = String::from("$");
    for segment in segments {
        path.push_str(".\"");
        path.push_str(segment);
        path.push('"');
    }
    path
}

fn millis(instant_seconds: f64) -> i64 {
    (instant_seconds * 1000.0).round() as i64
}

/// Appends the WHERE clause (without the keyword) for the query's kind and conditions.
/// (SQLite reads a `Target::Scalar` like a one-step JSON path: the same result, and
/// SQLite's own indexes are the promoted columns.)
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
        let path = match &key.target {
            Target::Column(column) => {
                builder.push(column_sql(*column));
                None
            }
            Target::Json(path) => Some(path.clone()),
            Target::Scalar(attribute) => Some(vec![attribute.clone()]),
        };
        if let Some(path) = path {
            builder.push("(d.doc ->> ");
            builder.bind(Bind::Text(json_path(&path)));
            builder.push(")");
        }
        builder.push(if key.descending { " DESC, " } else { " ASC, " });
    }
    // Creation order breaks ties, so pages never overlap or skip.
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
            // An absent attribute (NULL column) is "not equal", as it is for a path
            // into the document; only negation needs it, and only there does the
            // coalesce cost the index.
            builder.push(if negate { "coalesce((" } else { "(" });
            for (index, value) in condition.values.iter().enumerate() {
                if index > 0 {
                    builder.push(" OR ");
                }
                column_predicate(builder, column, op, value);
            }
            builder.push(if negate { "), 0)" } else { ")" });
        }
        Target::Json(path) => json_exists(builder, path, op, &condition.values),
        Target::Scalar(attribute) => json_exists(
            builder,
            std::slice::from_ref(attribute),
            op,
            &condition.values,
        ),
    }
}

fn comparison(op: Op) -> &'static str {
    match op {
        Op::Eq | Op::Ne => " = ",
        Op::Gt => " > ",
        Op::Gte => " >= ",
        Op::Lt => " < ",
        Op::Lte => " <= ",
        Op::Regex => " REGEXP ",
    }
}

/// A promoted column holds text (or NULL when the attribute is absent).
fn column_predicate(builder: &mut Builder, column: &str, op: Op, value: &Operand) {
    if op == Op::Regex {
        builder.push(&format!("{column} REGEXP "));
        builder.bind(Bind::Text(value.raw.clone()));
        return;
    }
    if let Some(instant) = value.instant {
        // Instants compare in whole milliseconds, so equality is exact; the raw text
        // still matches as such (a date stored in another precision).
        builder.push(&format!("(round(unixepoch({column}, 'subsec') * 1000)"));
        builder.push(comparison(op));
        builder.bind(Bind::Int(millis(instant)));
        if op == Op::Eq {
            builder.push(&format!(" OR {column} = "));
            builder.bind(Bind::Text(value.raw.clone()));
        } else {
            // Text that is no date compares as text, as in `leaf_predicate`.
            builder.push(&format!(" OR (unixepoch({column}) IS NULL AND {column}"));
            builder.push(comparison(op));
            builder.bind(Bind::Text(value.raw.clone()));
            builder.push(")");
        }
        builder.push(")");
        return;
    }
    builder.push(&format!("({column}"));
    builder.push(comparison(op));
    builder.bind(Bind::Text(value.raw.clone()));
    builder.push(")");
}

/// `EXISTS` over the values reached by `path`, descending into arrays at every step,
/// with the leaf compared to any of `values`.
fn json_exists(builder: &mut Builder, path: &[String], op: Op, values: &[Operand]) {
    builder.push("EXISTS (SELECT 1 FROM ");
    let mut source = String::from("d.doc");
    let mut leaf = String::new();
    for (index, segment) in path.iter().enumerate() {
        let alias = builder.alias();
        if index > 0 {
            builder.push(", ");
        }
        // Each step yields a one-row table for a single value and one row per element
        // for an array, so `a.b` reads `b` of every element when `a` is an array.
        let key = json_path(std::slice::from_ref(segment));
        builder.push(&format!("json_each(CASE json_type({source}, "));
        builder.bind(Bind::Text(key.clone()));
        builder.push(&format!(") WHEN 'array' THEN json_extract({source}, "));
        builder.bind(Bind::Text(key.clone()));
        builder.push(&format!(") ELSE json_array({source} -> "));
        builder.bind(Bind::Text(key));
        builder.push(&format!(") END) AS {alias}"));
        source = format!("(CASE WHEN {alias}.type = 'object' THEN {alias}.value END)");
        leaf = alias;
    }
    builder.push(" WHERE ");
    builder.push("(");
    for (index, value) in values.iter().enumerate() {
        if index > 0 {
            builder.push(" OR ");
        }
        leaf_predicate(builder, &leaf, op, value);
    }
    builder.push("))");
}

/// Compares one JSON value (`type`/`value` columns of a json_each row) to an operand,
/// choosing the reading of the operand that fits the value's JSON type.
fn leaf_predicate(builder: &mut Builder, leaf: &str, op: Op, value: &Operand) {
    let cmp = comparison(op);
    builder.push("(");
    if op == Op::Regex {
        builder.push(&format!("{leaf}.type = 'text' AND {leaf}.value REGEXP "));
        builder.bind(Bind::Text(value.raw.clone()));
        builder.push(")");
        return;
    }
    if let Some(instant) = value.instant {
        builder.push(&format!(
            "({leaf}.type = 'text' AND round(unixepoch({leaf}.value, 'subsec') * 1000){cmp}"
        ));
        builder.bind(Bind::Int(millis(instant)));
        builder.push(") OR ");
    }
    if let Some(number) = value.number {
        builder.push(&format!(
            "({leaf}.type IN ('integer', 'real') AND {leaf}.value{cmp}"
        ));
        if number.fract() == 0.0 && number.abs() < 9.0e15 {
            builder.bind(Bind::Int(number as i64));
        } else {
            builder.bind(Bind::Real(number));
        }
        builder.push(") OR ");
    }
    if let Some(boolean) = value.boolean {
        if matches!(op, Op::Eq | Op::Ne) {
            builder.push(&format!(
                "{leaf}.type = '{}' OR ",
                if boolean { "true" } else { "false" }
            ));
        }
    }
    // A date compares only as an instant: as text, "23:30+01:00" would sort after
    // "22:45Z" although it is earlier. Other text, and equality, compare as text.
    let not_a_date = if value.instant.is_some() && op != Op::Eq {
        format!(" AND unixepoch({leaf}.value) IS NULL")
    } else {
        String::new()
    };
    builder.push(&format!(
        "({leaf}.type = 'text'{not_a_date} AND {leaf}.value{cmp}"
    ));
    builder.bind(Bind::Text(value.raw.clone()));
    builder.push("))");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn operand(raw: &str) -> Operand {
        Operand {
            raw: raw.to_string(),
            number: raw.parse().ok(),
            instant: None,
            boolean: None,
        }
    }

    #[test]
    fn user_text_never_reaches_the_sql() {
        let hostile = "' OR 1=1 --";
        let query = ListQuery {
            kind: "k".into(),
            conditions: vec![Condition {
                target: Target::Json(vec![hostile.into(), "x".into()]),
                op: Op::Eq,
                values: vec![operand(hostile)],
            }],
            sort: vec![],
            offset: 0,
            limit: 10,
        };
        let mut builder = Builder::default();
        where_clause(&mut builder, &query);
        assert!(!builder.sql.contains("OR 1=1"), "{}", builder.sql);
        assert!(builder.binds.contains(&Bind::Text(hostile.into())));
    }
}
