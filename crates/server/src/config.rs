//! The settings of `switchboard serve` (and `migrate`), each a flag with an environment
//! twin.

use clap::{Args, ValueEnum};
use switchboard_apis::settings::{Assurance, Settings};
use switchboard_engine::callbacks::CallbackPolicy;
use switchboard_fulfilment::Activation;

/// What a `serve` process does; API nodes and workers scale separately on PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Role {
    /// The APIs and the job worker.
    All,
    /// The APIs only: jobs (event deliveries among them) wait for a worker process.
    Api,
    /// The job worker only, with `/health`, `/ready` and `/metrics`.
    Worker,
}

impl Role {
    /// The role as its flag spells it.
    pub fn name(self) -> &'static str {
        match self {
            Role::All => "all",
            Role::Api => "api",
            Role::Worker => "worker",
        }
    }

    pub fn serves_apis(self) -> bool {
        matches!(self, Role::All | Role::Api)
    }

    pub fn runs_jobs(self) -> bool {
        matches!(self, Role::All | Role::Worker)
    }
}

#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    /// Address to listen on.
    #[arg(long, env = "SWITCHBOARD_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// What this process does: `all`, `api` (no job worker) or `worker` (no APIs).
    /// `api` and `worker` need PostgreSQL: an SQLite file belongs to one process.
    #[arg(long, env = "SWITCHBOARD_ROLE", value_enum, default_value_t = Role::All)]
    pub role: Role,
    /// Database: `sqlite://FILE` (created when missing) or a plain file path, or
    /// `postgres://USER@HOST:PORT/DB` (optionally `?schema=NAME`); any other form is
    /// refused.
    #[arg(
        long,
        env = "SWITCHBOARD_DATABASE_URL",
        default_value = "sqlite://switchboard.db"
    )]
    pub database_url: String,
    /// Base URL used in every `href` (default: http://LISTEN).
    #[arg(long, env = "SWITCHBOARD_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Largest request body accepted, in bytes; larger bodies get 413.
    #[arg(long, env = "SWITCHBOARD_MAX_BODY_BYTES", default_value_t = 1 << 20)]
    pub max_body_bytes: usize,
    /// Attempts to deliver an event before it is dead-lettered.
    #[arg(long, env = "SWITCHBOARD_DELIVERY_MAX_ATTEMPTS", default_value_t = 8)]
    pub delivery_max_attempts: i64,
    /// First retry delay of a failed delivery in milliseconds (doubled per attempt).
    #[arg(long, env = "SWITCHBOARD_DELIVERY_BACKOFF_MS", default_value_t = 1000)]
    pub delivery_backoff_ms: i64,
    /// Time allowed for one callback request, in milliseconds.
    #[arg(long, env = "SWITCHBOARD_DELIVERY_TIMEOUT_MS", default_value_t = 5000)]
    pub delivery_timeout_ms: u64,
    /// Longest idle sleep of the job worker, in milliseconds.
    #[arg(long, env = "SWITCHBOARD_POLL_INTERVAL_MS", default_value_t = 1000)]
    pub poll_interval_ms: u64,
    /// Lease on a claimed job, in milliseconds: the work of a process that dies is taken
    /// over after this long.
    #[arg(long, env = "SWITCHBOARD_JOB_LEASE_MS", default_value_t = 30_000)]
    pub job_lease_ms: i64,
    /// Documents kept in memory for reads by id (SQLite; 0 turns the cache off).
    #[arg(long, env = "SWITCHBOARD_CACHE_ENTRIES", default_value_t = 20_000)]
    pub cache_entries: usize,
    /// Database connections of this process (PostgreSQL): N processes need N times this
    /// within the server's `max_connections`.
    #[arg(long, env = "SWITCHBOARD_PG_CONNECTIONS", default_value_t = 16)]
    pub pg_connections: u32,
    /// SQLite: fsync every commit (survives power loss) instead of relying on the WAL
    /// (survives a crash of the process).
    #[arg(
        long,
        env = "SWITCHBOARD_SQLITE_SYNCHRONOUS_FULL",
        default_value_t = false
    )]
    pub sqlite_synchronous_full: bool,
    /// Event callbacks to private, loopback and reserved addresses: `allow` or `deny`.
    /// Default: allowed when this server listens on loopback (development and tests),
    /// denied when it listens on any other address.
    #[arg(long, env = "SWITCHBOARD_PRIVATE_CALLBACKS", value_enum)]
    pub private_callbacks: Option<PrivateCallbacks>,
    /// How services are activated unless routed otherwise: `simulator`,
    /// `simulator:DELAY_MS`, `simulator:DELAY_MS:FAILURE_RATE` (0 to 1), or the base URL
    /// of a TMF640 v4 server (`http://…/tmf-api/ServiceActivationAndConfiguration/v4`).
    #[arg(long, env = "SWITCHBOARD_ACTIVATION", default_value = "simulator")]
    pub activation: String,
    /// Routes the services of one specification (by id or name) to another adapter:
    /// `SPEC=ADAPTER`, repeatable (env: comma-separated).
    #[arg(
        long = "activation-route",
        env = "SWITCHBOARD_ACTIVATION_ROUTES",
        value_delimiter = ','
    )]
    pub activation_routes: Vec<String>,
    /// How long one southbound activation request (with its monitor) may take, in ms.
    #[arg(
        long,
        env = "SWITCHBOARD_ACTIVATION_TIMEOUT_MS",
        default_value_t = 30_000
    )]
    pub activation_timeout_ms: u64,
    /// Log lines as `text` (coloured on a terminal only) or `json` (one object a line).
    #[arg(long, env = "SWITCHBOARD_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// A new service problem (TMF656) starts `acknowledged` (`true`), or without a
    /// status until a `problemAcknowledgement` task takes it (`false`).
    #[arg(
        long,
        env = "SWITCHBOARD_PROBLEM_AUTO_ACKNOWLEDGE",
        default_value_t = true,
        action = clap::ArgAction::Set
    )]
    pub problem_auto_acknowledge: bool,
    /// Time to resolve a trouble ticket of a severity, which sets its
    /// `expectedResolutionDate`: `SEVERITY=DURATION` (`s`, `m`, `h`, `d`), repeatable
    /// (env: comma-separated); the list replaces the default one.
    #[arg(
        long = "ticket-resolution-target",
        env = "SWITCHBOARD_TICKET_RESOLUTION_TARGETS",
        value_delimiter = ',',
        default_value = "critical=4h,major=1d,minor=3d"
    )]
    pub ticket_resolution_targets: Vec<String>,
    /// The role in a product's `relatedParty` that makes a party the customer a fault's
    /// ticket goes to; repeatable (env: comma-separated).
    #[arg(
        long = "customer-role",
        env = "SWITCHBOARD_CUSTOMER_ROLES",
        value_delimiter = ',',
        default_value = "customer"
    )]
    pub customer_roles: Vec<String>,
    /// How long a trouble ticket stays `resolved` without an answer before the server
    /// closes it (`s`, `m`, `h`, `d`), or `off`.
    #[arg(long, env = "SWITCHBOARD_TICKET_AUTO_CLOSE", default_value = "7d")]
    pub ticket_auto_close: String,
    /// Load the demo catalog and customers before serving (idempotent: a second start
    /// changes nothing) and print the commands that order from it.
    #[arg(long, env = "SWITCHBOARD_DEMO", default_value_t = false)]
    pub demo: bool,
}

/// How log lines are written (to standard error).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines; colours only when standard error is a terminal.
    #[default]
    Text,
    /// One JSON object per line, the event's fields at the top level.
    Json,
}

/// A setting that keeps the server from starting, as one line that names the setting
/// and says what to do; `switchboard` exits with status 2 on it (as on a usage error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// `--database-url 'URL'` (password hidden) followed by what is wrong with it.
pub fn database_url_error(url: &str, problem: impl std::fmt::Display) -> ConfigError {
    ConfigError(format!(
        "--database-url '{}': {problem}",
        crate::redacted(url)
    ))
}

/// Whether event callbacks may reach private networks (the SSRF guard).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PrivateCallbacks {
    Allow,
    Deny,
}

impl ServeConfig {
    /// Defaults for everything, listening on `listen` and storing in `database_url`.
    pub fn new(listen: impl Into<String>, database_url: impl Into<String>) -> Self {
        ServeConfig {
            listen: listen.into(),
            role: Role::All,
            database_url: database_url.into(),
            public_url: None,
            max_body_bytes: 1 << 20,
            delivery_max_attempts: 8,
            delivery_backoff_ms: 1000,
            delivery_timeout_ms: 5000,
            poll_interval_ms: 1000,
            job_lease_ms: 30_000,
            cache_entries: 20_000,
            pg_connections: 16,
            sqlite_synchronous_full: false,
            private_callbacks: None,
            activation: "simulator".to_string(),
            activation_routes: Vec::new(),
            activation_timeout_ms: 30_000,
            log_format: LogFormat::Text,
            problem_auto_acknowledge: true,
            ticket_resolution_targets: vec![
                "critical=4h".to_string(),
                "major=1d".to_string(),
                "minor=3d".to_string(),
            ],
            customer_roles: vec!["customer".to_string()],
            ticket_auto_close: "7d".to_string(),
            demo: false,
        }
    }

    /// Everything that can be checked before anything starts, creating nothing and
    /// connecting nowhere: the database URL's form and file, the role it allows, and the
    /// activation adapters. (Whether PostgreSQL answers and the port is free are known
    /// when the server opens them.)
    pub fn check(&self) -> Result<(), ConfigError> {
        switchboard_store::check_database_url(&self.database_url)
            .map_err(|problem| database_url_error(&self.database_url, problem))?;
        if self.role != Role::All && !switchboard_store::is_shared_database(&self.database_url) {
            // Each process would keep its own caches of the file and miss the others' writes.
            return Err(ConfigError(format!(
                "--role {} needs PostgreSQL (--database-url postgres://…): an SQLite database \
                 belongs to one process, which serves the APIs and runs the jobs (--role all)",
                self.role.name()
            )));
        }
        self.activation().map(drop).map_err(ConfigError)?;
        self.api_settings().map(drop)
    }

    /// The settings of the APIs' rules; the error names the flag that is wrong.
    pub fn api_settings(&self) -> Result<Settings, ConfigError> {
        let mut resolution_targets = Vec::new();
        for target in &self.ticket_resolution_targets {
            let problem = |what: String| {
                ConfigError(format!("--ticket-resolution-target '{target}': {what}"))
            };
            let Some((severity, duration)) = target.split_once('=') else {
                return Err(problem("is not SEVERITY=DURATION".to_string()));
            };
            if severity.trim().is_empty() {
                return Err(problem("names no severity".to_string()));
            }
            let duration = switchboard_apis::settings::parse_duration(duration).map_err(problem)?;
            resolution_targets.push((severity.trim().to_lowercase(), duration));
        }
        if let Some(role) = self
            .customer_roles
            .iter()
            .find(|role| role.trim().is_empty())
        {
            return Err(ConfigError(format!(
                "--customer-role '{role}': a role cannot be empty"
            )));
        }
        let ticket_auto_close =
            match self.ticket_auto_close.trim() {
                "off" => None,
                delay => Some(switchboard_apis::settings::parse_duration(delay).map_err(
                    |what| ConfigError(format!("--ticket-auto-close '{delay}': {what}, or 'off'")),
                )?),
            };
        Ok(Settings {
            assurance: Assurance {
                auto_acknowledge: self.problem_auto_acknowledge,
                resolution_targets,
                customer_roles: self.customer_roles.clone(),
                ticket_auto_close,
            },
        })
    }

    /// The activation adapters as configured; the message says which setting is wrong.
    pub fn activation(&self) -> Result<Activation, String> {
        let timeout = std::time::Duration::from_millis(self.activation_timeout_ms);
        let mut activation = Activation::new(
            Activation::parse_adapter(&self.activation, timeout)
                .map_err(|error| format!("--activation {error}"))?,
        );
        for route in &self.activation_routes {
            let Some((spec, adapter)) = route.split_once('=') else {
                return Err(format!("--activation-route '{route}' is not SPEC=ADAPTER"));
            };
            let adapter = Activation::parse_adapter(adapter, timeout)
                .map_err(|error| format!("--activation-route {spec}: {error}"))?;
            activation = activation.route(spec, adapter);
        }
        Ok(activation)
    }

    /// Where event callbacks may go: as configured, else anywhere for a server on
    /// loopback and public addresses only otherwise.
    pub fn callback_policy(&self) -> CallbackPolicy {
        let allow = match self.private_callbacks {
            Some(choice) => choice == PrivateCallbacks::Allow,
            None => listens_on_loopback(&self.listen),
        };
        if allow {
            CallbackPolicy::Anywhere
        } else {
            CallbackPolicy::PublicOnly
        }
    }

    pub fn public_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => format!("http://{}", self.listen),
        }
    }
}

fn listens_on_loopback(listen: &str) -> bool {
    match listen.parse::<std::net::SocketAddr>() {
        Ok(address) => address.ip().is_loopback(),
        Err(_) => listen
            .rsplit_once(':')
            .is_some_and(|(host, _)| host.eq_ignore_ascii_case("localhost")),
    }
}

/// The settings of `switchboard migrate`.
#[derive(Debug, Clone, Args)]
pub struct MigrateConfig {
    /// The database to create or bring up to date (as for `serve`).
    #[arg(
        long,
        env = "SWITCHBOARD_DATABASE_URL",
        default_value = "sqlite://switchboard.db"
    )]
    pub database_url: String,
}
