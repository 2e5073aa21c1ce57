//! A parent problem's unions (`affected*`, `rootCause*`): the union of its own entries
//! and those of the problems grouped under it, kept true as they change. What each child
//! brought is internal state of the API (`TMF656:grouping`, by parent), so that a child
//! that loses an entry, or is ungrouped, takes away exactly what only it brought.
//!
//! A grouped problem's change flows up in its own transaction: its parent's unions take
//! what it gained and lose what only it brought (`flow_up`, from the problem's hook);
//! the parent's write is itself a grouped problem's change, so it flows on to every
//! ancestor. Grouping refuses cycles and trees deeper than `MAX_LEVELS`, so a change
//! climbs a bounded chain; and a write that changes no union stops it.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use switchboard_engine::{Error, Internal, Result, Scope};

use super::refs::{problem_refs, PROBLEM};
use super::CODE;

/// The parent's attributes that hold the union of its own and its children's entries.
pub(super) const UNIONS: [&str; 5] = [
    "affectedResource",
    "affectedService",
    "affectedLocation",
    "rootCauseResource",
    "rootCauseService",
];
/// The parent's count of affected services: the largest of its own, its children's
/// and the services its union lists.
pub(super) const COUNT: &str = "affectedNumberOfServices";
/// Internal state: what the children brought, by parent.
const BROUGHT: &str = "grouping";
/// Levels of a group tree at most (a problem and its ancestors): what a change climbs.
pub(super) const MAX_LEVELS: usize = 16;

/// The entries of a parent's unions that its children brought.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Brought {
    /// Attribute → entry (by `key`) → the children that brought it. An entry the parent
    /// had before any child brought it is its own, and not listed.
    pub(super) entries: BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
    /// The parent's own `affectedNumberOfServices` before its first child.
    pub(super) own_count: Option<i64>,
}

/// How an entry of a union is told apart: by its `id`, else by all of it (a place
/// given by name only).
pub(super) fn key(entry: &Value) -> String {
    match entry.get("id").and_then(Value::as_str) {
        Some(id) => format!("id:{id}"),
        None => entry.to_string(),
    }
}

pub(super) fn entries<'a>(doc: &'a Value, attribute: &str) -> &'a [Value] {
    doc.get(attribute)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

pub(super) fn count_of(doc: &Value) -> Option<i64> {
    doc.get(COUNT).and_then(Value::as_i64)
}

pub(super) async fn read_brought(
    scope: &mut Scope,
    parent: &str,
) -> Result<(Option<Internal>, Brought)> {
    let read = scope.internal(BROUGHT, parent).await?;
    let brought = match &read {
        Some(read) => serde_json::from_value(read.value.clone())
            .map_err(|error| Error::internal(format!("grouping state unreadable: {error}")))?,
        None => Brought::default(),
    };
    Ok((read, brought))
}

pub(super) async fn write_brought(
    scope: &mut Scope,
    parent: &str,
    read: Option<&Internal>,
    brought: &Brought,
) -> Result<()> {
    let value = serde_json::to_value(brought)
        .map_err(|error| Error::internal(format!("grouping state unwritable: {error}")))?;
    scope.put_internal(BROUGHT, parent, read, &value).await
}

pub(super) async fn delete_brought(scope: &mut Scope, parent: &str, read: &Internal) -> Result<()> {
    scope.delete_internal(BROUGHT, parent, read).await
}

/// Adds `entry` to the parent's union unless it is there; records `child` as one that
/// brought it, unless the parent had it of its own.
pub(super) fn add_entry(
    unions: &mut Value,
    brought: &mut Brought,
    attribute: &str,
    entry: &Value,
    child: &str,
) {
    let key = key(entry);
    let present = entries(unions, attribute)
        .iter()
        .any(|existing| self::key(existing) == key);
    let by_children = brought.entries.entry(attribute.to_string()).or_default();
    match (present, by_children.get_mut(&key)) {
        (false, _) => {
            push(unions, attribute, entry.clone());
            by_children.insert(key, BTreeSet::from([child.to_string()]));
        }
        (true, Some(children)) => {
            children.insert(child.to_string());
        }
        (true, None) => {}
    }
}

/// `child` no longer brings the entry `key`: the parent's union loses it when no other
/// child brings it and it is not the parent's own.
fn take_entry(
    unions: &mut Value,
    brought: &mut Brought,
    attribute: &str,
    entry_key: &str,
    child: &str,
) {
    let Some(by_children) = brought.entries.get_mut(attribute) else {
        return;
    };
    let Some(children) = by_children.get_mut(entry_key) else {
        return;
    };
    children.remove(child);
    if !children.is_empty() {
        return;
    }
    by_children.remove(entry_key);
    if let Some(Value::Array(list)) = unions.get_mut(attribute) {
        list.retain(|entry| key(entry) != entry_key);
    }
}

pub(super) fn push(doc: &mut Value, attribute: &str, entry: Value) {
    match doc.get_mut(attribute) {
        Some(Value::Array(list)) => list.push(entry),
        _ => doc[attribute] = json!([entry]),
    }
}

/// How many distinct services the document's `affectedService` lists, if any.
pub(super) fn listed_services(doc: &Value) -> Option<i64> {
    let services: BTreeSet<String> = entries(doc, "affectedService").iter().map(key).collect();
    (!services.is_empty()).then(|| i64::try_from(services.len()).unwrap_or(i64::MAX))
}

/// Writes the unions computed in `unions` onto `parent` (an emptied one is removed).
pub(super) fn set_unions(parent: &mut Value, unions: &Value) {
    for attribute in UNIONS {
        match unions.get(attribute) {
            Some(Value::Array(list)) if list.is_empty() => remove(parent, attribute),
            Some(union) => parent[attribute] = union.clone(),
            None => remove(parent, attribute),
        }
    }
}

pub(super) fn remove(doc: &mut Value, attribute: &str) {
    if let Value::Object(object) = doc {
        object.remove(attribute);
    }
}

/// What a write changed in a problem's unions and count.
struct Diff<'a> {
    added: Vec<(&'static str, &'a Value)>,
    removed: Vec<(&'static str, String)>,
    /// The count changed.
    count: bool,
    /// Something was taken away: an entry, or some of the count.
    shrank: bool,
}

impl<'a> Diff<'a> {
    fn between(previous: &Value, doc: &'a Value) -> Diff<'a> {
        let mut diff = Diff {
            added: Vec::new(),
            removed: Vec::new(),
            count: false,
            shrank: false,
        };
        for attribute in UNIONS {
            let before: BTreeSet<String> = entries(previous, attribute).iter().map(key).collect();
            let after: BTreeSet<String> = entries(doc, attribute).iter().map(key).collect();
            let mut seen = BTreeSet::new();
            for entry in entries(doc, attribute) {
                let entry_key = key(entry);
                if !before.contains(&entry_key) && seen.insert(entry_key) {
                    diff.added.push((attribute, entry));
                }
            }
            diff.removed.extend(
                before
                    .difference(&after)
                    .map(|entry_key| (attribute, entry_key.clone())),
            );
        }
        let (was, now) = (count_of(previous), count_of(doc));
        diff.count = was != now;
        diff.shrank = !diff.removed.is_empty() || now < was;
        diff
    }

    fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && !self.count
    }
}

/// A grouped problem changed from `previous` to `doc`: each parent it had before and
/// still has takes the change into its unions (a change of the links themselves is the
/// grouping tasks', which write the parent's unions themselves).
pub(super) async fn flow_up(scope: &mut Scope, doc: &Value, previous: &Value) -> Result<()> {
    let Some(child_id) = doc.get("id").and_then(Value::as_str) else {
        return Ok(());
    };
    let before = problem_refs(previous, "parentProblem");
    let parents: Vec<String> = problem_refs(doc, "parentProblem")
        .into_iter()
        .filter(|parent| before.contains(parent) && parent != child_id)
        .collect();
    if parents.is_empty() {
        return Ok(());
    }
    let diff = Diff::between(previous, doc);
    if diff.is_empty() {
        return Ok(());
    }
    for parent_id in &parents {
        scope
            .serialize_on(&format!("{CODE}:group:{parent_id}"))
            .await;
        let Some(parent) = scope.document(CODE, PROBLEM, parent_id).await? else {
            continue;
        };
        let (read, mut brought) = read_brought(scope, parent_id).await?;
        if read.is_none() {
            brought.own_count = count_of(&parent);
        }
        let mut unions = parent.clone();
        for (attribute, entry) in &diff.added {
            add_entry(&mut unions, &mut brought, attribute, entry, child_id);
        }
        for (attribute, entry_key) in &diff.removed {
            take_entry(&mut unions, &mut brought, attribute, entry_key, child_id);
        }
        let mut counts = vec![count_of(doc), listed_services(&unions)];
        if diff.shrank {
            // Taken again from what the parent is made of, as ungrouping does.
            counts.push(brought.own_count);
            for other in problem_refs(&parent, "underlyingProblem") {
                if other != child_id {
                    if let Some(other) = scope.document(CODE, PROBLEM, &other).await? {
                        counts.push(count_of(&other));
                    }
                }
            }
        } else {
            counts.push(count_of(&parent));
        }
        let count = counts.into_iter().flatten().max();
        // The state first: the parent's own hook keeps what it says the children bring.
        write_brought(scope, parent_id, read.as_ref(), &brought).await?;
        scope
            .update(PROBLEM, parent_id, |parent| {
                set_unions(parent, &unions);
                match count {
                    Some(count) => parent[COUNT] = json!(count),
                    None => remove(parent, COUNT),
                }
                Ok(())
            })
            .await?;
    }
    Ok(())
}

/// A parent's write keeps every entry its children bring (a client's PATCH that drops
/// one gets it back): the union is taken away only by the children, through the
/// grouping state, which the server's own writes update first.
pub(super) async fn keep_brought(
    scope: &mut Scope,
    doc: &mut Value,
    previous: &Value,
) -> Result<()> {
    if problem_refs(previous, "underlyingProblem").is_empty() {
        return Ok(());
    }
    let Some(id) = doc.get("id").and_then(Value::as_str).map(str::to_string) else {
        return Ok(());
    };
    scope.serialize_on(&format!("{CODE}:group:{id}")).await;
    let (_, brought) = read_brought(scope, &id).await?;
    for attribute in UNIONS {
        let Some(by_children) = brought.entries.get(attribute) else {
            continue;
        };
        let present: BTreeSet<String> = entries(doc, attribute).iter().map(key).collect();
        for entry in entries(previous, attribute) {
            let entry_key = key(entry);
            if by_children.contains_key(&entry_key) && !present.contains(&entry_key) {
                push(doc, attribute, entry.clone());
            }
        }
    }
    Ok(())
}
