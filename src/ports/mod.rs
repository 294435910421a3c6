//! Ports of upstream behaviour that must match Go exactly, each once, each with upstream's own
//! test vectors: the leaf layer every other module may use and that uses none of them.

pub mod atoi;
pub mod cron;
pub mod duration;
pub mod inject_secret;
pub mod names;
pub mod quantity;
pub(crate) mod yaml_v2;
