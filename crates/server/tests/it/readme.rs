//! The README's configuration table says what `switchboard serve --help` says: the same
//! flags, each with the same environment twin. (The README's walkthrough is run by
//! `.ci/readme` against a release server.)

use std::collections::BTreeMap;
use std::process::Command;

/// Flag → environment variable, as `serve --help` lists them (`--help` itself aside).
fn flags_in_help(help: &str) -> BTreeMap<String, Option<String>> {
    let mut flags = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in help.lines() {
        let trimmed = line.trim_start();
        let trimmed = trimmed
            .strip_prefix("-h, ")
            .or_else(|| trimmed.strip_prefix("-V, "))
            .unwrap_or(trimmed);
        if let Some(rest) = trimmed.strip_prefix("--") {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            current = Some(format!("--{name}"));
            flags.insert(format!("--{name}"), None);
        }
        if let (Some(flag), Some(at)) = (&current, line.find("[env: ")) {
            let env: String = line[at + 6..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            flags.insert(flag.clone(), Some(env));
        }
    }
    flags.remove("--help");
    flags
}

/// Flag → environment variable, as the README's configuration table lists them.
fn flags_in_readme(readme: &str) -> BTreeMap<String, Option<String>> {
    let mut flags = BTreeMap::new();
    for line in readme.lines() {
        let Some(row) = line.strip_prefix("| `--") else {
            continue;
        };
        let name: String = row
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        // A cell may hold an escaped bar (`allow\|deny`).
        let env = line
            .replace("\\|", "/")
            .split('|')
            .nth(2)
            .and_then(|cell| cell.split('`').nth(1).map(str::to_string));
        flags.insert(format!("--{name}"), env);
    }
    flags
}

#[test]
fn the_readme_configuration_table_lists_every_serve_flag_and_no_other() {
    let output = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["serve", "--help"])
        .env_clear()
        .output()
        .unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    let in_help = flags_in_help(&help);
    assert!(in_help.len() > 10, "{help}");
    assert!(in_help.values().all(Option::is_some), "{in_help:?}\n{help}");

    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let in_readme = flags_in_readme(&readme);
    let missing: Vec<&String> = in_help
        .keys()
        .filter(|flag| !in_readme.contains_key(*flag))
        .collect();
    let extra: Vec<&String> = in_readme
        .keys()
        .filter(|flag| !in_help.contains_key(*flag))
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "README.md's configuration table lacks {missing:?} and has {extra:?}, which \
         `switchboard serve --help` does not list"
    );
    assert_eq!(in_readme, in_help, "the environment twins differ");
}

#[test]
fn the_demo_command_takes_the_serve_flags() {
    let help = |command: &str| {
        let output = Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .args([command, "--help"])
            .env_clear()
            .output()
            .unwrap();
        flags_in_help(&String::from_utf8(output.stdout).unwrap())
    };
    assert_eq!(help("demo"), help("serve"));
}
