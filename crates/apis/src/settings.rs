//! What the operator sets for the APIs' domain rules: the flags of `switchboard serve`
//! (parsed and checked by the server) as the declarations take them.

use std::time::Duration;

/// Settings of every API's rules; `Default` is what `serve` uses without flags.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub assurance: Assurance,
}

/// The assurance wing (TMF621, TMF656, TMF657).
#[derive(Debug, Clone)]
pub struct Assurance {
    /// A new service problem starts `acknowledged` (true), or without a status
    /// ("submitted") until a `problemAcknowledgement` task takes it (false).
    pub auto_acknowledge: bool,
    /// How long a ticket of each severity may take (severity lowercased), from which its
    /// `expectedResolutionDate` is set; a severity not listed gets none.
    pub resolution_targets: Vec<(String, Duration)>,
    /// The roles in a product's `relatedParty` that make a party its customer, who gets
    /// a ticket when a fault touches the product; empty: every party of the product.
    pub customer_roles: Vec<String>,
    /// How long a ticket stays `resolved` without an answer before the server closes
    /// it; `None`: never by itself.
    pub ticket_auto_close: Option<Duration>,
}

impl Default for Assurance {
    fn default() -> Self {
        const HOUR: u64 = 3600;
        Assurance {
            auto_acknowledge: true,
            resolution_targets: vec![
                ("critical".to_string(), Duration::from_secs(4 * HOUR)),
                ("major".to_string(), Duration::from_secs(24 * HOUR)),
                ("minor".to_string(), Duration::from_secs(72 * HOUR)),
            ],
            customer_roles: vec!["customer".to_string()],
            ticket_auto_close: Some(Duration::from_secs(7 * 24 * HOUR)),
        }
    }
}

impl Assurance {
    /// The resolution target of `severity` (any case), if one is set.
    pub fn resolution_target(&self, severity: &str) -> Option<Duration> {
        self.resolution_targets
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(severity))
            .map(|(_, target)| *target)
    }

    /// Whether a product's party in `role` is its customer.
    pub fn is_customer_role(&self, role: Option<&str>) -> bool {
        self.customer_roles.is_empty()
            || role.is_some_and(|role| {
                self.customer_roles
                    .iter()
                    .any(|wanted| wanted.eq_ignore_ascii_case(role))
            })
    }
}

/// Parses a duration as the flags write it: a whole number followed by `s`, `m`, `h`
/// or `d` ("4h", "3d"). The error says what is wrong.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("'{text}' has no unit (s, m, h or d)"))?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("'{text}' does not start with a whole number"))?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("'{text}': unit '{unit}' is not s, m, h or d")),
    };
    number
        .checked_mul(seconds)
        .filter(|_| number > 0)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("'{text}' is not a positive duration of at most u64 seconds"))
}

/// Writes a duration as the flags do, in the largest unit that divides it ("7d",
/// "90s"): the inverse of `parse_duration` for whole seconds.
pub fn format_duration(duration: Duration) -> String {
    let seconds = duration.as_secs();
    let unit = [(86_400, "d"), (3600, "h"), (60, "m")]
        .into_iter()
        .find(|(size, _)| seconds > 0 && seconds.is_multiple_of(*size));
    match unit {
        Some((size, name)) => format!("{}{name}", seconds / size),
        None => format!("{seconds}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_the_flags_write_them() {
        assert_eq!(parse_duration("4h"), Ok(Duration::from_secs(14_400)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("3d"), Ok(Duration::from_secs(259_200)));
        for bad in ["", "4", "h", "4w", "-4h", "0h", "4.5h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        for text in ["7d", "36h", "90s", "1m"] {
            assert_eq!(
                parse_duration(text).map(format_duration).as_deref(),
                Ok(text)
            );
        }
    }
}
