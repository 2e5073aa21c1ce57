//! TMF640 Service Activation and Configuration v4: services to activate (the southbound
//! face of fulfilment) and the monitors of asynchronous requests.
//!
//! The activation request names its specification, but it is not checked against the
//! catalog here: the request may come from a northbound system whose catalog is not ours
//! (the TMF640 kit posts one for `cfs45`).

use switchboard_engine::{ApiDecl, Operations, ResourceDecl, StateMachine};

pub const CODE: &str = "TMF640";

/// The monitor of an asynchronous request (free text in v4: e.g. in progress,
/// completed, failed).
const MONITOR_STATES: &[(&str, &[&str])] = &[];

pub fn api() -> ApiDecl {
    ApiDecl {
        code: CODE,
        name: "Service Activation and Configuration",
        base_path: "/tmf-api/ServiceActivationAndConfiguration/v4",
        schema: include_str!("../../../schemas/TMF640.json"),
        observers: Vec::new(),
        resources: vec![
            ResourceDecl {
                create_schema: Some("Service_Create"),
                update_schema: Some("Service_Update"),
                state: Some(StateMachine {
                    attribute: "state",
                    initial: None,
                    transitions: crate::tmf638::SERVICE_TRANSITIONS,
                }),
                created_at: Some("serviceDate"),
                ..ResourceDecl::new("service", "Service")
            },
            ResourceDecl {
                operations: Operations {
                    list: true,
                    create: false,
                    retrieve: true,
                    patch: false,
                    delete: false,
                },
                state: Some(StateMachine {
                    attribute: "state",
                    initial: None,
                    transitions: MONITOR_STATES,
                }),
                ..ResourceDecl::new("monitor", "Monitor")
            },
        ],
    }
}
