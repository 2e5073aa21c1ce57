//! The job queues of the order-to-activation chain, named here so that the order
//! declarations (which queue a step with a write) and the chain (which handles them,
//! crate `switchboard-fulfilment`) agree without the declarations knowing the chain.

/// A new product order's first step (queued with every order a client posts).
pub const PRODUCT_FULFIL: &str = "tmf622.fulfilProductOrder";
/// A product order's step once one of its service orders ended.
pub const PRODUCT_RESUME: &str = "tmf622.resumeProductOrder";
/// A new service order's first step.
pub const SERVICE_FULFIL: &str = "tmf641.fulfilServiceOrder";
/// A service order's step once its resource order ended.
pub const SERVICE_RESUME: &str = "tmf641.resumeServiceOrder";
/// A new resource order's (only) step.
pub const RESOURCE_FULFIL: &str = "tmf652.fulfilResourceOrder";

/// The cancel task jobs (`cancelProductOrder`, …), queued with each new task.
pub const PRODUCT_CANCEL: &str = "tmf622.cancelProductOrder";
pub const SERVICE_CANCEL: &str = "tmf641.cancelServiceOrder";
pub const RESOURCE_CANCEL: &str = "tmf652.cancelResourceOrder";
