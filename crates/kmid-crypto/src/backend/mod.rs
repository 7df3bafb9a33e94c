//! The backends: the only modules that name a crypto library.

pub(crate) mod openssl;
