//! What the server derives on a ticket when the client gives none (TMF621 leaves both to
//! the provider): `priority` from `severity` and `ticketType`, and
//! `expectedResolutionDate` from the creation date and the severity's resolution target.
//! A derived value follows later changes of what it was derived from; a value the client
//! set stays (docs/wire-choices.md, "TMF621 Trouble Ticket").

use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::settings::Assurance;

use super::ticket::Ticket;

/// The most urgent priority; larger numbers are less urgent.
const MOST_URGENT: u8 = 1;
/// The least urgent priority, also that of a severity the table does not know.
const LEAST_URGENT: u8 = 4;

/// `priority` from `severity` and `ticketType`: critical "1", major "2", minor "3",
/// anything else "4" for an incident (a service not working as it should); one step
/// less urgent for every other type (a request, a complaint, a question), down to "4".
pub fn priority(severity: &str, ticket_type: &str) -> String {
    let by_severity = match severity.to_ascii_lowercase().as_str() {
        "critical" => MOST_URGENT,
        "major" => 2,
        "minor" => 3,
        _ => LEAST_URGENT,
    };
    let shift = u8::from(!ticket_type.eq_ignore_ascii_case("incident"));
    (by_severity + shift).min(LEAST_URGENT).to_string()
}

/// `expectedResolutionDate`: the creation date plus the severity's resolution target,
/// if the severity has one and the creation date reads.
pub fn expected_resolution(
    assurance: &Assurance,
    creation_date: &str,
    severity: &str,
) -> Option<String> {
    let target = assurance.resolution_target(severity)?;
    let created = OffsetDateTime::parse(creation_date, &Rfc3339).ok()?;
    let expected = created.checked_add(time::Duration::try_from(target).ok()?)?;
    Some(switchboard_engine::format_instant(expected))
}

/// Sets what the server derives on `doc` (a ticket as it is to be stored): each when
/// absent, or when it still holds what was derived from `previous` (the stored ticket)
/// and what it depends on changed.
pub fn derive(assurance: &Assurance, doc: &mut Value, ticket: &Ticket, previous: Option<&Ticket>) {
    let wanted_priority = priority(&ticket.severity, &ticket.ticket_type);
    let keep_priority = match (&ticket.priority, previous) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(now), Some(before)) => {
            let derived_before = priority(&before.severity, &before.ticket_type);
            let untouched = before.priority.as_ref() == Some(now);
            !(untouched && *now == derived_before)
        }
    };
    if !keep_priority {
        doc["priority"] = Value::String(wanted_priority);
    }

    let Some(created) = ticket.creation_date.as_deref() else {
        return;
    };
    let wanted_date = expected_resolution(assurance, created, &ticket.severity);
    let keep_date = match (&ticket.expected_resolution_date, previous) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(now), Some(before)) => {
            let derived_before = expected_resolution(assurance, created, &before.severity);
            let untouched = before.expected_resolution_date.as_ref() == Some(now);
            !(untouched && Some(now) == derived_before.as_ref())
        }
    };
    if keep_date {
        return;
    }
    let Value::Object(object) = doc else {
        return;
    };
    match wanted_date {
        Some(date) => {
            object.insert("expectedResolutionDate".into(), Value::String(date));
        }
        None => {
            object.remove("expectedResolutionDate");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_follows_severity_and_is_less_urgent_outside_incidents() {
        let table = [
            ("critical", "incident", "1"),
            ("Major", "Incident", "2"),
            ("minor", "incident", "3"),
            ("warning", "incident", "4"),
            ("critical", "complaint", "2"),
            ("major", "request", "3"),
            ("minor", "request", "4"),
            ("unknown", "request", "4"),
        ];
        for (severity, ticket_type, expected) in table {
            assert_eq!(
                priority(severity, ticket_type),
                expected,
                "{severity} {ticket_type}"
            );
        }
    }

    #[test]
    fn the_expected_resolution_is_the_creation_plus_the_target() {
        let assurance = Assurance::default();
        assert_eq!(
            expected_resolution(&assurance, "2026-12-01T10:00:00.000Z", "CRITICAL").as_deref(),
            Some("2026-12-01T14:00:00.000Z")
        );
        assert_eq!(
            expected_resolution(&assurance, "2026-12-01T10:00:00.000Z", "minor").as_deref(),
            Some("2026-12-04T10:00:00.000Z")
        );
        assert_eq!(
            expected_resolution(&assurance, "2026-12-01T10:00:00.000Z", "cosmetic"),
            None
        );
    }
}
