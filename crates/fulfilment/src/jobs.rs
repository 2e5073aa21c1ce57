//! The chain's job handlers, by the order API whose queues they serve: each order's
//! steps (`fulfil`, `resume`) and its cancel task.

use std::sync::Arc;

use serde_json::Value;
use switchboard_apis::ordering::queues;
use switchboard_apis::steps::{payload_id, settle};
use switchboard_apis::Jobs;
use switchboard_engine::{Engine, JobFuture, JobHandler};

use crate::activation::Activation;
use crate::kind::Kind;
use crate::{cancel, product, resource, service};

/// The handlers of the queues of orders of `kind`, activating through `activation`.
pub fn of(kind: Kind, activation: &Arc<Activation>) -> Jobs {
    let steps: &[(&str, Step)] = match kind {
        Kind::Product => &[
            (queues::PRODUCT_FULFIL, Step::ProductFulfil),
            (queues::PRODUCT_RESUME, Step::ProductResume),
        ],
        Kind::Service => &[
            (queues::SERVICE_FULFIL, Step::ServiceFulfil),
            (queues::SERVICE_RESUME, Step::ServiceResume),
        ],
        Kind::Resource => &[(queues::RESOURCE_FULFIL, Step::ResourceFulfil)],
    };
    steps
        .iter()
        .map(|&(queue, step)| {
            let job: Arc<dyn JobHandler> = Arc::new(StepJob {
                step,
                activation: activation.clone(),
            });
            (queue.to_string(), job)
        })
        .chain([cancel::handler(kind, activation.clone())])
        .collect()
}

/// The steps of the chain that run as jobs, each about one order (`{"id": …}`).
#[derive(Debug, Clone, Copy)]
enum Step {
    ProductFulfil,
    ProductResume,
    ServiceFulfil,
    ServiceResume,
    ResourceFulfil,
}

/// A step's job, with the adapters it activates (or, undoing, deactivates) through.
struct StepJob {
    step: Step,
    activation: Arc<Activation>,
}

impl JobHandler for StepJob {
    fn run<'a>(&'a self, engine: &'a Engine, payload: &'a Value) -> JobFuture<'a> {
        Box::pin(async move {
            let (id, activation) = (payload_id(payload), self.activation.as_ref());
            settle(match self.step {
                Step::ProductFulfil => product::fulfil(engine, activation, id).await,
                Step::ProductResume => product::resume(engine, activation, id).await,
                Step::ServiceFulfil => service::fulfil(engine, activation, id).await,
                Step::ServiceResume => service::resume(engine, activation, id).await,
                Step::ResourceFulfil => resource::fulfil(engine, id).await,
            })
        })
    }
}
