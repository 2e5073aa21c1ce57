//! The hub (TMF630 "Notifications"): registering, reading and removing an API's event
//! subscriptions. Unsubscribing also stops the retries of events queued for it.

use serde_json::Value;
use switchboard_store::Promoted;

use crate::document::storable_json;
use crate::error::{Error, Result};
use crate::events;
use crate::kernel::Engine;
use crate::model::Stored;

impl Engine {
    /// `POST {base}/hub`: registers a subscription.
    pub async fn hub_create(&self, api_index: usize, body: Value) -> Result<Stored> {
        let api = self.api(api_index)?;
        let id = uuid::Uuid::now_v7().to_string();
        let href = format!(
            "{}{}/hub/{id}",
            self.inner.config.public_url, api.decl.base_path
        );
        let doc = events::subscription(&body, &id, &href)?;
        if let Some(callback) = doc
            .get("callback")
            .and_then(Value::as_str)
            .and_then(|callback| reqwest::Url::parse(callback).ok())
        {
            self.inner.config.callbacks.check(&callback).await?;
        }
        let json = storable_json(&doc)?;
        let mut tx = self.inner.store.begin().await?;
        tx.insert(
            &events::hub_kind(api.decl.code),
            &id,
            &json,
            &Promoted::default(),
        )
        .await?;
        tx.commit().await?;
        Ok(Stored {
            id,
            version: 1,
            json,
        })
    }

    pub async fn hub_get(&self, api_index: usize, id: &str) -> Result<Stored> {
        let api = self.api(api_index)?;
        match self
            .inner
            .store
            .get(&events::hub_kind(api.decl.code), id)
            .await?
        {
            Some(document) => Ok(Stored {
                id: document.id,
                version: document.version,
                json: document.json,
            }),
            None => Err(Error::not_found(format!(
                "no hub subscription with id '{id}'"
            ))),
        }
    }

    pub async fn hub_delete(&self, api_index: usize, id: &str) -> Result<()> {
        let api = self.api(api_index)?;
        let mut tx = self.inner.store.begin().await?;
        if !tx.delete(&events::hub_kind(api.decl.code), id).await? {
            return Err(Error::not_found(format!(
                "no hub subscription with id '{id}'"
            )));
        }
        // Unsubscribing also stops the retries of events already queued for it.
        tx.cancel_jobs(events::DELIVERY_QUEUE, &events::delivery_key_prefix(id))
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
