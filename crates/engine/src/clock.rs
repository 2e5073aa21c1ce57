//! How TMF dates are written here: UTC, millisecond precision, `Z`.

/// The current time as TMF dates are written here: UTC, millisecond precision, `Z`.
pub fn now_rfc3339() -> String {
    format_instant(time::OffsetDateTime::now_utc())
}

pub fn format_instant(at: time::OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    )
}
