//! The backends: the only modules that name a crypto library, each behind the feature of its
//! name (`aws-lc`, the default, and `openssl`), as rustls ships its `aws_lc_rs` and `ring`
//! providers.

#[cfg(feature = "aws-lc")]
pub(crate) mod aws_lc;
#[cfg(feature = "openssl")]
pub(crate) mod openssl;
mod pool;

#[cfg(not(any(feature = "openssl", feature = "aws-lc")))]
compile_error!("kmid-crypto needs a crypto provider: enable the `openssl` or the `aws-lc` feature");
