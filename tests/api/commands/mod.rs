//! The `igauth` commands other than `serve`, run as the real binary: `setup`, `check-config`,
//! `doctor` and `meta-test`, through the harness's runner ([`crate::helpers::binary`]).

mod check_config;
mod doctor;
mod doctor_redis;
mod meta_test;
mod setup;
