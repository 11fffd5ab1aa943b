//! Per-API authorization: each guard takes what a client may not touch out
//! of its request and returns what answers those parts in the response, so
//! the handlers serve only what is allowed and never see the rest.

mod admin;
mod data;
mod groups;

pub(super) use admin::*;
pub(super) use data::*;
pub(super) use groups::*;
