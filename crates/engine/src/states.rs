//! State machines applied to a change: the declared state moves only as its machine
//! allows (a move into a retired state is flagged, for the in-service check), further
//! state attributes likewise, and what the change announces (a state change, an
//! attribute change).

use serde_json::{Map, Value};

use crate::document::string_at;
use crate::error::{Error, Result};
use crate::kernel::ResourceDecl;
use crate::model::StateMachine;

/// What a change does to the declared state attribute.
#[derive(Debug, Default)]
pub(crate) struct StateMove {
    /// The state is set to another value (announced as a state change).
    pub(crate) changed: bool,
    /// The state moves into one that takes the resource out of service, from one
    /// that did not: refused while a resource in service refers to it.
    pub(crate) retiring: bool,
}

/// Checks a change of the declared state against its machine: it may be removed only
/// where the machine gives the absent state a place and allows the move to it, must be a
/// known state, and may move only as the transitions allow (409 naming the allowed next
/// states otherwise). Where the machine declares no absent state, any known state may be
/// set on a document without one.
pub(crate) fn state_move(decl: &ResourceDecl, previous: &Value, doc: &Value) -> Result<StateMove> {
    let mut moved = StateMove::default();
    let Some(state) = &decl.state else {
        return Ok(moved);
    };
    let absent = state.declares_absent();
    let before = string_at(previous, state.attribute);
    let after = doc.get(state.attribute);
    match (before.as_deref(), after) {
        (Some(from), None | Some(Value::Null)) => {
            if !absent {
                return Err(Error::invalid_body(format!(
                    "'{}' cannot be removed",
                    state.attribute
                )));
            }
            check_transition(state, from, StateMachine::ABSENT)?;
            moved.changed = true;
        }
        (None, None | Some(Value::Null)) => {}
        (Some(from), Some(Value::String(to))) => {
            if !state.knows(to) {
                return Err(Error::invalid_body(format!(
                    "'{}' '{to}' is not a known state; known states: {}",
                    state.attribute,
                    state.states().join(", ")
                )));
            }
            check_transition(state, from, to)?;
            if from != to {
                moved.changed = true;
                let retiring = |state: &str| {
                    decl.retired
                        .iter()
                        .any(|retired| retired.eq_ignore_ascii_case(state))
                };
                moved.retiring = retiring(to) && !retiring(from);
            }
        }
        (None, Some(Value::String(to))) if !state.knows(to) => {
            return Err(Error::invalid_body(format!(
                "'{}' '{to}' is not a known state",
                state.attribute
            )));
        }
        (None, Some(Value::String(to))) => {
            if absent {
                check_transition(state, StateMachine::ABSENT, to)?;
            }
            moved.changed = true;
        }
        (_, Some(_)) => {
            return Err(Error::invalid_body(format!(
                "'{}' must be a string",
                state.attribute
            )))
        }
    }
    Ok(moved)
}

/// Refuses (409, naming the allowed next states) a move the machine does not allow.
fn check_transition(machine: &StateMachine, from: &str, to: &str) -> Result<()> {
    if machine.allows(from, to) {
        return Ok(());
    }
    let next = machine.next_states(from);
    Err(Error::invalid_transition(format!(
        "'{}' cannot go from '{from}' to '{to}'; allowed next: {}",
        machine.attribute,
        if next.is_empty() {
            "none (final state)".to_string()
        } else {
            next.join(", ")
        }
    )))
}

/// Further state attributes (a resource's administrative, operational and usage states)
/// move only as their machines allow: 409 naming the allowed next states otherwise.
/// Their changes are announced as attribute changes.
pub(crate) fn check_other_states(decl: &ResourceDecl, previous: &Value, doc: &Value) -> Result<()> {
    for machine in decl.other_states {
        let before = previous.get(machine.attribute).and_then(Value::as_str);
        let after = doc.get(machine.attribute).and_then(Value::as_str);
        let (Some(from), Some(to)) = (before, after) else {
            continue;
        };
        if machine.knows(from) && machine.knows(to) {
            check_transition(machine, from, to)?;
        }
    }
    Ok(())
}

/// Writes the state in its declared spelling ("in STUDY" is stored as "In study").
pub(crate) fn canonical_state(decl: &ResourceDecl, doc: &mut Value) {
    let Some(state) = &decl.state else {
        return;
    };
    let canonical = doc
        .get(state.attribute)
        .and_then(Value::as_str)
        .and_then(|value| state.canonical(value));
    if let Some(canonical) = canonical {
        doc[state.attribute] = Value::String(canonical.to_string());
    }
}

/// True when anything but the state and the server's dates differs.
pub(crate) fn attributes_changed(previous: &Value, doc: &Value, decl: &ResourceDecl) -> bool {
    let (Value::Object(before), Value::Object(after)) = (previous, doc) else {
        return previous != doc;
    };
    let ignored: Vec<&str> = decl
        .state
        .iter()
        .map(|state| state.attribute)
        .chain(decl.last_update)
        .collect();
    let differs = |a: &Map<String, Value>, b: &Map<String, Value>| {
        a.iter()
            .any(|(key, value)| !ignored.contains(&key.as_str()) && b.get(key) != Some(value))
    };
    differs(before, after) || differs(after, before)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::error::ErrorKind;

    fn decl(transitions: &'static [(&'static str, &'static [&'static str])]) -> ResourceDecl {
        ResourceDecl {
            state: Some(StateMachine {
                attribute: "status",
                initial: None,
                transitions,
            }),
            ..ResourceDecl::new("thing", "Thing")
        }
    }

    const WITH_ABSENT: &[(&str, &[&str])] = &[
        (StateMachine::ABSENT, &["acknowledged"]),
        ("acknowledged", &[StateMachine::ABSENT, "inProgress"]),
        ("inProgress", &[]),
    ];
    const WITHOUT_ABSENT: &[(&str, &[&str])] =
        &[("acknowledged", &["inProgress"]), ("inProgress", &[])];

    fn kind(outcome: Result<StateMove>) -> Option<ErrorKind> {
        outcome.err().map(|error| error.kind)
    }

    #[test]
    fn a_declared_absent_state_moves_as_its_rows_say() {
        let machine = decl(WITH_ABSENT);
        let none = json!({});
        let acknowledged = json!({"status": "acknowledged"});
        let in_progress = json!({"status": "inProgress"});
        assert!(state_move(&machine, &none, &acknowledged).unwrap().changed);
        assert!(state_move(&machine, &acknowledged, &none).unwrap().changed);
        assert!(state_move(&machine, &acknowledged, &json!({"status": null})).is_ok());
        // Not in the absent row, and no row allows removing it.
        assert_eq!(
            kind(state_move(&machine, &none, &in_progress)),
            Some(ErrorKind::Conflict)
        );
        assert_eq!(
            kind(state_move(&machine, &in_progress, &none)),
            Some(ErrorKind::Conflict)
        );
        // The marker is no value of the attribute.
        assert_eq!(
            kind(state_move(&machine, &none, &json!({"status": "(absent)"}))),
            Some(ErrorKind::BadRequest)
        );
        assert!(!machine
            .state
            .as_ref()
            .unwrap()
            .states()
            .contains(&"(absent)"));
    }

    #[test]
    fn without_an_absent_state_the_attribute_stays_and_starts_anywhere() {
        let machine = decl(WITHOUT_ABSENT);
        let none = json!({});
        let acknowledged = json!({"status": "acknowledged"});
        assert!(state_move(&machine, &none, &json!({"status": "inProgress"})).is_ok());
        assert_eq!(
            kind(state_move(&machine, &acknowledged, &none)),
            Some(ErrorKind::BadRequest)
        );
    }
}
