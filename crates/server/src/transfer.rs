//! `switchboard export` and `switchboard import`: every document and job of a database as
//! JSON lines, to move from one database to another (SQLite to PostgreSQL, or back).
//!
//! One JSON object a line, told apart by `record`:
//! - first the header: `{"record":"header","format":1,"source":"SQLite","documents":N,"jobs":M}`;
//! - then every document in creation order: `{"record":"document","kind":…,"id":…,
//!   "version":n,"promoted":{"name":…,"state":…,"type":…,"updated":…,"links":[…]},"doc":{…}}`;
//! - then every job not done, in queue order: `{"record":"job","queue":…,"dedup_key":…,
//!   "payload":"…","status":"ready"|"dead","attempts":n,"run_at":ms,"last_error":…,
//!   "created_at":ms}`. Pending event deliveries are jobs: undelivered events move too.
//!
//! The export reads one snapshot, so the file is consistent even while servers write.
//! The import refuses a database that holds any document or job, and writes everything
//! in one transaction: a failed or interrupted import leaves the database as empty as it
//! was, ready for another try. Versions (ETags), promoted columns, creation order, job
//! attempts and due times are kept; job leases are not (they belonged to the source).

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use switchboard_store::{JobStatus, Loader, Promoted, RawDocument, RawJob, StoreConfig};

use crate::anyhow_free::Result;
use crate::redacted;

/// The version of the line format; an import refuses others.
const FORMAT: u32 = 1;
/// Rows read from the snapshot, and written to the loader, at a time.
const PAGE: usize = 500;

/// The settings of `switchboard export`.
#[derive(Debug, Clone, Args)]
pub struct ExportConfig {
    /// The database to read (as for `serve`).
    #[arg(
        long,
        env = "SWITCHBOARD_DATABASE_URL",
        default_value = "sqlite://switchboard.db"
    )]
    pub database_url: String,
    /// File to write, or `-` for standard output.
    #[arg(long, default_value = "-")]
    pub output: String,
}

/// The settings of `switchboard import`.
#[derive(Debug, Clone, Args)]
pub struct ImportConfig {
    /// The database to fill; it must hold no document and no job.
    #[arg(
        long,
        env = "SWITCHBOARD_DATABASE_URL",
        default_value = "sqlite://switchboard.db"
    )]
    pub database_url: String,
    /// File to read, or `-` for standard input.
    #[arg(long, default_value = "-")]
    pub input: String,
    /// Rewrite the `href` of every resource and hub subscription to start with this
    /// base URL (the new servers' `--public-url`) instead of the old servers' one.
    #[arg(long)]
    pub public_url: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
enum Record {
    Header(Header),
    Document(DocumentRecord),
    Job(JobRecord),
}

#[derive(Debug, Serialize, Deserialize)]
struct Header {
    format: u32,
    /// The backend the export was read from ("SQLite", "PostgreSQL"); for people.
    source: String,
    documents: u64,
    jobs: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct DocumentRecord {
    kind: String,
    id: String,
    version: i64,
    promoted: PromotedRecord,
    doc: Value,
}

/// The columns kept beside the document for indexed filters and sorts.
#[derive(Debug, Default, Serialize, Deserialize)]
struct PromotedRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    state: Option<String>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    type_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    updated: Option<String>,
    /// Link-index keys: what the document refers to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    links: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct JobRecord {
    queue: String,
    dedup_key: Option<String>,
    /// The job's payload as the store keeps it: text (JSON for every queue we have).
    payload: String,
    status: String,
    attempts: i64,
    run_at: i64,
    last_error: Option<String>,
    created_at: i64,
}

/// A progress bar on stderr; drawn only when stderr is a terminal.
fn progress(total: u64, verb: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    if let Ok(style) =
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} records ({per_sec}, {eta} left)")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(verb.to_string());
    bar
}

fn store_config(url: &str) -> StoreConfig {
    StoreConfig::new(url.to_string())
}

/// Writes every document and job of the database; returns a summary for stderr.
pub async fn export(config: &ExportConfig) -> Result<String> {
    let url = redacted(&config.database_url);
    let store = crate::open_store(&store_config(&config.database_url)).await?;
    let mut output: Box<dyn Write> = if config.output == "-" {
        Box::new(BufWriter::new(std::io::stdout()))
    } else {
        let file = File::create(&config.output)
            .map_err(|error| format!("cannot create {}: {error}", config.output))?;
        Box::new(BufWriter::new(file))
    };
    let written = |error: std::io::Error| format!("cannot write {}: {error}", config.output);
    let mut snapshot = store.snapshot().await?;
    let counts = snapshot.counts().await?;
    let header = Record::Header(Header {
        format: FORMAT,
        source: store.backend_name().to_string(),
        documents: counts.documents,
        jobs: counts.jobs,
    });
    write_line(&mut output, &header).map_err(written)?;
    let bar = progress(counts.documents + counts.jobs, "exporting");
    let mut after = 0;
    loop {
        let page = snapshot.documents(after, PAGE as i64).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for document in page {
            write_line(&mut output, &document_record(document)?).map_err(written)?;
            bar.inc(1);
        }
    }
    let mut after = 0;
    loop {
        let page = snapshot.jobs(after, PAGE as i64).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for job in page {
            write_line(&mut output, &job_record(job)).map_err(written)?;
            bar.inc(1);
        }
    }
    output.flush().map_err(written)?;
    bar.finish_and_clear();
    Ok(format!(
        "exported {} documents and {} jobs from the {} database {url} to {}",
        counts.documents,
        counts.jobs,
        store.backend_name(),
        if config.output == "-" {
            "standard output"
        } else {
            &config.output
        }
    ))
}

fn write_line(output: &mut dyn Write, record: &Record) -> std::io::Result<()> {
    serde_json::to_writer(&mut *output, record)?;
    output.write_all(b"\n")
}

fn document_record(document: RawDocument) -> Result<Record> {
    let doc = serde_json::from_str(&document.json).map_err(|error| {
        format!(
            "the stored document {} {} is not JSON: {error}",
            document.kind, document.id
        )
    })?;
    Ok(Record::Document(DocumentRecord {
        kind: document.kind,
        id: document.id,
        version: document.version,
        promoted: PromotedRecord {
            name: document.promoted.name,
            state: document.promoted.state,
            type_name: document.promoted.type_name,
            updated: document.promoted.updated,
            links: document.promoted.links,
        },
        doc,
    }))
}

fn job_record(job: RawJob) -> Record {
    Record::Job(JobRecord {
        queue: job.queue,
        dedup_key: job.dedup_key,
        payload: job.payload,
        status: job.status.as_str().to_string(),
        attempts: job.attempts,
        run_at: job.run_at,
        last_error: job.last_error,
        created_at: job.created_at,
    })
}

/// Fills an empty database from an export; returns a summary for stderr.
pub async fn import(config: &ImportConfig) -> Result<String> {
    let source = if config.input == "-" {
        "standard input"
    } else {
        &config.input
    };
    let input: Box<dyn BufRead> = if config.input == "-" {
        Box::new(BufReader::new(std::io::stdin()))
    } else {
        let file = File::open(&config.input)
            .map_err(|error| format!("cannot open {}: {error}", config.input))?;
        Box::new(BufReader::new(file))
    };
    let mut lines = input.lines().enumerate();
    let header = match lines.next() {
        Some((_, line)) => {
            let line = line.map_err(|error| format!("cannot read {source}: {error}"))?;
            match serde_json::from_str(&line) {
                Ok(Record::Header(header)) => header,
                _ => {
                    return Err(format!(
                        "{source} is not a switchboard export: its first line is no header"
                    )
                    .into())
                }
            }
        }
        None => return Err(format!("{source} is empty").into()),
    };
    if header.format != FORMAT {
        return Err(format!(
            "{source} is in export format {}; this switchboard reads format {FORMAT}",
            header.format
        )
        .into());
    }

    let url = redacted(&config.database_url);
    let store = crate::open_store(&store_config(&config.database_url)).await?;
    let mut loader = store.loader().await?;
    if !loader.target_is_empty().await? {
        return Err(format!(
            "the database {url} already holds data: import fills only an empty database \
             (a new SQLite file or PostgreSQL schema); nothing was written"
        )
        .into());
    }
    let rewrite = config.public_url.as_deref().map(HrefRewrite::new);
    let bar = progress(header.documents + header.jobs, "importing");
    let mut batch = Batch::default();
    let (mut documents, mut jobs) = (0u64, 0u64);
    for (index, line) in lines {
        let number = index + 1;
        let line = line.map_err(|error| format!("cannot read {source}: {error}"))?;
        if line.trim().is_empty() {
            continue;
        }
        let record: Record = serde_json::from_str(&line)
            .map_err(|error| format!("{source}, line {number}: {error}"))?;
        match record {
            Record::Header(_) => {
                return Err(format!("{source}, line {number}: a second header").into())
            }
            Record::Document(record) => {
                let document = raw_document(record, rewrite.as_ref())
                    .map_err(|error| format!("{source}, line {number}: {error}"))?;
                batch.document(&mut loader, document).await?;
                documents += 1;
            }
            Record::Job(record) => {
                let job =
                    raw_job(record).map_err(|error| format!("{source}, line {number}: {error}"))?;
                batch.job(&mut loader, job).await?;
                jobs += 1;
            }
        }
        bar.inc(1);
    }
    batch.flush(&mut loader).await?;
    bar.finish_and_clear();
    if (documents, jobs) != (header.documents, header.jobs) {
        return Err(format!(
            "{source} holds {documents} documents and {jobs} jobs where its header announces \
             {} and {}: it was cut short or altered; nothing was written",
            header.documents, header.jobs
        )
        .into());
    }
    loader.commit().await?;
    Ok(format!(
        "imported {documents} documents and {jobs} jobs from {source} (exported from {}) \
         into the {} database {url}",
        header.source,
        store.backend_name()
    ))
}

fn raw_document(
    record: DocumentRecord,
    rewrite: Option<&HrefRewrite>,
) -> std::result::Result<RawDocument, String> {
    if record.kind.is_empty() || record.id.is_empty() {
        return Err("a document needs a kind and an id".to_string());
    }
    if record.version < 1 {
        return Err(format!(
            "version {} is not a stored version",
            record.version
        ));
    }
    let mut doc = record.doc;
    if !doc.is_object() {
        return Err("a document must be a JSON object".to_string());
    }
    if let Some(rewrite) = rewrite {
        rewrite.apply(&record.kind, &mut doc);
    }
    Ok(RawDocument {
        seq: 0,
        kind: record.kind,
        id: record.id,
        version: record.version,
        promoted: Promoted {
            name: record.promoted.name,
            state: record.promoted.state,
            type_name: record.promoted.type_name,
            updated: record.promoted.updated,
            links: record.promoted.links,
        },
        json: doc.to_string(),
    })
}

fn raw_job(record: JobRecord) -> std::result::Result<RawJob, String> {
    let status = JobStatus::parse(&record.status)
        .ok_or_else(|| format!("job status '{}' is neither ready nor dead", record.status))?;
    Ok(RawJob {
        id: 0,
        queue: record.queue,
        dedup_key: record.dedup_key,
        payload: record.payload,
        status,
        attempts: record.attempts,
        run_at: record.run_at,
        last_error: record.last_error,
        created_at: record.created_at,
    })
}

/// Rows waiting to be written, so that each statement carries many; documents and jobs
/// are written in the order they came.
#[derive(Default)]
struct Batch {
    documents: Vec<RawDocument>,
    jobs: Vec<RawJob>,
}

impl Batch {
    async fn document(&mut self, loader: &mut Loader, document: RawDocument) -> Result<()> {
        if !self.jobs.is_empty() || self.documents.len() >= PAGE {
            self.flush(loader).await?;
        }
        self.documents.push(document);
        Ok(())
    }

    async fn job(&mut self, loader: &mut Loader, job: RawJob) -> Result<()> {
        if !self.documents.is_empty() || self.jobs.len() >= PAGE {
            self.flush(loader).await?;
        }
        self.jobs.push(job);
        Ok(())
    }

    async fn flush(&mut self, loader: &mut Loader) -> Result<()> {
        loader
            .documents(&self.documents)
            .await
            .map_err(|error| format!("cannot write documents: {error}; nothing was written"))?;
        loader
            .jobs(&self.jobs)
            .await
            .map_err(|error| format!("cannot write jobs: {error}; nothing was written"))?;
        self.documents.clear();
        self.jobs.clear();
        Ok(())
    }
}

/// Moves the top-level `href` of resources and hub subscriptions to a new base URL:
/// the part from the API's base path on is kept, what comes before it is replaced.
/// Links a client wrote inside documents, and the events of pending deliveries, keep
/// the URLs they were written with.
struct HrefRewrite {
    public_url: String,
    /// API code (the first segment of a document kind) → base path.
    bases: Vec<(&'static str, &'static str)>,
}

impl HrefRewrite {
    fn new(public_url: &str) -> HrefRewrite {
        HrefRewrite {
            public_url: public_url.trim_end_matches('/').to_string(),
            bases: switchboard_apis::all(&Default::default())
                .iter()
                .map(|api| (api.decl.code, api.decl.base_path))
                .collect(),
        }
    }

    fn apply(&self, kind: &str, doc: &mut Value) {
        let code = kind.split('/').next().unwrap_or_default();
        let Some((_, base)) = self.bases.iter().find(|(known, _)| *known == code) else {
            return;
        };
        let Some(Value::String(href)) = doc.get_mut("href") else {
            return;
        };
        if let Some(at) = href.find(base) {
            *href = format!("{}{}", self.public_url, &href[at..]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hrefs_move_to_the_new_base_url() {
        let rewrite = HrefRewrite::new("https://api.example.com/");
        let mut doc = serde_json::json!({
            "href": "http://127.0.0.1:8080/tmf-api/party/v4/individual/42",
            "relatedParty": [{"href": "http://127.0.0.1:8080/elsewhere"}],
        });
        rewrite.apply("TMF632/individual", &mut doc);
        assert_eq!(
            doc["href"],
            "https://api.example.com/tmf-api/party/v4/individual/42"
        );
        assert_eq!(
            doc["relatedParty"][0]["href"],
            "http://127.0.0.1:8080/elsewhere"
        );
        let mut unknown = serde_json::json!({"href": "http://old/x/tmf-api/party/v4/hub/1"});
        rewrite.apply("nothing/hub", &mut unknown);
        assert_eq!(unknown["href"], "http://old/x/tmf-api/party/v4/hub/1");
        let mut hub = serde_json::json!({"href": "http://old/x/tmf-api/party/v4/hub/1"});
        rewrite.apply("TMF632/hub", &mut hub);
        assert_eq!(
            hub["href"],
            "https://api.example.com/tmf-api/party/v4/hub/1"
        );
    }

    #[test]
    fn passwords_stay_out_of_messages() {
        assert_eq!(
            redacted("postgres://app:secret@db:5432/sb?schema=x"),
            "postgres://app:***@db:5432/sb?schema=x"
        );
        assert_eq!(redacted("postgres://app@db/sb"), "postgres://app@db/sb");
        assert_eq!(redacted("sqlite://data/sb.db"), "sqlite://data/sb.db");
        assert_eq!(redacted("plain.db"), "plain.db");
    }
}
