//! The ports of `incx-core` on AWS, and what a Lambda function needs to run
//! them: one adapter per service on the official SDK crates (each behind a
//! feature, so a function links only the clients it uses), the Lambda
//! runtime glue and the system clock.
//!
//! Clients come from [`sdk::sdk_config`], so `AWS_ENDPOINT_URL` and the
//! per-service `AWS_ENDPOINT_URL_<SERVICE>` variables point them at local
//! emulators without a code change. Each adapter maps the service's errors to
//! what the domain can act on; everything else becomes a fault that names the
//! service's error code and message. No SDK type leaves this crate.

pub mod clock;
pub mod configured;
pub mod emf;
pub mod permissions;
pub mod runtime;
pub mod sdk;

#[cfg(feature = "dynamodb")]
pub mod export;
#[cfg(feature = "dynamodb")]
pub mod ledger;
#[cfg(feature = "s3")]
pub mod s3;
#[cfg(feature = "sfn")]
pub mod sfn;
#[cfg(feature = "sns")]
pub mod sns;
#[cfg(feature = "ssm")]
pub mod ssm;
