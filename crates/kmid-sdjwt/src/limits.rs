//! Bounds on untrusted SD-JWT input.

/// Limits applied while parsing and processing an SD-JWT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdJwtLimits {
    /// Largest serialized SD-JWT (compact or JSON), in bytes.
    pub max_input_bytes: usize,
    /// Most Disclosures.
    pub max_disclosures: usize,
    /// Deepest nesting of objects and arrays while processing, Disclosures included.
    pub max_depth: usize,
    /// Most embedded digests (`_sd` entries and array digests, decoys included).
    pub max_digests: usize,
}

impl Default for SdJwtLimits {
    fn default() -> Self {
        Self {
            max_input_bytes: 1024 * 1024,
            max_disclosures: 512,
            max_depth: 32,
            max_digests: 4096,
        }
    }
}

/// Which of [`SdJwtLimits`] an input broke: each breach is its own error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SdJwtLimit {
    /// [`SdJwtLimits::max_input_bytes`].
    #[error("input bytes")]
    InputBytes,
    /// [`SdJwtLimits::max_disclosures`].
    #[error("disclosures")]
    Disclosures,
    /// [`SdJwtLimits::max_depth`].
    #[error("nesting depth")]
    Depth,
    /// [`SdJwtLimits::max_digests`].
    #[error("embedded digests")]
    Digests,
}
