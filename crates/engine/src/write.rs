//! Creating and deleting (TMF630 "Create resource", "Delete resource"), and the
//! server's own create under a derived id (`ensure`). A write whose hook works in its
//! transaction is run again when a concurrent write moved what the hook read.

use serde_json::Value;

use crate::commit::{announce, hook_jobs, transactional, CONCURRENT_RETRIES};
use crate::document::{check_if_match, parse_stored, promoted, storable_json};
use crate::error::{Error, Result};
use crate::events::Change;
use crate::kernel::{ApiRuntime, Engine, ResourceRuntime, Scope};
use crate::model::{ResourceRef, Stored, WriteKind};

impl Engine {
    /// POST on a collection (TMF630 "Create resource"): validates, stamps the
    /// server-owned attributes, stores, and emits the create event. The id is a UUIDv7:
    /// ids made later sort later, so the store's id indexes grow at their end.
    pub async fn create(&self, at: ResourceRef, body: Value) -> Result<Stored> {
        self.create_as(at, body, uuid::Uuid::now_v7().to_string(), false)
            .await
            .map(|(stored, _)| stored)
    }

    /// Creates a document under an id the caller derived (a fulfilment step's
    /// idempotency key), as a POST would otherwise (except that the server's own body may
    /// set server-owned attributes, such as the state an order starts in): a document already stored under that
    /// id is answered as it is, unchanged, with `false` (the step ran before).
    /// No read comes first: the step run twice is the exception, and the primary key
    /// answers it. Any refusal is checked against the store too, since a write the
    /// first run made may now fail a rule (a pool since exhausted, say).
    pub async fn ensure(&self, at: ResourceRef, id: &str, body: Value) -> Result<(Value, bool)> {
        match self.create_as(at, body, id.to_string(), true).await {
            Ok((_, doc)) => Ok((doc, true)),
            Err(error) => {
                let kind = &self.runtime(at)?.1.kind;
                match self.inner.store.get(kind, id).await? {
                    Some(stored) => Ok((parse_stored(&stored.json)?, false)),
                    None => Err(error),
                }
            }
        }
    }

    /// `internal`: the server's own create, which may set server-owned attributes.
    /// Answers what was stored, as text and as the document.
    async fn create_as(
        &self,
        at: ResourceRef,
        body: Value,
        id: String,
        internal: bool,
    ) -> Result<(Stored, Value)> {
        let (api, resource) = self.runtime(at)?;
        let doc = self.prepare_new(at, body, &id, internal)?;
        let Some(hooks) = transactional(&resource.decl) else {
            let scope = Scope::new(self.clone(), api.decl.code, self.inner.store.begin().await?);
            return self.create_in(api, resource, &id, doc, scope).await;
        };
        let mut attempt = 0;
        loop {
            let mut attempt_doc = doc.clone();
            let mut scope =
                Scope::new(self.clone(), api.decl.code, self.inner.store.begin().await?);
            // A hook that met a concurrent change (a document it read moved before its
            // own change of it) runs again, as a commit that did would.
            let outcome = match hooks
                .within(&mut scope, WriteKind::Create, &mut attempt_doc, None)
                .await
            {
                Ok(()) => self.create_in(api, resource, &id, attempt_doc, scope).await,
                Err(error) => Err(error),
            };
            match outcome {
                Err(error) if error.concurrent && attempt < CONCURRENT_RETRIES => attempt += 1,
                outcome => return outcome,
            }
        }
    }

    /// A new document as it is to be stored under `id`: validated, stamped (server-owned
    /// attributes), and checked by its hooks; the transactional ones come after. The
    /// collection's operations are what clients may do: the server's own create
    /// (`internal`) is not bound by them (a read-only record the server keeps).
    pub(crate) fn prepare_new(
        &self,
        at: ResourceRef,
        body: Value,
        id: &str,
        internal: bool,
    ) -> Result<Value> {
        let (api, resource) = self.runtime(at)?;
        if !internal {
            self.allowed(resource, resource.decl.operations.create, "POST")?;
        }
        let Value::Object(mut object) = body else {
            return Err(Error::invalid_body("the body must be a JSON object"));
        };
        // The server owns these: whatever the client sent is replaced.
        for key in ["id", "href"] {
            object.remove(key);
        }
        let mut doc = Value::Object(object);
        if let Some(validator) = &resource.create_validator {
            validator.check(&doc)?;
        }
        self.stamp_new(api, resource, &mut doc, id, internal)?;
        if let Some(hooks) = &resource.decl.hooks {
            hooks.check(WriteKind::Create, &mut doc, None)?;
        }
        Ok(doc)
    }

    /// Stores a prepared new document in the scope's transaction and commits.
    async fn create_in(
        &self,
        api: &ApiRuntime,
        resource: &ResourceRuntime,
        id: &str,
        doc: Value,
        mut scope: Scope,
    ) -> Result<(Stored, Value)> {
        let json = self.insert_in(&mut scope, resource, id, &doc).await?;
        self.finish(scope.finish(), api, || {
            vec![announce(resource, Change::Create, &doc)]
        })
        .await?;
        let stored = Stored {
            id: id.to_string(),
            version: 1,
            json,
        };
        Ok((stored, doc))
    }

    /// A prepared new document written into `scope`'s transaction (references checked,
    /// the jobs its hooks start queued); the caller commits it. Answers its JSON text.
    pub(crate) async fn insert_in(
        &self,
        scope: &mut Scope,
        resource: &ResourceRuntime,
        id: &str,
        doc: &Value,
    ) -> Result<String> {
        let json = storable_json(doc)?;
        self.check_references(&mut scope.tx, resource, id, doc, None)
            .await?;
        scope
            .tx
            .insert(
                &resource.kind,
                id,
                &json,
                &promoted(resource, doc, &self.inner.config.public_url)?,
            )
            .await?;
        scope
            .jobs
            .extend(hook_jobs(resource, WriteKind::Create, doc, None));
        Ok(json)
    }

    /// DELETE (TMF630 "Delete resource"): removes it and emits the delete event.
    pub async fn delete(&self, at: ResourceRef, id: &str, if_match: Option<&str>) -> Result<()> {
        let mut attempt = 0;
        loop {
            match self.delete_once(at, id, if_match).await {
                Err(error) if self.runs_again(at, &error, attempt) => attempt += 1,
                outcome => return outcome,
            }
        }
    }

    async fn delete_once(&self, at: ResourceRef, id: &str, if_match: Option<&str>) -> Result<()> {
        let (api, resource) = self.runtime(at)?;
        self.allowed(resource, resource.decl.operations.delete, "DELETE")?;
        let tx = self.inner.store.begin().await?;
        let mut scope = Scope::new(self.clone(), api.decl.code, tx);
        let Some(current) = scope.tx.get(&resource.kind, id).await? else {
            return Err(self.not_found(resource, id));
        };
        check_if_match(if_match, current.version)?;
        let mut doc: Value = parse_stored(&current.json)?;
        if let Some(hooks) = &resource.decl.hooks {
            hooks.check(WriteKind::Delete, &mut doc, None)?;
        }
        if let Some(hooks) = transactional(&resource.decl) {
            hooks
                .within(&mut scope, WriteKind::Delete, &mut doc, None)
                .await?;
        }
        let mut finished = scope.finish();
        self.check_unreferenced(at, id, "deleted").await?;
        finished.tx.delete(&resource.kind, id).await?;
        finished
            .jobs
            .extend(hook_jobs(resource, WriteKind::Delete, &doc, None));
        self.finish(finished, api, || {
            vec![announce(resource, Change::Delete, &doc)]
        })
        .await?;
        Ok(())
    }
}
