//! Every state the declarations let the server write is one its API's own schema
//! enumerates: a client generated from that specification must be able to read it.

use serde_json::Value;
use switchboard_engine::decl::StateMachine;

/// The enum of `attribute` in `definition` (through one `$ref`), if the schema fixes one.
fn enumerated(schema: &Value, definition: &str, attribute: &str) -> Option<Vec<String>> {
    let definitions = &schema["definitions"];
    let property = &definitions[definition]["properties"][attribute];
    let target = match property.get("$ref").and_then(Value::as_str) {
        Some(reference) => &definitions[reference.trim_start_matches("#/definitions/")],
        None => property,
    };
    let values = target.get("enum")?.as_array()?;
    Some(
        values
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
    )
}

fn states(machine: &StateMachine) -> Vec<&'static str> {
    let mut all: Vec<&'static str> = machine.initial.into_iter().collect();
    for (from, to) in machine.transitions {
        all.push(from);
        all.extend(to.iter().copied());
    }
    // The absent state is no value of the attribute.
    all.retain(|state| *state != StateMachine::ABSENT);
    all
}

#[test]
fn declared_states_are_in_each_apis_own_enums() {
    let mut checked = Vec::new();
    for registration in crate::all(&Default::default()) {
        let api = registration.decl;
        let schema: Value = serde_json::from_str(api.schema).unwrap();
        for resource in &api.resources {
            let machines = resource.state.iter().chain(resource.other_states.iter());
            for machine in machines {
                let Some(allowed) = enumerated(&schema, resource.resource_type, machine.attribute)
                else {
                    continue;
                };
                for state in states(machine) {
                    assert!(
                        allowed.iter().any(|name| name == state),
                        "{} {}.{}: '{state}' is not in {allowed:?}",
                        api.code,
                        resource.resource_type,
                        machine.attribute
                    );
                }
                checked.push(format!("{} {}", api.code, resource.resource_type));
            }
        }
    }
    // The walk reached the machines the specifications enumerate (orders, their cancel
    // tasks, pools' tasks, inventories), not an empty list.
    for expected in [
        "TMF622 ProductOrder",
        "TMF622 CancelProductOrder",
        "TMF641 ServiceOrder",
        "TMF641 CancelServiceOrder",
        "TMF652 CancelResourceOrder",
        "TMF639 Resource",
    ] {
        assert!(
            checked.iter().any(|name| name == expected),
            "{expected} not checked: {checked:?}"
        );
    }
}
